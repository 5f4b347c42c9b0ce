"""The card's eval metadata (crop pct, image size, interpolation) against the model's own
default eval config."""

from __future__ import annotations

import math

from mixbench.diff import compare_values
from mixbench.index import ModelCard
from mixbench.resolve import ResolvedModel
from mixbench.verify.check import Check
from mixbench.verify.checks.base import CheckGroup, CheckSpec


def check_preprocessing(card: ModelCard, resolved: ResolvedModel) -> list[Check]:
    """The card's eval metadata against the model's own default config (for a timm model,
    timm's ``pretrained_cfg`` of the tag it resolves to)."""
    defaults = resolved.model.eval_config  # type: ignore[union-attr]
    against = eval_defaults_origin(resolved)
    own = {
        "crop_pct": ("crop pct", defaults.crop_pct),
        "image_size": ("image size", defaults.image_size),
        "interpolation": ("interpolation", defaults.interpolation),
    }
    checks = []
    for key, (label, value) in own.items():
        published = getattr(card, key)
        if published is None:
            checks.append(
                Check(
                    key, label, "skipped", measured=value, reason=f"the card publishes no {label}"
                )
            )
            continue
        # exact: a published crop pct of 0.9 is 0.9, not 0.875 rounded to one decimal
        agree, delta = compare_values(published, value, resolution=None, tolerance=0)
        reason, tolerance = against, "exact"
        if key == "crop_pct" and not agree:
            size = card.image_size or defaults.image_size
            same = _resize_side(size, published) == _resize_side(size, value)
            if same:  # 0.897 for 0.8975: what the eval transform does is the same
                agree, tolerance = True, "the same resize before the centre crop"
                reason = (
                    f"{against}; both resize to {_resize_side(size, value)} px before the "
                    f"{size} px crop (timm: floor(size / crop pct)), so they preprocess alike"
                )
        checks.append(
            Check(
                key,
                label,
                "pass" if agree else "fail",
                published=published,
                measured=value,
                delta=delta,
                tolerance=tolerance,
                reason=reason,
            )
        )
    return checks


def _resize_side(image_size: int, crop_pct: float) -> int:
    """The short side timm resizes to before the centre crop (``transforms_factory``)."""
    return math.floor(image_size / crop_pct)


def eval_defaults_origin(resolved: ResolvedModel) -> str:
    """Where the eval defaults the card is held to come from, for the reason text: a timm
    tag's defaults change with the tag, so the reason names it."""
    origin = resolved.family.eval_defaults_origin
    config = getattr(resolved.model, "config", None)
    if origin is not None and config is not None:
        return origin(config)
    return "against the model's default eval config"


GROUP = CheckGroup(
    "preprocessing",
    order=40,
    specs=(
        CheckSpec("crop_pct", "crop pct", "fraction", card_field="crop_pct"),
        CheckSpec("image_size", "image size", "px", card_field="image_size"),
        CheckSpec("interpolation", "interpolation", "name", card_field="interpolation"),
    ),
    run=lambda c: check_preprocessing(c.card, c.resolved),
)
