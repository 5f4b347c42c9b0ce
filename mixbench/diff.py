"""Comparing two sources of model figures, model by model and field by field.

Models match by name; a pretrained tag (``mixnet_xl.ra_in1k``) is dropped when the other side
has none. Figures are compared at the coarser side's rounding (a card's 7,330,000 params equal a
measured 7,329,252, since the card rounds to 10,000); accuracies may differ by ``tolerance``
percentage points.

A diff never passes on what it could not compare: every field a matched model has on one side
only is listed (``one_sided``), summarised per field when the other side publishes that field
for none of the matched models (``one_sided_summary``); ``compared_nothing`` is true when no field
at all could be compared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from mixbench.index.cards import CARD_FIELDS, ModelCard
from mixbench.index.fields import FIELDS

FIELD_LABELS = {name: field.label for name, field in FIELDS.items()}


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


@dataclass(frozen=True)
class OneSidedField:
    """A field one model of a matched pair publishes and the other does not: not compared.

    ``key`` identifies the field across models (``params``, ``top1@imagenet``); ``side`` is
    ``"a"`` or ``"b"``, the side that has it; ``reason`` says so in words, with the labels.
    """

    model_a: str
    model_b: str
    field: str
    key: str
    side: str
    reason: str

    def __str__(self) -> str:
        model = self.model_a if self.model_a == self.model_b else f"{self.model_a} ({self.model_b})"
        return f"{model}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class OneSidedSummary:
    """A field only one side has, for every matched model that has it: said once, not per model."""

    field: str
    key: str
    side: str
    models: int
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


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
    one_sided: list[OneSidedField] = field(default_factory=list)
    one_sided_summary: list[OneSidedSummary] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[FieldComparison]:
        return [c for c in self.comparisons if not c.agree]

    @property
    def compared_nothing(self) -> bool:
        """No field was compared: no model matched, or the matched ones share no field."""
        return not self.comparisons

    @property
    def ok(self) -> bool:
        """True when some fields were compared and all agree."""
        return bool(self.comparisons) and not self.differences

    def not_compared(self) -> list[str]:
        """What was not compared, one line each: per-field summaries, then per-model fields."""
        summarised = {(s.key, s.side) for s in self.one_sided_summary}
        listed = [f for f in self.one_sided if (f.key, f.side) not in summarised]
        return [*map(str, self.one_sided_summary), *map(str, listed)]

    def to_dict(self) -> dict[str, object]:
        return {
            "a": self.label_a,
            "b": self.label_b,
            "tolerance": self.tolerance,
            "ok": self.ok,
            "compared_nothing": self.compared_nothing,
            "models_compared": [list(pair) for pair in self.pairs],
            "fields_compared": len(self.comparisons),
            "fields_not_compared": len(self.one_sided),
            "differences": [asdict(c) for c in self.differences],
            "comparisons": [asdict(c) for c in self.comparisons],
            "not_compared": [asdict(f) for f in self.one_sided],
            "not_compared_summary": [asdict(s) for s in self.one_sided_summary],
            "only_in_a": self.only_a,
            "only_in_b": self.only_b,
            "notes": self.notes,
            "warnings": self.warnings,
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
        x, y = a.figure(name), b.figure(name)
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


def published_fields(card: ModelCard) -> dict[str, str]:
    """Field key → label of everything ``card`` publishes that a diff can compare."""
    found = {name: FIELD_LABELS[name] for name in CARD_FIELDS if card.figure(name) is not None}
    for result in card.results:
        for metric_name in result.metrics:
            key = f"{metric_name}@{result.dataset_key}"
            found.setdefault(key, f"{metric_name} ({result.dataset or result.dataset_type})")
    return found


def _datasets(card: ModelCard) -> dict[str, str]:
    return {r.dataset_key: r.dataset or r.dataset_type or "" for r in card.results}


def one_sided_fields(
    a: ModelCard, b: ModelCard, *, label_a: str = "A", label_b: str = "B"
) -> list[OneSidedField]:
    """Every field only one of ``a`` and ``b`` publishes, with the reason it was not compared."""
    fields_a, fields_b = published_fields(a), published_fields(b)
    datasets = {"a": _datasets(a), "b": _datasets(b)}
    labels = {"a": label_a, "b": label_b}
    found: list[OneSidedField] = []
    for side, own, other in (("a", fields_a, fields_b), ("b", fields_b, fields_a)):
        other_side = "b" if side == "a" else "a"
        for key, label in own.items():
            if key in other:
                continue
            reason = f"only in {labels[side]}"
            dataset = key.partition("@")[2]
            if dataset and dataset not in datasets[other_side]:
                shown = datasets[side][dataset]
                reason += f": {labels[other_side]} has no results on {shown}"
            found.append(OneSidedField(a.name, b.name, label, key, side, reason))
    return found


def summarise_one_sided(
    one_sided: Sequence[OneSidedField],
    pairs: Sequence[tuple[ModelCard, ModelCard]],
    *,
    label_a: str = "A",
    label_b: str = "B",
) -> list[OneSidedSummary]:
    """One line per field the other side publishes for none of the matched models."""
    labels = {"a": label_a, "b": label_b}
    published = {
        "a": {key for x, _ in pairs for key in published_fields(x)},
        "b": {key for _, y in pairs for key in published_fields(y)},
    }
    datasets = {
        "a": {dataset for x, _ in pairs for dataset in _datasets(x)},
        "b": {dataset for _, y in pairs for dataset in _datasets(y)},
    }
    groups: dict[tuple[str, str], list[OneSidedField]] = defaultdict(list)
    for item in one_sided:
        groups[(item.key, item.side)].append(item)
    summaries: list[OneSidedSummary] = []
    for (key, side), items in groups.items():
        other_side = "b" if side == "a" else "a"
        if key in published[other_side]:
            continue  # the other side has it for some models: list each model that lacks it
        count = len(items)
        models = f"{count} matched model{'s' if count > 1 else ''}"
        dataset = key.partition("@")[2]
        lacks = "has it for none of them"
        if dataset and dataset not in datasets[other_side]:
            lacks = f"has no results on {_dataset_shown(items[0].field)} for any of them"
        reason = f"only in {labels[side]} ({models}); {labels[other_side]} {lacks}"
        summaries.append(OneSidedSummary(items[0].field, key, side, count, reason))
    return summaries


def diff_sources(
    a: Sequence[ModelCard],
    b: Sequence[ModelCard],
    *,
    tolerance: float = 0.0,
    label_a: str = "A",
    label_b: str = "B",
    notes: Sequence[str] = (),
) -> DiffReport:
    """Compare two lists of cards; see the module docstring for the matching rules.

    ``notes`` (e.g. how a source was read) head the report's own notes; the cards' notes and
    warnings (misspelled keys) are carried into the report too.
    """
    report = DiffReport(label_a, label_b, tolerance, notes=list(notes))
    report.notes.extend(dict.fromkeys(note for card in (*a, *b) for note in card.notes))
    report.warnings = list(dict.fromkeys(str(w) for card in (*a, *b) for w in card.warnings))
    pairs = match_models(a, b, report.notes)
    matched_a = {id(x) for x, _ in pairs}
    matched_b = {id(y) for _, y in pairs}
    for x, y in pairs:
        report.pairs.append((x.name, y.name))
        compared = compare_cards(x, y, tolerance=tolerance)
        report.comparisons.extend(compared)
        report.one_sided.extend(one_sided_fields(x, y, label_a=label_a, label_b=label_b))
        if not compared:
            report.notes.append(f"{_pair_name(x, y)}: matched, but no field in common")
    report.one_sided_summary = summarise_one_sided(
        report.one_sided, pairs, label_a=label_a, label_b=label_b
    )
    report.only_a = [c.name for c in a if id(c) not in matched_a]
    report.only_b = sorted({c.name for c in b if id(c) not in matched_b})
    return report


def _dataset_shown(label: str) -> str:
    """``top1 (ImageNet-ReaL)`` → ``ImageNet-ReaL``."""
    return label.partition(" (")[2].removesuffix(")")


def _pair_name(a: ModelCard, b: ModelCard) -> str:
    return a.name if a.name == b.name else f"{a.name} ({b.name})"


__all__ = [
    "DiffReport",
    "FieldComparison",
    "OneSidedField",
    "OneSidedSummary",
    "compare_values",
    "diff_sources",
    "one_sided_fields",
]
