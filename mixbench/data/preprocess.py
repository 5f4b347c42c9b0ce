"""Card-exact evaluation preprocessing, identical to timm's eval transform for the same card.

Shortest side to ``floor(image_size / crop_pct)`` with the card's interpolation, centre crop to
``image_size``, ImageNet mean/std. torchvision's transforms do the pixel work, as they do in
timm, so the two agree pixel for pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import torch

from mixbench.data.sources.imagenet import IMAGENET_MEAN, IMAGENET_STD
from mixbench.errors import InputError

if TYPE_CHECKING:
    from torchvision.transforms import Compose, InterpolationMode

    from mixbench.index import ModelCard


class EvalDefaults(Protocol):
    """A model's own eval preprocessing (its ``eval_config``): what applies where a card is silent.

    A protocol, so that the data layer reads a model's defaults without importing the models.
    """

    @property
    def image_size(self) -> int: ...
    @property
    def crop_pct(self) -> float: ...
    @property
    def interpolation(self) -> str: ...
    @property
    def mean(self) -> Sequence[float]: ...
    @property
    def std(self) -> Sequence[float]: ...


@dataclass(frozen=True)
class Preprocessing:
    """One model's eval preprocessing; build it with :meth:`for_model` (defaults: MixNet's card)."""

    image_size: int = 224
    crop_pct: float = 0.875
    interpolation: str = "bicubic"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    @classmethod
    def for_model(cls, defaults: EvalDefaults, card: ModelCard | None) -> Preprocessing:
        """The model's own eval defaults, overridden by whatever its card publishes.

        A card publishes image size, crop pct and interpolation; mean and std are the model's.
        """
        own = cls(
            image_size=defaults.image_size,
            crop_pct=defaults.crop_pct,
            interpolation=defaults.interpolation,
            mean=tuple(defaults.mean),
            std=tuple(defaults.std),
        )
        if card is None:
            return own
        published = {
            "image_size": card.image_size,
            "crop_pct": card.crop_pct,
            "interpolation": card.interpolation,
        }
        # None: the card is silent on it, and the model's own value stands.
        return replace(own, **{key: value for key, value in published.items() if value is not None})

    @property
    def resize_size(self) -> int:
        return math.floor(self.image_size / self.crop_pct)

    def transform(self) -> Compose:
        from torchvision import transforms

        return transforms.Compose(
            [
                transforms.Resize(self.resize_size, interpolation=self._interpolation_mode()),
                transforms.CenterCrop(self.image_size),
                transforms.ToTensor(),
                transforms.Normalize(self.mean, self.std),
            ]
        )

    def crop_transform(self) -> Compose:
        """The PIL half of :meth:`transform`: resize and crop to a uint8 CHW tensor.

        DataLoader workers run this half: a uint8 batch is a quarter of the float32 bytes to
        pass between processes, and :meth:`normalize` finishes the job on the whole batch.
        """
        from torchvision import transforms

        return transforms.Compose(
            [
                transforms.Resize(self.resize_size, interpolation=self._interpolation_mode()),
                transforms.CenterCrop(self.image_size),
                transforms.PILToTensor(),
            ]
        )

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, 3, H, W)`` → normalised float32, bit for bit what :meth:`transform` gives.

        The same element-wise operations as torchvision's ``ToTensor`` (``/ 255``) and
        ``Normalize`` (``- mean``, ``/ std``), in the same order, so no rounding differs.
        """
        mean = torch.as_tensor(self.mean, dtype=torch.float32, device=batch.device)
        std = torch.as_tensor(self.std, dtype=torch.float32, device=batch.device)
        images = batch.to(torch.float32).div(255)
        return images.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))

    def to_dict(self) -> dict[str, object]:
        return {
            "image_size": self.image_size,
            "crop_pct": self.crop_pct,
            "resize_size": self.resize_size,
            "interpolation": self.interpolation,
            "mean": list(self.mean),
            "std": list(self.std),
        }

    def _interpolation_mode(self) -> InterpolationMode:
        from torchvision.transforms import InterpolationMode

        try:
            return InterpolationMode(self.interpolation)
        except ValueError as error:
            choices = ", ".join(mode.value for mode in InterpolationMode)
            raise InputError(
                f"interpolation {self.interpolation!r} is not supported",
                hint=f"use one of {choices}",
            ) from error
