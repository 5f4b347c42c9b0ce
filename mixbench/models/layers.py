"""Building blocks of the native MixNet: convolutions, MixConv, BN+activation, SE, drop path.

Module and parameter names follow timm's EfficientNet family on purpose (``conv_reduce``,
``conv_expand``, numbered MixConv branches ...), so that published timm checkpoints load with at
most the small key mapping documented in :mod:`mixbench.models.weights`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: The modules of the ``act_type`` names a config accepts
#: (:data:`mixbench.models.config.ACT_TYPES`, netspresso-trainer's names); ``swish`` is SiLU.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "leaky_relu": nn.LeakyReLU,
    "prelu": nn.PReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "hard_swish": nn.Hardswish,
}


def make_activation(name: str) -> nn.Module:
    """A fresh activation module; PReLU carries a learnable slope, so never share instances."""
    return ACTIVATIONS[name]()


def split_channels(channels: int, parts: int) -> list[int]:
    """Equal split with the remainder going to the first part (the MixConv convention)."""
    sizes = [channels // parts] * parts
    sizes[0] += channels - sum(sizes)
    return sizes


def symmetric_padding(kernel_size: int, stride: int = 1, dilation: int = 1) -> int:
    """PyTorch-style padding that keeps ``ceil(size / stride)`` outputs for odd kernels."""
    return ((stride - 1) + dilation * (kernel_size - 1)) // 2


def same_padding_amount(size: int, kernel_size: int, stride: int, dilation: int = 1) -> int:
    """Total padding TensorFlow's "SAME" adds along one axis of length ``size``."""
    out = math.ceil(size / stride)
    return max((out - 1) * stride + (kernel_size - 1) * dilation + 1 - size, 0)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding computed from the input size at run time.

    TF pads the odd pixel on the bottom/right, which no static symmetric padding reproduces
    for strided convolutions; the TF-trained ports (tf_mixnet_*) depend on it.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        pad_h = same_padding_amount(ih, kh, self.stride[0], self.dilation[0])
        pad_w = same_padding_amount(iw, kw, self.stride[1], self.dilation[1])
        if pad_h or pad_w:
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def make_conv(
    in_chs: int,
    out_chs: int,
    kernel_size: int,
    *,
    stride: int = 1,
    groups: int = 1,
    padding: str = "symmetric",
    bias: bool = False,
) -> nn.Conv2d:
    """A bias-free conv with the requested padding convention.

    "SAME" only needs the dynamic module when the padding is input-dependent (stride > 1 or an
    even kernel); otherwise it equals symmetric padding and a plain Conv2d is cheaper.
    """
    if padding == "same" and (stride > 1 or (kernel_size - 1) % 2):
        return SameConv2d(in_chs, out_chs, kernel_size, stride=stride, groups=groups, bias=bias)
    pad = symmetric_padding(kernel_size, stride)
    return nn.Conv2d(
        in_chs, out_chs, kernel_size, stride=stride, padding=pad, groups=groups, bias=bias
    )


class MixConv(nn.ModuleList):
    """Mixed depthwise convolution: channel groups, each with its own kernel size.

    Branches are children ``0, 1, ...`` so parameter keys read ``conv_dw.0.weight`` like timm's
    ``MixedConv2d``.
    """

    def __init__(
        self, channels: int, kernel_sizes: list[int], *, stride: int, padding: str
    ) -> None:
        splits = split_channels(channels, len(kernel_sizes))
        super().__init__(
            make_conv(c, c, k, stride=stride, groups=c, padding=padding)
            for c, k in zip(splits, kernel_sizes, strict=True)
        )
        self.splits = splits

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        parts = torch.split(x, self.splits, dim=1)
        return torch.cat([conv(part) for conv, part in zip(self, parts, strict=True)], dim=1)


def make_depthwise(
    channels: int, kernel_sizes: list[int], *, stride: int, padding: str
) -> nn.Module:
    """One kernel size → a plain depthwise conv (key ``conv_dw.weight``), several → MixConv."""
    if len(kernel_sizes) == 1:
        k = kernel_sizes[0]
        return make_conv(channels, channels, k, stride=stride, groups=channels, padding=padding)
    return MixConv(channels, kernel_sizes, stride=stride, padding=padding)


class BatchNormAct2d(nn.BatchNorm2d):
    """BatchNorm followed by an activation held as child ``act``.

    Keeping the activation inside the norm module keeps the state_dict keys of plain BN
    (``bn1.weight`` ...) and, for PReLU, puts its slope at ``bn1.act.weight`` as timm does.
    """

    def __init__(self, channels: int, *, eps: float, momentum: float, act_type: str | None) -> None:
        super().__init__(channels, eps=eps, momentum=momentum)
        self.act = make_activation(act_type) if act_type else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(super().forward(x))


class SqueezeExcite(nn.Module):
    """Channel attention: global average → 1×1 reduce → act → 1×1 expand → sigmoid gate."""

    def __init__(self, channels: int, reduced: int, act_type: str) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, reduced, 1, bias=True)
        self.act1 = make_activation(act_type)
        self.conv_expand = nn.Conv2d(reduced, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = self.conv_expand(self.act1(self.conv_reduce(scale)))
        return x * self.gate(scale)


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch of whole samples while training."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"rate={self.rate}"
