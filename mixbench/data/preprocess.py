"""Card-exact evaluation preprocessing, identical to timm's eval transform for the same card.

Shortest side to ``floor(image_size / crop_pct)`` with the card's interpolation, centre crop to
``image_size``, ImageNet mean/std. torchvision's transforms do the pixel work, as they do in
timm, so the two agree pixel for pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image, UnidentifiedImageError

from mixbench.errors import InputError
from mixbench.models.config import IMAGENET_MEAN, IMAGENET_STD

if TYPE_CHECKING:
    from torchvision.transforms import Compose, InterpolationMode

    from mixbench.index import ModelCard


@dataclass(frozen=True)
class Preprocessing:
    image_size: int = 224
    crop_pct: float = 0.875
    interpolation: str = "bicubic"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @property
    def resize_size(self) -> int:
        return math.floor(self.image_size / self.crop_pct)

    def with_card(self, card: ModelCard | None) -> Preprocessing:
        """These defaults, overridden by whatever the card publishes."""
        if card is None:
            return self
        published = {
            "image_size": card.image_size,
            "crop_pct": card.crop_pct,
            "interpolation": card.interpolation,
        }
        return replace(self, **{k: v for k, v in published.items() if v is not None})

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


def load_rgb(path: str | Path) -> Image.Image:
    """An image file as RGB, as timm's datasets read it (grayscale, CMYK, RGBA, palette → RGB)."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such image file", hint="check the path") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise InputError(
            f"{path}: cannot read image ({error})", hint="is it a JPEG/PNG/WebP image file?"
        ) from error
