"""What every model family shares, whatever its architecture: the eval defaults a config
carries (:class:`EvalConfig`, timm's ``pretrained_cfg`` subset) and the shape of a checkpoint
key mapping (:data:`KeyMap`). The registry, the factory and weights loading read these, never
one family's config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from mixbench.data.sources.imagenet import IMAGENET_MEAN, IMAGENET_STD

#: A checkpoint key mapping: a state dict in some published layout → the model's layout.
KeyMap = Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class EvalConfig:
    """Eval preprocessing defaults (timm's pretrained_cfg subset ``mixbench predict`` uses)."""

    input_size: tuple[int, int, int] = (3, 224, 224)
    crop_pct: float = 0.875
    interpolation: str = "bicubic"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    num_classes: int = 1000
    hf_hub_id: str | None = None

    @property
    def image_size(self) -> int:
        """The square input side (224 for every preset)."""
        return self.input_size[-1]

    def as_dict(self) -> dict[str, Any]:
        """timm-style ``pretrained_cfg`` keys."""
        return {
            "input_size": self.input_size,
            "crop_pct": self.crop_pct,
            "interpolation": self.interpolation,
            "mean": self.mean,
            "std": self.std,
            "num_classes": self.num_classes,
            "hf_hub_id": self.hf_hub_id,
        }
