"""fvcore's formulas on the meta device give fvcore's own counts, operator by operator."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn

from mixbench.measure.complexity import count_complexity
from mixbench.models import create_model


def _on_meta(build):
    with torch.device("meta"):
        return build()


class _EveryCountedOp(nn.Module):
    """One of each operator fvcore counts, as the layers and calls a model makes them."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(8)
        self.plain_bn = nn.BatchNorm2d(8, affine=False)
        self.gn = nn.GroupNorm(2, 8)
        self.ln = nn.LayerNorm(8)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.fc = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.plain_bn(self.bn(self.conv(x)))
        x = self.gn(x)
        x = self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.up(x)
        x = self.upsample(x) + torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
        tokens = x.flatten(2)  # (1, 4, HW)
        x = x + (tokens @ tokens.transpose(1, 2)).mean() + torch.bmm(tokens, tokens.mT).mean()
        pooled = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(pooled) + torch.addmm(pooled.new_zeros(10), pooled, self.fc.weight.t())


CASES = {
    "every counted op": (_EveryCountedOp, (12, 10)),
    "native mixnet_s": (lambda: create_model("mixnet_s"), (64, 80)),
    "timm tf_mixnet_s (same padding)": (lambda: timm.create_model("tf_mixnet_s"), (64, 64)),
    "timm densenet121 (BatchNormAct2d)": (lambda: timm.create_model("densenet121"), (64, 64)),
    "timm hrnet_w18_small (upsampling)": (lambda: timm.create_model("hrnet_w18_small"), (64, 64)),
    "timm dla34 (conv classifier)": (lambda: timm.create_model("dla34"), (64, 64)),
}


@pytest.mark.parametrize("case", CASES)
def test_meta_counts_equal_fvcore(case):
    build, size = CASES[case]
    torch.manual_seed(0)
    real = count_complexity(build().eval(), size)
    meta = count_complexity(_on_meta(build), size)
    assert meta.macs_by_operator == real.macs_by_operator
    assert (meta.macs, meta.activations, meta.params) == (real.macs, real.activations, real.params)
    assert meta.counts() == real.counts()
