"""The card's FLOPs, explained to the integer under a named counting convention."""

from __future__ import annotations

from typing import Any

from mixbench.index import ModelCard
from mixbench.resolve import ResolvedModel
from mixbench.verify.check import Check
from mixbench.verify.checks.base import CheckGroup, CheckSpec


def check_flops(card: ModelCard, resolved: ResolvedModel) -> Check:
    """The card's FLOPs against every named counting convention, integer for integer.

    pass: reproduced at the card's image size; fail: reproduced only at another input (the
    card misstates the cost at its resolution); info: nothing reproduces it, or no figure.
    ``measured`` is the count at the card's size in the convention that explains the card
    (fvcore FLOPs = 2 × MACs when none does); ``details`` holds the whole finding.
    """
    from mixbench.measure.complexity import CountingFailed, explain_flops

    size = card.image_size or resolved.preprocessing.image_size
    try:
        finding = explain_flops(resolved.model, card.name, image_size=size, published=card.flops)
    except CountingFailed as error:  # e.g. a card whose size the model cannot take
        return Check("flops", "FLOPs", "skipped", published=card.flops, reason=error.message)
    published = card.flops
    return Check(
        "flops",
        "FLOPs",
        finding.verdict.status,
        published=published,
        measured=finding.measured,
        delta=None if published is None else finding.measured - published,
        tolerance=None if published is None else "exact, under a named counting convention",
        reason=finding.verdict.reason,
        details=finding.to_dict(),
    )


def _counted_under(check: Check, _settings: dict[str, Any]) -> dict[str, Any]:
    details = check.details
    if "measured_convention" not in details:
        return {}
    size = details.get("image_size")
    return {"convention": details["measured_convention"], "input": f"{size}x{size}"}


GROUP = CheckGroup(
    "flops",
    order=20,
    specs=(CheckSpec("flops", "flops", "MACs", card_field="flops", conditions=_counted_under),),
    run=lambda c: [check_flops(c.card, c.resolved)],
)
