"""Memory traffic of one forward pass, per layer, counted at the aten-op level.

MixNet inference is memory-bound (depthwise convolutions, small 1×1s, SE gates), so the speed
report states bytes moved per image next to images/s, and from the two the achieved bandwidth
and its fraction of the device's peak.

:func:`count_traffic` runs one eager forward pass under a :class:`TorchDispatchMode` that sees
every aten op and charges it:

* reads: the bytes of its distinct input tensors (an in-place ``relu_`` reads its input once
  and writes it once); inputs whose storage is a parameter or buffer, or was computed from
  parameters and buffers only (autocast's weight casts), are weight reads;
* writes: the bytes of its outputs; outputs computed from weights only are weight writes;
* nothing for ops that only return views or aliases (``view``, ``split``, ``transpose``, …)
  or allocate (``empty``); these are not counted as ops either.

A tensor's bytes are those of the distinct elements it addresses (a stride-0 broadcast dim
counts once) at its actual element size, so fp16/bf16 halve the count.

The count is for the eager module: each aten op reads its inputs and writes its output once.
Fused or compiled execution (cuDNN fusions, ``torch.compile``, kernels that keep data in cache)
moves less, so the figure is an upper bound for them. Modules wrapped in CUDA graphs or by
``torch.compile`` are refused: count the eager module inside them instead.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.hooks import RemovableHandle

from mixbench.errors import InputError
from mixbench.measure.precision import dtype_name

#: Ops outside any submodule are charged to this layer name.
ROOT_LAYER = "(model)"

#: Published peak memory bandwidths in GB/s (10⁹ bytes/s), keyed by words of the GPU name as
#: torch reports it; see :func:`spec_bandwidth` for the matching rule.
PEAK_BANDWIDTH_GBPS: dict[str, float] = {
    "H100 SXM": 3350.0,
    "H100 HBM3": 3350.0,
    "H100 PCIe": 2000.0,
    "H100 NVL": 3900.0,
    "H200": 4800.0,
    "A100 SXM4 80GB": 2039.0,
    "A100 80GB PCIe": 1935.0,
    "A100 40GB": 1555.0,
    "A10": 600.0,
    "L4": 300.0,
    "T4": 320.0,
    "V100": 900.0,
    "RTX 4090": 1008.0,
}

# Allocations: uninitialised memory, nothing read or written.
_ALLOCATIONS = frozenset({"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"})

# Ops whose mutated ``self`` is overwritten without being read.
_OVERWRITES = frozenset(
    {
        torch.ops.aten.copy_.default,
        torch.ops.aten.fill_.Scalar,
        torch.ops.aten.fill_.Tensor,
        torch.ops.aten.zero_.default,
    }
)


@dataclass(frozen=True)
class LayerTraffic:
    """Bytes one layer moved for the whole batch that was run.

    ``weight_writes`` are tensors computed from weights alone (autocast's weight casts): they
    cost the same per batch whatever its size, so they are amortised like the weights.
    """

    name: str
    activation_reads: int
    activation_writes: int
    weight_reads: int
    ops: int
    weight_writes: int = 0

    @property
    def total(self) -> int:
        return (
            self.activation_reads + self.activation_writes + self.weight_reads + self.weight_writes
        )


@dataclass(frozen=True)
class Traffic:
    """Memory traffic of one forward pass over ``batch_size`` images, per layer."""

    batch_size: int
    dtype: str
    layers: tuple[LayerTraffic, ...]

    @property
    def activation_bytes(self) -> int:
        """Activation reads and writes for the whole batch."""
        return sum(layer.activation_reads + layer.activation_writes for layer in self.layers)

    @property
    def activation_bytes_per_image(self) -> float:
        return self.activation_bytes / self.batch_size

    @property
    def weight_bytes(self) -> int:
        """Weight traffic per forward pass, whatever the batch size."""
        return sum(layer.weight_reads + layer.weight_writes for layer in self.layers)

    @property
    def total_bytes(self) -> int:
        return sum(layer.total for layer in self.layers)

    @property
    def ops(self) -> int:
        return sum(layer.ops for layer in self.layers)

    def bytes_per_image(self, batch_size: int) -> float:
        """Activations per image plus the weights amortised over a batch of ``batch_size``."""
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        return self.activation_bytes_per_image + self.weight_bytes / batch_size

    def achieved_bandwidth(self, images_per_second: float, batch_size: int) -> float:
        """Bytes/s moved when running ``images_per_second`` in batches of ``batch_size``."""
        return images_per_second * self.bytes_per_image(batch_size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "activation_bytes_per_image": self.activation_bytes_per_image,
            "weight_bytes": self.weight_bytes,
            "bytes_per_image_at_batch_size": self.bytes_per_image(self.batch_size),
            "ops": self.ops,
            "layers": [{**asdict(layer), "total": layer.total} for layer in self.layers],
        }


def count_traffic(
    model: nn.Module,
    images: torch.Tensor,
    *,
    autocast_dtype: torch.dtype | None = None,
    depth: int = 2,
) -> Traffic:
    """Bytes each layer of ``model`` moves in one eager forward pass over ``images``.

    Layers are module names truncated to ``depth`` dotted components (``blocks.3`` at depth 2,
    ``blocks.3.1`` at depth 3, ``conv_stem`` at any); ops outside any submodule go to
    ``"(model)"``. ``images`` must already be in the layout and dtype the model expects
    (channels_last for an optimized model).
    """
    _refuse_wrapped(model)
    if depth < 1:
        raise InputError(f"depth must be at least 1, got {depth}")
    if images.ndim == 0 or images.shape[0] < 1:
        raise InputError("images must be a non-empty batch", hint="pass a N×C×H×W tensor, N ≥ 1")
    counter = _Counter(model, depth)
    autocast = (
        torch.autocast(images.device.type, dtype=autocast_dtype)
        if autocast_dtype is not None
        else nullcontext()
    )
    handles = _track_modules(model, counter)
    try:
        with torch.no_grad(), autocast, counter:
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    dtype = dtype_name(_model_dtype(model, images))
    if autocast_dtype is not None:
        dtype += f" (autocast {dtype_name(autocast_dtype)})"
    return Traffic(
        batch_size=int(images.shape[0]), dtype=dtype, layers=tuple(counter.layers.values())
    )


def spec_bandwidth(gpu_name: str) -> float | None:
    """The published peak bandwidth of ``gpu_name`` in bytes/s, or None if not in the table.

    A key matches when each of its words is a word of the name (split at spaces, ``-`` and
    ``_``, case-insensitive), so "A10" does not match "A100" and "L4" not "L40S"; a key word
    ending in a letter also matches that word plus a number ("SXM" matches "SXM5"). The key with
    the most words wins: "H100 PCIe" before "H100".
    """
    words = _words(gpu_name)
    best: tuple[int, int, float] | None = None
    for key, gbps in PEAK_BANDWIDTH_GBPS.items():
        key_words = _words(key)
        if all(any(_word_matches(k, w) for w in words) for k in key_words):
            rank = (len(key_words), len(key), gbps)
            if best is None or rank[:2] > best[:2]:
                best = rank
    return None if best is None else best[2] * 1e9


def copy_bandwidth(
    device: str | torch.device = "cpu", *, megabytes: int = 256, repeats: int = 5
) -> float:
    """Median bytes/s of ``dst.copy_(src)`` over ``megabytes`` MiB (read + write = 2× size).

    A measured, practical peak: the roofline when the device's spec is not known.
    """
    if megabytes < 1 or repeats < 1:
        raise InputError("megabytes and repeats must be at least 1")
    device = torch.device(device)
    size = megabytes * 2**20
    src = torch.ones(size, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    sync = torch.cuda.synchronize if device.type == "cuda" else _no_sync

    def timed() -> float:
        sync(device)
        start = time.perf_counter()
        dst.copy_(src)
        sync(device)
        return time.perf_counter() - start

    timed()  # warm-up: the first copy faults in dst's pages and wakes the device
    seconds = statistics.median(timed() for _ in range(repeats))
    return 2 * size / max(seconds, 1e-12)


class _Counter(TorchDispatchMode):
    """Charges every aten op's bytes to the innermost module running when it is dispatched."""

    def __init__(self, model: nn.Module, depth: int) -> None:
        super().__init__()
        self.depth = depth
        # Storages of weights, and of tensors computed from weights only; the derived tensors
        # are held so their memory cannot be freed and reused by an activation mid-pass.
        self.weight_storages: set[int] = {
            _storage_ptr(t) for t in (*model.parameters(), *model.buffers()) if t.numel()
        }
        self.derived: list[torch.Tensor] = []
        self.stack: list[str] = []
        self.totals: dict[str, list[int]] = {}

    @property
    def layers(self) -> dict[str, LayerTraffic]:
        return {name: LayerTraffic(name, *counts) for name, counts in self.totals.items()}

    def layer_name(self, name: str) -> str:
        return ".".join(name.split(".")[: self.depth]) if name else ROOT_LAYER

    def __torch_dispatch__(
        self,
        func: torch._ops.OpOverload,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func.is_view or func._opname in _ALLOCATIONS:  # these move no bytes
            return func(*args, **kwargs)
        inputs = dict(_distinct(_read_tensors(func, args, kwargs)))
        out = func(*args, **kwargs)
        written = _written_tensors(func, args, kwargs, out)
        if not written and not func._schema.is_mutable and next(_tensors(out), None) is not None:
            return out  # every output aliases an input: a view in all but name (_unsafe_view)

        weight_in = [key for key in inputs if key[0] in self.weight_storages]
        weight_reads = sum(inputs[key] for key in weight_in)
        activation_reads = sum(inputs.values()) - weight_reads
        from_weights = bool(weight_in) and len(weight_in) == len(inputs)
        if from_weights:
            self.weight_storages.update(_storage_ptr(t) for t in written)
            self.derived.extend(written)
        writes = sum(nbytes for _, nbytes in _distinct(written))

        layer = self.layer_name(self.stack[-1] if self.stack else "")
        counts = self.totals.setdefault(layer, [0, 0, 0, 0, 0])
        # In LayerTraffic's field order: activation reads/writes, weight reads, ops, weight writes.
        for i, value in enumerate(
            (
                activation_reads,
                0 if from_weights else writes,
                weight_reads,
                1,
                writes if from_weights else 0,
            )
        ):
            counts[i] += value
        return out


def _track_modules(model: nn.Module, counter: _Counter) -> list[RemovableHandle]:
    """Forward hooks keeping ``counter.stack`` on the running modules' names."""
    handles: list[RemovableHandle] = []
    try:
        for name, module in model.named_modules():
            if not name:
                continue  # the root: ops outside every submodule go to "(model)"

            def push(_module: nn.Module, _args: Any, name: str = name) -> None:
                counter.stack.append(name)

            def pop(_module: nn.Module, _args: Any, _out: Any) -> None:
                counter.stack.pop()

            handles.append(module.register_forward_pre_hook(push))
            handles.append(module.register_forward_hook(pop))
    except BaseException:
        for handle in handles:
            handle.remove()
        raise
    return handles


def _read_tensors(
    func: torch._ops.OpOverload, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[torch.Tensor]:
    """The tensors ``func`` reads: every tensor argument but the ones it only overwrites
    (``out=`` arguments, ``self`` of ``copy_``/``fill_``/``zero_``)."""
    schema = func._schema.arguments
    overwritten = {
        a.name
        for i, a in enumerate(schema)
        if a.alias_info is not None
        and a.alias_info.is_write
        and (a.kwarg_only or (i == 0 and func in _OVERWRITES))
    }
    for i, value in enumerate(args):
        if i < len(schema) and schema[i].name in overwritten:
            continue
        yield from _tensors(value)
    for name, value in kwargs.items():
        if name not in overwritten:
            yield from _tensors(value)


def _written_tensors(
    func: torch._ops.OpOverload, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
) -> list[torch.Tensor]:
    """The outputs ``func`` writes: all but those aliasing an input without a write
    (``_unsafe_view`` is not marked a view but returns its input's storage)."""
    returns = func._schema.returns
    flat = tree_flatten(out)[0]
    inputs = {_storage_ptr(t) for t in _tensors((args, kwargs))}
    written = []
    for i, tensor in enumerate(flat):
        if not isinstance(tensor, torch.Tensor):
            continue
        alias = returns[i].alias_info if len(flat) == len(returns) else None
        if _storage_ptr(tensor) in inputs and not (alias is not None and alias.is_write):
            continue
        written.append(tensor)
    return written


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    for leaf in tree_flatten(value)[0]:
        if isinstance(leaf, torch.Tensor):
            yield leaf


def _distinct(tensors: Any) -> Iterator[tuple[tuple[int, int, int], int]]:
    """``((storage, byte offset, bytes), bytes)`` once per distinct region of memory."""
    seen: set[tuple[int, int, int]] = set()
    for tensor in tensors:
        nbytes = _nbytes(tensor)
        key = (_storage_ptr(tensor), tensor.storage_offset() * tensor.element_size(), nbytes)
        if key not in seen:
            seen.add(key)
            yield key, nbytes


def _nbytes(tensor: torch.Tensor) -> int:
    """Bytes of the distinct elements ``tensor`` addresses: a broadcast (stride-0) dim is read
    once, not once per index."""
    if tensor.is_sparse:
        return 0
    elements = math.prod(
        size for size, stride in zip(tensor.shape, tensor.stride(), strict=True) if stride != 0
    )
    return elements * tensor.element_size() if tensor.numel() else 0


def _storage_ptr(tensor: torch.Tensor) -> int:
    try:
        return tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):  # storage-less tensors (sparse, functional)
        return id(tensor)


def _refuse_wrapped(model: nn.Module) -> None:
    # A captured graph replays kernels the dispatcher never sees, and dynamo compiles the mode
    # away: either would give a meaningless count.
    kind = type(model).__name__
    if kind == "CudaGraphModule":
        raise InputError(
            "cannot count the traffic of a CUDA-graph module",
            hint="count the eager module it wraps (its .model)",
        )
    if kind == "OptimizedModule":
        raise InputError(
            "cannot count the traffic of a torch.compile'd module",
            hint="count the eager module it wraps (its ._orig_mod)",
        )


def _model_dtype(model: nn.Module, images: torch.Tensor) -> torch.dtype:
    for parameter in model.parameters():
        if parameter.is_floating_point():
            return parameter.dtype
    return images.dtype


def _words(text: str) -> list[str]:
    return text.upper().replace("-", " ").replace("_", " ").split()


def _word_matches(key_word: str, word: str) -> bool:
    if word == key_word:
        return True
    rest = word[len(key_word) :]
    return key_word[-1].isalpha() and word.startswith(key_word) and rest.isdigit()


def _no_sync(_device: torch.device) -> None:
    pass
