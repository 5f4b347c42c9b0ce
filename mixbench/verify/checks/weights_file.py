"""The weights file at hand against the card's: its size, and the torch.hub sha256 prefix
of the card's weights URL."""

from __future__ import annotations

from typing import Any

from mixbench.diff import compare_values
from mixbench.index import ModelCard
from mixbench.verify.check import Check
from mixbench.verify.checks.base import CheckGroup, CheckSpec
from mixbench.verify.weights import WeightsAtHand, card_weights_file


def check_weights_file(card: ModelCard, weights: WeightsAtHand) -> list[Check]:
    """File size and the torch.hub hash prefix of the card's weights URL."""
    return [check_file_size(card, weights), check_weights_hash(card, weights)]


def check_file_size(card: ModelCard, weights: WeightsAtHand) -> Check:
    name, label = "file_size", "weights file size"
    if card.file_size is None:
        return Check(name, label, "skipped", reason="the card publishes no file size")
    path = weights.path
    if path is None:
        return Check(
            name,
            label,
            "skipped",
            published=card.file_size,
            reason="no weights file: pass --weights FILE or --pretrained",
        )
    measured = path.stat().st_size
    published_file, _prefix = card_weights_file(card)
    resolution = card.resolution.get("file_size")
    agree, delta = compare_values(card.file_size, measured, resolution=resolution, tolerance=0)
    if weights.is_cards_file(card) is False:
        return Check(
            name,
            label,
            "info",
            published=card.file_size,
            measured=measured,
            delta=delta,
            reason=f"the card's size is of {published_file}; the file at hand is {path.name}"
            + (", another file (its sha256 differs)" if _prefix else ""),
        )
    return Check(
        name,
        label,
        "pass" if agree else "fail",
        published=card.file_size,
        measured=measured,
        delta=delta,
        tolerance=f"card rounds to {resolution:,.0f} bytes" if resolution else "exact",
    )


def check_weights_hash(card: ModelCard, weights: WeightsAtHand) -> Check:
    """The card's ``name-<hash>.pth`` against the first hex digits of the file's sha256."""
    name, label = "weights_hash", "weights sha256 prefix"
    published_file, prefix = card_weights_file(card)
    if prefix is None:
        why = (
            "the card publishes no weights URL"
            if published_file is None
            else f"the card's weights file {published_file} carries no hash prefix"
        )
        return Check(name, label, "skipped", reason=why)
    if weights.path is None or weights.sha256 is None:
        return Check(
            name,
            label,
            "skipped",
            published=prefix,
            reason="no weights file: pass --weights FILE or --pretrained",
        )
    measured = weights.sha256[: len(prefix)]
    details = {"file": str(weights.path), "sha256": weights.sha256, "card_file": published_file}
    if measured == prefix:
        return Check(
            name,
            label,
            "pass",
            published=prefix,
            measured=measured,
            tolerance="exact",
            reason=f"{weights.path.name} is the card's {published_file}",
            details=details,
        )
    if weights.path.name == published_file:
        return Check(
            name,
            label,
            "fail",
            published=prefix,
            measured=measured,
            tolerance="exact",
            reason=f"{weights.path.name} has the card's name but not its content "
            f"(sha256 {weights.sha256[:16]}…)",
            details=details,
        )
    return Check(
        name,
        label,
        "info",
        published=prefix,
        measured=measured,
        tolerance="exact",
        reason=f"the file at hand ({weights.path.name}) is not the card's {published_file}; "
        "pass that file as --weights to check it",
        details=details,
    )


def _of_file(check: Check, _settings: dict[str, Any]) -> dict[str, Any]:
    return {"file": check.details["file"]} if "file" in check.details else {}


GROUP = CheckGroup(
    "weights file",
    order=30,
    specs=(
        CheckSpec("file_size", "file size", "bytes", card_field="file_size", conditions=_of_file),
        CheckSpec("weights_hash", "weights hash", "sha256 prefix", conditions=_of_file),
    ),
    run=lambda c: check_weights_file(c.card, c.weights),
)
