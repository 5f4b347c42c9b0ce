"""fvcore's counts on the meta device: the same formulas, without running a convolution.

fvcore's :class:`~fvcore.nn.FlopCountAnalysis` traces the model with ``torch.jit`` on real
tensors; the tracer cannot run on the meta device (it hands meta shape checks traced tensors),
so counting a 261-model index that way would run every convolution of every model. Here the
model runs on the meta device under a :class:`~torch.overrides.TorchFunctionMode` that sees the
same calls the tracer records as ``aten::`` ops (``F.conv2d`` → ``aten::_convolution``,
``F.linear`` → ``aten::linear``, ``F.batch_norm`` → ``aten::batch_norm`` ...) and applies
fvcore's handle for each: its :func:`~fvcore.nn.jit_handles.conv_flop_count` for
convolutions, and the one-line formulas of its other default handles. Operators fvcore does
not count (activations, additions, means, padding) count nothing here either, and the
per-operator names are fvcore's (``conv``, ``linear``, ``batch_norm``, ...).

``tests/test_meta_count.py`` holds the counts equal to fvcore's own, operator by operator, on
real models.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

with warnings.catch_warnings():  # fvcore's import touches the deprecated torch.jit.script
    warnings.simplefilter("ignore", FutureWarning)
    from fvcore.nn.jit_handles import conv_flop_count
from torch import nn
from torch.overrides import TorchFunctionMode

from mixbench.measure.conventions import input_channels

#: (args, kwargs, output) → {fvcore operator name: count}
Handle = Callable[[tuple[Any, ...], dict[str, Any], Any], dict[str, int]]


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _shape(tensor: Any) -> list[int]:
    return list(tensor.shape)


def _conv(transposed: bool) -> Handle:
    def count(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
        x, w = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "weight")
        flops = conv_flop_count(_shape(x), _shape(w), _shape(output), transposed=transposed)
        return {"conv": int(flops)}

    return count


def _linear(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
    x, w = _arg(args, kwargs, 0, "input"), _arg(args, kwargs, 1, "weight")
    return {"linear": math.prod(x.shape) * int(w.shape[0])}


def _addmm(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
    first, second = _arg(args, kwargs, 1, "mat1"), _arg(args, kwargs, 2, "mat2")
    batch, inner = first.shape
    return {"addmm": int(batch * inner * second.shape[1])}


def _matmul(name: str) -> Handle:
    def count(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
        first, second = args[0], args[1]
        return {name: math.prod(first.shape) * int(second.shape[-1])}

    return count


def _bmm(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
    n, c, t = args[0].shape
    return {"bmm": int(n * c * t * args[1].shape[-1])}


def _batch_norm(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
    x = _arg(args, kwargs, 0, "input")
    affine = _arg(args, kwargs, 3, "weight") is not None
    if _arg(args, kwargs, 5, "training"):
        return {"batch_norm": x.numel() * (5 if affine else 4)}
    return {"batch_norm": x.numel() * (2 if affine else 1)}


def _norm(name: str, weight_index: int) -> Handle:
    def count(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
        affine = _arg(args, kwargs, weight_index, "weight") is not None
        return {name: args[0].numel() * (5 if affine else 4)}

    return count


def _interpolate(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
    """``aten::upsample_nearest2d`` (1 per output element), ``upsample_bilinear2d`` (4);
    other modes and ranks fvcore does not count."""
    mode = _arg(args, kwargs, 3, "mode") or "nearest"
    if output.dim() != 4:
        return {}
    scale = {"nearest": 1, "bilinear": 4}.get(mode)
    return {f"upsample_{mode}2d": scale * output.numel()} if scale else {}


def _adaptive_avg_pool2d(
    args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
) -> dict[str, int]:
    return {"adaptive_avg_pool2d": args[0].numel()}


def _grid_sample(args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> dict[str, int]:
    return {"grid_sampler": 4 * output.numel()}


#: The calls the tracer records as fvcore's counted ``aten::`` ops, with fvcore's handles.
FLOP_HANDLES: dict[Callable[..., Any], Handle] = {
    F.conv1d: _conv(False),
    F.conv2d: _conv(False),
    F.conv3d: _conv(False),
    F.conv_transpose1d: _conv(True),
    F.conv_transpose2d: _conv(True),
    F.conv_transpose3d: _conv(True),
    F.linear: _linear,
    torch.addmm: _addmm,
    torch.matmul: _matmul("matmul"),
    torch.Tensor.matmul: _matmul("matmul"),
    torch.Tensor.__matmul__: _matmul("matmul"),
    torch.mm: _matmul("mm"),
    torch.Tensor.mm: _matmul("mm"),
    torch.bmm: _bmm,
    torch.Tensor.bmm: _bmm,
    F.batch_norm: _batch_norm,
    F.group_norm: _norm("group_norm", 2),
    F.layer_norm: _norm("layer_norm", 2),
    F.instance_norm: _norm("instance_norm", 3),
    F.interpolate: _interpolate,
    F.adaptive_avg_pool2d: _adaptive_avg_pool2d,
    F.grid_sample: _grid_sample,
}

#: fvcore's ActivationCountAnalysis: the output elements of these operators.
ACTIVATION_OPS = {"conv", "linear", "addmm", "matmul", "bmm", "einsum"}


class _Counting(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.macs: Counter[str] = Counter()
        self.activations = 0

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if func is torch.einsum:  # fvcore counts it from the equation: not emulated
            raise NotImplementedError("einsum is not counted on the meta device")
        output = func(*args, **kwargs)
        handle = FLOP_HANDLES.get(func)
        if handle is not None:
            counts = handle(tuple(args), kwargs, output)
            self.macs.update(counts)
            if ACTIVATION_OPS.intersection(counts):
                self.activations += output.numel()
        return output


def count_on_meta(model: nn.Module, input_size: tuple[int, int]) -> tuple[dict[str, int], int]:
    """fvcore's MACs by operator and its activation count, for one RGB image of
    ``(height, width)``, counted on the meta device (the model's weights are not touched)."""
    meta = {
        name: torch.empty_like(tensor, device="meta")
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]
    }
    images = torch.empty(1, input_channels(model), *input_size, device="meta")
    was_training = model.training
    model.eval()
    counting = _Counting()
    try:
        with torch.no_grad(), counting:
            torch.func.functional_call(model, meta, (images,))
    finally:
        model.train(was_training)
    return dict(counting.macs), counting.activations
