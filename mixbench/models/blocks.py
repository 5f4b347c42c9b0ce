"""MixDepthBlock: MixNet's inverted-residual block (and its expansion-free first form)."""

from __future__ import annotations

import torch
from torch import nn

from mixbench.models.layers import (
    BatchNormAct2d,
    DropPath,
    SqueezeExcite,
    make_conv,
    make_depthwise,
)
from mixbench.models.plan import BlockPlan


class MixDepthBlock(nn.Module):
    """Pointwise expansion → MixConv depthwise → SE → pointwise projection (+ residual).

    With ``expansion_ratio`` 1 there is no expansion conv and the layout is the depthwise-
    separable one (``conv_dw, bn1, se, conv_pw, bn2``), which is how timm names MixNet's first
    block; otherwise ``conv_pw, bn1, conv_dw, bn2, se, conv_pwl, bn3`` as timm's
    InvertedResidual. Grouped 1×1 convs are single ``nn.Conv2d(groups=g)`` layers (timm keeps
    one conv per group; see :mod:`mixbench.models.weights`).
    """

    def __init__(
        self,
        plan: BlockPlan,
        *,
        padding: str,
        bn_eps: float,
        bn_momentum: float,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.expands = plan.expands
        self.has_skip = plan.has_skip
        act = plan.act_type

        def norm(channels: int, act_type: str | None) -> BatchNormAct2d:
            return BatchNormAct2d(channels, eps=bn_eps, momentum=bn_momentum, act_type=act_type)

        depthwise = make_depthwise(
            plan.mid_chs, list(plan.kernel_sizes), stride=plan.stride, padding=padding
        )
        se: nn.Module = (
            SqueezeExcite(plan.mid_chs, plan.se_channels, act)
            if plan.se_channels
            else nn.Identity()
        )
        project = make_conv(plan.mid_chs, plan.out_chs, 1, groups=plan.poi_groups, padding=padding)
        if self.expands:
            self.conv_pw = make_conv(
                plan.in_chs, plan.mid_chs, 1, groups=plan.exp_groups, padding=padding
            )
            self.bn1 = norm(plan.mid_chs, act)
            self.conv_dw = depthwise
            self.bn2 = norm(plan.mid_chs, act)
            self.se = se
            self.conv_pwl = project
            self.bn3 = norm(plan.out_chs, None)  # linear bottleneck: no activation
        else:
            self.conv_dw = depthwise
            self.bn1 = norm(plan.mid_chs, act)
            self.se = se
            self.conv_pw = project
            self.bn2 = norm(plan.out_chs, None)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.expands:
            x = self.bn1(self.conv_pw(x))
            x = self.bn2(self.conv_dw(x))
            x = self.se(x)
            x = self.bn3(self.conv_pwl(x))
        else:
            x = self.bn1(self.conv_dw(x))
            x = self.se(x)
            x = self.bn2(self.conv_pw(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
