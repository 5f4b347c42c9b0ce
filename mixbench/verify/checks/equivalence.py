"""Native and timm on the same weights give the same outputs on the same images."""

from __future__ import annotations

import torch
from torch import nn

from mixbench.index import ModelCard
from mixbench.models.seeded import RANDOM_SEED, seeded_weights
from mixbench.resolve import ResolvedModel
from mixbench.verify.check import Check, Status
from mixbench.verify.checks.base import CheckGroup, CheckSpec
from mixbench.verify.options import VerifyOptions

#: Native and timm outputs on the same weights agree to this max relative difference (fp32).
EQUIVALENCE_RTOL = 1e-4
#: Random images the native = timm check compares on.
EQUIVALENCE_IMAGES = 8
#: Below this spread of the logits across those images (relative to their size) the outputs
#: barely follow the input, and agreement proves nothing: inconclusive, never pass.
EQUIVALENCE_MIN_SPREAD = 1e-3


def check_equivalence(card: ModelCard, resolved: ResolvedModel, options: VerifyOptions) -> Check:
    """Native and timm on the same weights give the same outputs on the same images."""
    import timm

    name, label = "native_vs_timm", "native = timm outputs"
    native_to_timm = resolved.family.native_to_timm
    if native_to_timm is None:
        return Check(name, label, "skipped", reason=no_native_reason(resolved))
    if card.name not in timm.list_models():
        return Check(name, label, "skipped", reason=f"timm has no model named {card.name}")
    native = resolved.model
    random_weights = not resolved.has_weights
    size = card.image_size or resolved.preprocessing.image_size
    if random_weights:  # drawn so the logits follow the input, or the check proves little
        native = seeded_weights(native, size, RANDOM_SEED)
    reference = timm.create_model(card.name, pretrained=False, num_classes=_classes(native))
    reference.load_state_dict(native_to_timm(native.state_dict(), native))
    reference.eval()
    count = EQUIVALENCE_IMAGES
    images = torch.randn(count, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = native.eval()(images), reference(images)
    difference = float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-12))
    top1_differs = int((ours.argmax(1) != theirs.argmax(1)).sum())
    # how much the outputs follow the input: if they hardly do, a wrong layer would not show
    spread = float((theirs - theirs.mean(0)).abs().max() / theirs.abs().max().clamp_min(1e-12))
    agree = difference <= EQUIVALENCE_RTOL and top1_differs == 0
    weights = "random weights (seeded)" if random_weights else "the given weights"
    status: Status = "pass" if agree else "fail"
    sensitivity = ""
    if agree and spread < EQUIVALENCE_MIN_SPREAD:
        status = "inconclusive"
        sensitivity = (
            f"; the outputs hardly depend on the input (spread {spread:.1e}), so a mismatch "
            "would not show"
        )
    return Check(
        name,
        label,
        status,
        published="timm " + timm.__version__,
        measured=difference,
        tolerance=f"max relative difference ≤ {EQUIVALENCE_RTOL:g}, same top-1",
        reason=f"{top1_differs} of {count} images' top-1 differ; {count} random {size}×{size} "
        f"images, {weights}, float32 on CPU{sensitivity}",
        details={
            "images": count,
            "top1_differs": top1_differs,
            "max_relative": difference,
            "output_spread": spread,
        },
    )


def no_native_reason(resolved: ResolvedModel) -> str:
    """Why a family without a timm key mapping has nothing to compare with timm."""
    if resolved.family.no_native_reason is not None:
        return resolved.family.no_native_reason
    return f"model family {resolved.family.name!r} has no native implementation to compare"


def _classes(model: nn.Module) -> int:
    return int(model.eval_config.num_classes)  # type: ignore[union-attr]


GROUP = CheckGroup(
    "native vs timm",
    order=50,
    specs=(CheckSpec("native_vs_timm", "native = timm", "max relative difference"),),
    run=lambda c: [check_equivalence(c.card, c.resolved, c.options)],
    # a forward pass of the native model, where its family maps to timm's keys
    needs_real_model=lambda _options, family: family.native_to_timm is not None,
)
