"""The card's parameter count against the model's, to the card's rounding."""

from __future__ import annotations

from torch import nn

from mixbench.diff import compare_values
from mixbench.index import ModelCard
from mixbench.verify.check import Check
from mixbench.verify.checks.base import CheckGroup, CheckSpec


def check_params(card: ModelCard, model: nn.Module) -> Check:
    measured = sum(p.numel() for p in model.parameters())
    if card.params is None:
        return Check(
            "params",
            "parameters",
            "info",
            measured=measured,
            reason="the card publishes no parameter count",
        )
    resolution = card.resolution.get("params")
    agree, delta = compare_values(card.params, measured, resolution=resolution, tolerance=0)
    return Check(
        "params",
        "parameters",
        "pass" if agree else "fail",
        published=card.params,
        measured=measured,
        delta=delta,
        tolerance=f"card rounds to {resolution:,.0f}" if resolution else "exact",
    )


GROUP = CheckGroup(
    "params",
    order=10,
    specs=(CheckSpec("params", "params", "count", card_field="params"),),
    run=lambda c: [check_params(c.card, c.resolved.model)],
)
