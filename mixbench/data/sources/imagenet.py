"""ImageNet-1k as timm has it: class numbering, val file names, normalisation mean and std.

The data layer owns these facts; the models take their default mean/std from here.
"""

from __future__ import annotations

import re
from functools import lru_cache

NUM_CLASSES = 1000

# timm's IMAGENET_DEFAULT_MEAN / IMAGENET_DEFAULT_STD, the normalisation every MixNet card uses.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

SYNSET_PATTERN = re.compile(r"n\d{8}")
VAL_NAME_PATTERN = re.compile(r"ILSVRC2012_val_(\d{8})")


@lru_cache(maxsize=1)
def imagenet_synsets() -> tuple[str, ...]:
    """The 1000 synset ids in timm's ImageNet-1k class order (the sorted synsets)."""
    from timm.data import ImageNetInfo  # imports torch and torchvision: only when needed

    return tuple(ImageNetInfo("imagenet-1k").label_names())


@lru_cache(maxsize=1)
def imagenet_synset_index() -> dict[str, int]:
    """Synset id → class index in timm's ImageNet-1k order."""
    return {synset: index for index, synset in enumerate(imagenet_synsets())}


def natural_key(text: str) -> list[int | str]:
    """timm's sort key for image paths: case-folded, digit runs compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower())]


def canonical_val_filename(filename: str) -> str | None:
    """``ILSVRC2012_val_00000293.JPEG`` for any name carrying that val number, else ``None``.

    ReaL labels are keyed by the original JPEG names; a re-encoded ``.png`` copy or HF's
    ``ILSVRC2012_val_00000293_n01751748.JPEG`` still names the same val image.
    """
    match = VAL_NAME_PATTERN.search(filename)
    return f"ILSVRC2012_val_{int(match.group(1)):08d}.JPEG" if match else None
