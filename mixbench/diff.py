"""Comparing two sources of model figures, model by model and field by field.

Models match by name; a pretrained tag (``mixnet_xl.ra_in1k``) is dropped when the other side
has none. Figures are compared at the coarser side's rounding (a card's 7,330,000 params equal a
measured 7,329,252, since the card rounds to 10,000); accuracies may differ by ``tolerance``
percentage points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from mixbench.index.cards import CARD_FIELDS, ModelCard

FIELD_LABELS = {
    "params": "params",
    "flops": "FLOPs",
    "file_size": "file size",
    "image_size": "image size",
    "crop_pct": "crop pct",
    "interpolation": "interpolation",
}


@dataclass(frozen=True)
class FieldComparison:
    model_a: str
    model_b: str
    field: str
    a: float | int | str
    b: float | int | str
    delta: float | None
    agree: bool
    tolerance: float = 0.0
    resolution: float | None = None


@dataclass
class DiffReport:
    label_a: str
    label_b: str
    tolerance: float
    pairs: list[tuple[str, str]] = field(default_factory=list)
    comparisons: list[FieldComparison] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[FieldComparison]:
        return [c for c in self.comparisons if not c.agree]

    @property
    def ok(self) -> bool:
        """True when some fields were compared and all agree."""
        return bool(self.comparisons) and not self.differences

    def to_dict(self) -> dict[str, object]:
        return {
            "a": self.label_a,
            "b": self.label_b,
            "tolerance": self.tolerance,
            "ok": self.ok,
            "models_compared": [list(pair) for pair in self.pairs],
            "fields_compared": len(self.comparisons),
            "differences": [asdict(c) for c in self.differences],
            "comparisons": [asdict(c) for c in self.comparisons],
            "only_in_a": self.only_a,
            "only_in_b": self.only_b,
            "notes": self.notes,
        }


def _untagged(name: str) -> str:
    return name.split(".", 1)[0]


def match_models(
    a: Sequence[ModelCard], b: Sequence[ModelCard], notes: list[str]
) -> list[tuple[ModelCard, ModelCard]]:
    """Pairs of cards naming the same model; a side's tag is ignored when the other has none."""
    by_name: dict[str, list[ModelCard]] = defaultdict(list)
    by_untagged: dict[str, list[ModelCard]] = defaultdict(list)
    for card in b:
        by_name[card.name].append(card)
        by_untagged[_untagged(card.name)].append(card)
    a_names = {card.name for card in a}
    pairs: list[tuple[ModelCard, ModelCard]] = []
    for card in a:
        candidates = by_name.get(card.name, [])
        if not candidates and "." not in card.name:
            candidates = by_untagged.get(card.name, [])
            tags = sorted({c.name for c in candidates})
            if len(tags) > 1:
                listed = ", ".join(tags)
                notes.append(f"{card.name}: several tagged models match ({listed}); not compared")
                continue
        if not candidates and "." in card.name:
            untagged = _untagged(card.name)
            if untagged not in a_names:
                candidates = by_name.get(untagged, [])
        if not candidates:
            continue
        chosen = _same_resolution(card, candidates, notes)
        pairs.append((card, chosen))
    return pairs


def _same_resolution(card: ModelCard, candidates: list[ModelCard], notes: list[str]) -> ModelCard:
    """timm publishes some models at several image sizes: prefer the row at the card's size."""
    if len(candidates) == 1:
        return candidates[0]
    for candidate in candidates:
        if candidate.image_size == card.image_size:
            return candidate
    notes.append(f"{card.name}: no row at {card.image_size} px; compared with the first listed")
    return candidates[0]


def _rounded(value: float, resolution: float) -> Decimal:
    step = Decimal(repr(resolution))
    return (Decimal(repr(value)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def compare_values(
    a: float | int | str, b: float | int | str, *, resolution: float | None, tolerance: float
) -> tuple[bool, float | None]:
    """Whether two published figures agree, and the raw Δ = b − a for numbers."""
    if isinstance(a, str) or isinstance(b, str):
        return str(a).strip().lower() == str(b).strip().lower(), None
    delta = round(float(b) - float(a), 10)  # drop binary noise: 80.494 - 80.47 → 0.024
    if resolution:
        gap = abs(_rounded(float(b), resolution) - _rounded(float(a), resolution))
        return float(gap) <= tolerance + 1e-9, delta
    return abs(delta) <= tolerance + 1e-9, delta


def compare_cards(a: ModelCard, b: ModelCard, *, tolerance: float) -> list[FieldComparison]:
    found: list[FieldComparison] = []

    Value = float | int | str

    def add(field: str, x: Value, y: Value, res: float | None, tol: float) -> None:
        agree, delta = compare_values(x, y, resolution=res, tolerance=tol)
        found.append(FieldComparison(a.name, b.name, field, x, y, delta, agree, tol, res))

    for name in CARD_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            continue
        res = max(a.resolution.get(name, 0), b.resolution.get(name, 0)) or None
        add(FIELD_LABELS[name], x, y, res, 0.0)
    b_results = {r.dataset_key: r for r in b.results}
    for result in a.results:
        other = b_results.get(result.dataset_key)
        if other is None:
            continue
        for metric_name, metric in result.metrics.items():
            if metric_name not in other.metrics:
                continue
            peer = other.metrics[metric_name]
            res = max(metric.resolution or 0, peer.resolution or 0) or None
            tol = tolerance if metric.percent else 0.0
            label = f"{metric_name} ({result.dataset or other.dataset})"
            add(label, metric.value, peer.value, res, tol)
    return found


def diff_sources(
    a: Sequence[ModelCard],
    b: Sequence[ModelCard],
    *,
    tolerance: float = 0.0,
    label_a: str = "A",
    label_b: str = "B",
) -> DiffReport:
    """Compare two lists of cards; see the module docstring for the matching rules."""
    report = DiffReport(label_a, label_b, tolerance)
    pairs = match_models(a, b, report.notes)
    matched_a = {id(x) for x, _ in pairs}
    matched_b = {id(y) for _, y in pairs}
    for x, y in pairs:
        report.pairs.append((x.name, y.name))
        report.comparisons.extend(compare_cards(x, y, tolerance=tolerance))
    report.only_a = [c.name for c in a if id(c) not in matched_a]
    report.only_b = sorted({c.name for c in b if id(c) not in matched_b})
    return report


__all__ = ["DiffReport", "FieldComparison", "compare_values", "diff_sources"]
