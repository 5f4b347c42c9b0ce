"""Model complexity: parameters, MACs, FLOPs and activations, counted by fvcore.

fvcore counts one fused multiply-add as one "flop", i.e. it counts MACs; we report
FLOPs = 2 × MACs and keep the two apart. Published FLOPs are compared against every common
convention, and we say which one (if any) explains the published number.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

# A published figure is "explained" by a convention when it agrees this closely.
EXPLAINS_WITHIN = 0.005


@dataclass(frozen=True)
class Complexity:
    image_size: int
    params: int
    macs: int
    activations: int
    macs_by_operator: dict[str, int] = field(default_factory=dict)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def conventions(self) -> dict[str, int]:
        """Every common way a "FLOPs" figure is counted, by name."""
        conv_and_linear = sum(
            v for op, v in self.macs_by_operator.items() if op in ("conv", "linear", "matmul")
        )
        return {
            "MACs (fvcore)": self.macs,
            "FLOPs = 2 × MACs": self.flops,
            "conv + linear MACs": conv_and_linear,
            "2 × (conv + linear MACs)": 2 * conv_and_linear,
        }

    def explain(self, published: int | None) -> tuple[str | None, dict[str, float]]:
        """The convention matching ``published`` (or None), and published / each convention."""
        if not published:
            return None, {}
        ratios = {name: published / value for name, value in self.conventions().items() if value}
        matches = [name for name, r in ratios.items() if abs(r - 1) <= EXPLAINS_WITHIN]
        return (matches[0] if matches else None), ratios

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "flops": self.flops}


def count_complexity(model: nn.Module, image_size: int = 224) -> Complexity:
    """Params, MACs and activations for one ``image_size`` × ``image_size`` RGB image."""
    with warnings.catch_warnings():  # fvcore's import touches the deprecated torch.jit.script
        warnings.simplefilter("ignore", FutureWarning)
        from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    inputs = torch.zeros(1, 3, image_size, image_size, device=device)
    # fvcore logs every op it does not count (activations, adds): noise for our purpose
    logger = logging.getLogger("fvcore")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with torch.no_grad():
            flops = FlopCountAnalysis(model, inputs)
            flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            activations = ActivationCountAnalysis(model, inputs)
            activations.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            macs, by_operator, acts = flops.total(), flops.by_operator(), activations.total()
    finally:
        logger.setLevel(level)
        model.train(was_training)
    return Complexity(
        image_size=image_size,
        params=sum(p.numel() for p in model.parameters()),
        macs=int(macs),
        activations=int(acts),
        macs_by_operator={op: int(v) for op, v in by_operator.items()},
    )


@dataclass(frozen=True)
class FlopsCheck:
    """Measured complexity beside a card's published FLOPs and params."""

    model: str
    measured: Complexity
    published_flops: int | None
    published_params: int | None
    explained_by: str | None
    ratios: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            **self.measured.to_dict(),
            "published_flops": self.published_flops,
            "published_params": self.published_params,
            "explained_by": self.explained_by,
            "published_over_convention": self.ratios,
        }


def check_flops(
    model: nn.Module,
    name: str,
    *,
    image_size: int,
    published_flops: int | None,
    published_params: int | None = None,
) -> FlopsCheck:
    measured = count_complexity(model, image_size)
    explained_by, ratios = measured.explain(published_flops)
    return FlopsCheck(name, measured, published_flops, published_params, explained_by, ratios)
