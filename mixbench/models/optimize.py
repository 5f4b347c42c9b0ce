"""An inference-optimised copy of a native MixNet with the same outputs.

:func:`optimize` rewrites the module tree in place of a deep copy:

* every BatchNorm is folded into the convolution before it (the BN module is replaced by its
  activation, so the blocks' ``forward`` code is unchanged);
* each MixConv may become one depthwise convolution whose smaller kernels are zero-padded to
  the largest: no ``split``/``cat`` copies, at the price of more multiply-adds. The choice is
  made per layer: on GPUs always (depthwise convolutions are memory-bound there), on CPUs by a
  MAC-ratio rule or by timing both forms on the layer's real input shape (``mixconv="measure"``);
* grouped 1×1 convolutions may become one dense block-diagonal convolution (dense GEMMs are
  faster than several small grouped ones), by the same per-layer choice;
* activations run in place; channels_last and the dtype are applied last.

Zero-padding a kernel is exact for both padding conventions: symmetric padding grows by
``(K - k) / 2`` per side, and TF "SAME" padding grows by ``K - k`` in total, split the same way
(both kernels are odd), so every output sees the same input pixels with the same weights.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Literal

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.models.layers import BatchNormAct2d, MixConv, SameConv2d, make_conv
from mixbench.models.registry import families

Choice = Literal["auto", "always", "never", "measure"]
#: CPU rule: merge a MixConv when the merged kernel costs at most this many times the MACs of
#: its branches (a [3, 5, 7, 9] MixConv is 1.98×; the copies it saves cost about as much).
CPU_MERGE_MAC_RATIO = 2.0


def optimize(
    model: nn.Module,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    channels_last: bool = True,
    cuda_graphs: bool = False,
    mixconv: Choice = "auto",
    grouped_pointwise: Choice = "auto",
    example_input: torch.Tensor | None = None,
) -> nn.Module:
    """An eval-mode copy of ``model`` for inference: BN folded, MixConv and grouped 1×1 convs
    merged where faster, in ``dtype`` and channels_last on ``device``.

    ``"measure"`` choices time both forms of each layer on ``example_input`` (default: one
    image at the model's eval size). ``cuda_graphs`` returns a :class:`CudaGraphModule` that
    replays a captured graph for each input shape it sees (CUDA only).
    """
    device = torch.device(device)
    if cuda_graphs and device.type != "cuda":
        raise InputError(
            "cuda_graphs=True needs a CUDA device", hint="pass device='cuda' or drop cuda_graphs"
        )
    optimized = copy.deepcopy(model).eval().to(device)
    for owner, conv_name, norm_name in _conv_norm_pairs(optimized):
        _fold(owner, conv_name, norm_name)
    if example_input is None:
        size = getattr(getattr(model, "eval_config", None), "input_size", (3, 224, 224))
        example_input = torch.randn(1, *size)
    shapes = _input_shapes(optimized, example_input.to(device))
    for module, name, child in list(_named_children(optimized)):
        if isinstance(child, MixConv):
            merged = merge_mixconv(child)
            if _choose(mixconv, device, child, merged, shapes.get(child), _mixconv_rule(child)):
                setattr(module, name, merged)
        elif _is_grouped_pointwise(child):
            dense = dense_pointwise(child)
            if _choose(grouped_pointwise, device, child, dense, shapes.get(child), True):
                setattr(module, name, dense)
    for module in optimized.modules():
        if isinstance(module, (nn.ReLU, nn.SiLU, nn.Hardswish, nn.ReLU6)):
            module.inplace = True
    if dtype is not None:
        optimized = optimized.to(dtype)
    if channels_last:
        optimized = optimized.to(memory_format=torch.channels_last)
    if cuda_graphs:
        return CudaGraphModule(optimized)
    return optimized


def _named_children(model: nn.Module) -> Iterator[tuple[nn.Module, str, nn.Module]]:
    for module in model.modules():
        for name, child in module.named_children():
            yield module, name, child


def _conv_norm_pairs(model: nn.Module) -> Iterator[tuple[nn.Module, str, str]]:
    """(owner, conv attribute, BN attribute) for every conv whose output goes straight to BN,
    as the registered families' ``conv_norm_pairs`` rules find them."""
    rules = [family.conv_norm_pairs for family in families() if family.conv_norm_pairs]
    for module in model.modules():
        for rule in rules:
            yield from ((module, conv, norm) for conv, norm in rule(module))


def _bn_scale_shift(norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return scale, norm.bias - norm.running_mean * scale


@torch.no_grad()
def _fold(owner: nn.Module, conv_name: str, norm_name: str) -> None:
    conv = getattr(owner, conv_name)
    norm: BatchNormAct2d = getattr(owner, norm_name)
    scale, shift = _bn_scale_shift(norm)
    start = 0
    for branch in conv if isinstance(conv, MixConv) else [conv]:
        end = start + branch.out_channels
        _fold_into_conv(branch, scale[start:end], shift[start:end])
        start = end
    setattr(owner, norm_name, norm.act)


def _fold_into_conv(conv: nn.Conv2d, scale: torch.Tensor, shift: torch.Tensor) -> None:
    bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
    conv.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
    conv.bias = nn.Parameter(bias * scale + shift)


@torch.no_grad()
def merge_mixconv(mix: MixConv) -> nn.Conv2d:
    """One depthwise conv equal to ``mix``: each branch's kernel centred in the largest."""
    branches = list(mix)
    size = max(branch.kernel_size[0] for branch in branches)
    channels = sum(branch.out_channels for branch in branches)
    first = branches[0]
    padding = "same" if isinstance(first, SameConv2d) else "symmetric"
    merged = make_conv(
        channels,
        channels,
        size,
        stride=first.stride[0],
        groups=channels,
        padding=padding,
        bias=first.bias is not None,
    ).to(first.weight.device, first.weight.dtype)
    merged.weight.zero_()
    start = 0
    for branch in branches:
        k = branch.kernel_size[0]
        offset = (size - k) // 2
        end = start + branch.out_channels
        merged.weight[start:end, :, offset : offset + k, offset : offset + k] = branch.weight
        if merged.bias is not None:
            merged.bias[start:end] = branch.bias
        start = end
    return merged


def _is_grouped_pointwise(module: nn.Module) -> bool:
    return (
        type(module) is nn.Conv2d
        and module.kernel_size == (1, 1)
        and module.groups > 1
        and module.groups != module.in_channels  # not depthwise
    )


@torch.no_grad()
def dense_pointwise(conv: nn.Conv2d) -> nn.Conv2d:
    """A dense 1×1 conv with a block-diagonal weight, equal to the grouped ``conv``."""
    dense = nn.Conv2d(conv.in_channels, conv.out_channels, 1, bias=conv.bias is not None)
    dense = dense.to(conv.weight.device, conv.weight.dtype)
    dense.weight.zero_()
    per_in = conv.in_channels // conv.groups
    per_out = conv.out_channels // conv.groups
    for group in range(conv.groups):
        rows = slice(group * per_out, (group + 1) * per_out)
        cols = slice(group * per_in, (group + 1) * per_in)
        dense.weight[rows, cols] = conv.weight[rows]
    if conv.bias is not None:
        dense.bias.copy_(conv.bias)
    return dense


def _mixconv_rule(mix: MixConv) -> bool:
    size = max(branch.kernel_size[0] for branch in mix)
    branch_macs = sum(b.out_channels * b.kernel_size[0] ** 2 for b in mix)
    merged_macs = sum(b.out_channels for b in mix) * size**2
    return merged_macs <= CPU_MERGE_MAC_RATIO * branch_macs


def _choose(
    choice: Choice,
    device: torch.device,
    original: nn.Module,
    replacement: nn.Module,
    shape: torch.Size | None,
    cpu_rule: bool,
) -> bool:
    if choice in ("always", "never"):
        return choice == "always"
    if choice == "auto" or shape is None:
        return True if device.type == "cuda" else cpu_rule
    sample = torch.randn(shape, device=device)
    return _time(replacement, sample) < _time(original, sample)


@torch.no_grad()
def _input_shapes(model: nn.Module, example: torch.Tensor) -> dict[nn.Module, torch.Size]:
    """The input shape of every MixConv and 1×1 conv for ``example``."""
    shapes: dict[nn.Module, torch.Size] = {}
    hooks = []

    def remember(module: nn.Module) -> Callable[..., None]:
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            shapes[module] = inputs[0].shape

        return hook

    for module in model.modules():
        if isinstance(module, MixConv) or _is_grouped_pointwise(module):
            hooks.append(module.register_forward_pre_hook(remember(module)))
    try:
        model(example)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


@torch.no_grad()
def _time(module: nn.Module, sample: torch.Tensor, repeats: int = 5) -> float:
    """Median seconds per call, after one warm-up call."""
    synchronize = torch.cuda.synchronize if sample.is_cuda else (lambda: None)
    module(sample)
    times = []
    for _ in range(repeats):
        synchronize()
        started = time.perf_counter()
        module(sample)
        synchronize()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


_Captured = tuple[object, torch.Tensor, torch.Tensor]  # graph, static input, static output


class CudaGraphModule(nn.Module):
    """Replays a captured CUDA graph per input shape: no Python or launch overhead per layer.

    Inputs are copied into a static buffer and the output is a view of the graph's static
    output, cloned so that the next replay cannot overwrite what the caller holds.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self._graphs: dict[
            tuple[torch.Size, torch.dtype], tuple[object, torch.Tensor, torch.Tensor]
        ]
        self._graphs = {}

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        key = (images.shape, images.dtype)
        if key not in self._graphs:
            self._graphs[key] = self._capture(images)
        graph, static_in, static_out = self._graphs[key]
        static_in.copy_(images)
        graph.replay()  # type: ignore[attr-defined]
        return static_out.clone()

    def _capture(self, images: torch.Tensor) -> _Captured:
        static_in = images.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # warm-up outside the graph: cuDNN picks its algorithms here
                self.model(static_in)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self.model(static_in)
        return graph, static_in, static_out
