"""Comparing two sources of model figures, model by model and field by field.

Models pair by name; a pretrained tag (``mixnet_xl.ra_in1k``) is dropped when the other side
has none; else by the weights file both name (URL or sha256 prefix), else by a line of a
``--match`` file (:mod:`mixbench.pairing`: each pair keeps the rule that made it). Figures are
compared at the coarser side's rounding (a card's 7,330,000 params equal a measured 7,329,252,
since the card rounds to 10,000); accuracies may differ by ``tolerance`` percentage points.

A diff never passes on what it could not compare: every field a matched model has on one side
only is listed (``one_sided``), summarised per field when the other side publishes that field
for none of the matched models (``one_sided_summary``); ``compared_nothing`` is true when no field
at all could be compared. The models of each side left unpaired are listed (``only_a``,
``only_b``), and when none pairs, the closest names are (``closest``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from mixbench.errors import InputError
from mixbench.index.cards import CARD_FIELDS, ModelCard
from mixbench.index.fields import FIELDS
from mixbench.options import flag
from mixbench.pairing import RULES, MatchLine, Pair, closest_pairs, match_models, read_match_file

FIELD_LABELS = {name: field.label for name, field in FIELDS.items()}
#: how ``diff`` shows its report: md is a Markdown table for CI comments
DIFF_FORMATS = ("table", "md", "json")


@dataclass(frozen=True)
class DiffOptions:
    """What ``diff`` is asked: each field's Flag is its command-line option and help."""

    tolerance: float = field(
        default=0.0,
        metadata=flag(
            "Allowed |Δ| in percentage points for accuracies.", minimum=0, show_default=True
        ),
    )
    format: str = field(
        default="table",
        metadata=flag(
            "md: a Markdown table for CI comments.", choices=DIFF_FORMATS, show_default=True
        ),
    )
    show_all: bool = field(default=False, metadata=flag("List agreeing fields too.", flag="--all"))
    dataset: str | None = field(
        default=None,
        metadata=flag(
            "The dataset a results CSV is on (imagenet, imagenet-real, ...); needed unless the "
            "file is named results-<dataset>.csv. For a paperswithcode archive: the leaderboard "
            "read (default: ImageNet).",
            metavar="NAME",
        ),
    )
    match_file: Path | None = field(
        default=None,
        metadata=flag(
            "Pairs of names the sources spell differently: a CSV of 'A name,B name' lines "
            "(MixNet-S,mixnet_s), used for models no other rule pairs.",
            flag="--match",
            kind=Path,
            metavar="FILE",
        ),
    )

    def __post_init__(self) -> None:
        # NaN makes every figure differ and infinity every accuracy agree: neither compares
        if not math.isfinite(self.tolerance) or self.tolerance < 0:
            raise InputError(
                f"--tolerance {self.tolerance}: not a tolerance",
                hint="give percentage points, a finite number ≥ 0 (e.g. --tolerance 0.1)",
            )


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


@dataclass(frozen=True)
class ModelPair:
    """Two models taken for the same one, and the rule that paired them (a key of
    :data:`~mixbench.pairing.RULES`), with its particulars (the match file's line, the hash)."""

    a: str
    b: str
    rule: str
    detail: str = ""

    @classmethod
    def of(cls, pair: Pair) -> ModelPair:
        return cls(pair.a.name, pair.b.name, pair.rule, pair.detail)


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
    paired: list[ModelPair] = field(default_factory=list)
    #: when no model pairs: the A and B names most alike (a hint), best first
    closest: list[tuple[str, str]] = field(default_factory=list)

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

    def pairing_lines(self, limit: int = 12) -> list[str]:
        """How the pairs were made, one line per rule: ``3 by --match: MixNet-S = mixnet_s
        (match.csv:1), ...``; nothing when every pair is by the same name (which needs no
        saying), and then the same-name pairs counted, not listed."""
        if all(pair.rule == "name" for pair in self.paired):
            return []
        lines = []
        for rule, said in RULES.items():
            pairs = [pair for pair in self.paired if pair.rule == rule]
            if rule == "name" and pairs:
                lines.append(f"{len(pairs)} by {said}")
            if rule == "name" or not pairs:
                continue
            shown = [
                f"{pair.a} = {pair.b}" + (f" ({pair.detail})" if pair.detail else "")
                for pair in pairs[:limit]
            ]
            more = f" and {len(pairs) - limit} more" if len(pairs) > limit else ""
            lines.append(f"{len(pairs)} by {said}: {', '.join(shown)}{more}")
        return lines

    def summary_lines(self) -> list[str]:
        """Under the table: the verdict, how models paired, what was not compared, then the
        models left unpaired on each side."""
        lines = []
        if self.pairs:
            verdict = (
                "nothing compared"  # never "0 differ": that would read as agreement
                if self.compared_nothing
                else f"{len(self.comparisons)} fields compared, {len(self.differences)} differ"
                + (f" (tolerance ±{self.tolerance:g} points)" if self.tolerance else "")
            )
            not_compared = self.not_compared()
            lines.append(
                f"{len(self.pairs)} models matched, {verdict}"
                + (f"; {len(self.one_sided)} not compared:" if not_compared else "")
            )
            lines += [f"  paired {line}" for line in self.pairing_lines()]
            lines += [f"  one side only: {line}" for line in not_compared]
        for names, label in ((self.only_a, self.label_a), (self.only_b, self.label_b)):
            if names:
                lines.append(f"{len(names)} models only in {label}: {_listed(names)}")
        return lines

    def raise_if_nothing_compared(self) -> None:
        """Bad input when no model paired, or the pairs share no field: never "0 differ"."""
        if not self.pairs:
            rules = (
                "models match by name (a timm tag such as .ra_in1k is dropped when the other "
                "side has none), by the weights file both name, or by a --match FILE of "
                "'A name,B name' lines"
            )
            if self.closest:
                close = ", ".join(f"{x!r} ~ {y!r}" for x, y in self.closest)
                hint = f"{rules}; the closest names: {close}"
            else:
                from mixbench.index.published import NAMED_SOURCES

                hint = f"{rules}; no names are alike; named sources: {', '.join(NAMED_SOURCES)}"
            raise InputError(
                f"nothing to compare: no model is in both {self.label_a} and {self.label_b}",
                hint=hint,
            )
        if self.compared_nothing:
            raise InputError(
                f"nothing to compare: the {len(self.pairs)} models in both {self.label_a} and "
                f"{self.label_b} share no field",
                hint="the fields each side has are listed above; for a results CSV, check "
                "--dataset",
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "a": self.label_a,
            "b": self.label_b,
            "tolerance": self.tolerance,
            "ok": self.ok,
            "compared_nothing": self.compared_nothing,
            "models_compared": [list(pair) for pair in self.pairs],
            "pairs": [asdict(pair) for pair in self.paired],
            "fields_compared": len(self.comparisons),
            "fields_not_compared": len(self.one_sided),
            "differences": [asdict(c) for c in self.differences],
            "comparisons": [asdict(c) for c in self.comparisons],
            "not_compared": [asdict(f) for f in self.one_sided],
            "not_compared_summary": [asdict(s) for s in self.one_sided_summary],
            "only_in_a": self.only_a,
            "only_in_b": self.only_b,
            "closest_names": [list(pair) for pair in self.closest],
            "notes": self.notes,
            "warnings": self.warnings,
        }


#: unpaired names listed on the console before "and N more" (--json lists them all)
UNPAIRED_SHOWN = 20


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:UNPAIRED_SHOWN])
    if len(names) <= UNPAIRED_SHOWN:
        return shown
    return f"{shown} and {len(names) - UNPAIRED_SHOWN} more (--json lists them)"


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
    match_lines: Sequence[MatchLine] = (),
) -> DiffReport:
    """Compare two lists of cards; see :mod:`mixbench.pairing` for the pairing rules
    (``match_lines``: the ``--match`` file's).

    ``notes`` (e.g. how a source was read) head the report's own notes; the cards' notes and
    warnings (misspelled keys) are carried into the report too, and so are match lines that
    pair nothing.
    """
    report = DiffReport(label_a, label_b, tolerance, notes=list(notes))
    report.notes.extend(dict.fromkeys(note for card in (*a, *b) for note in card.notes))
    report.warnings = list(dict.fromkeys(str(w) for card in (*a, *b) for w in card.warnings))
    found = match_models(
        a, b, report.notes, lines=match_lines, warnings=report.warnings,
        label_a=label_a, label_b=label_b,
    )  # fmt: skip
    pairs = [(pair.a, pair.b) for pair in found]
    report.paired = [ModelPair.of(pair) for pair in found]
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
    if not pairs:
        report.closest = closest_pairs(report.only_a, report.only_b)
    return report


def diff_named_sources(
    source_a: str | Path,
    source_b: str | Path,
    options: DiffOptions | None = None,
    *,
    index_path: str | Path | None = None,
) -> DiffReport:
    """``mixbench diff A B``: read both sources as the command line names them
    (:func:`mixbench.index.published.load_sources`) and the ``--match`` file, and compare."""
    from mixbench.index.published import load_sources

    options = options or DiffOptions()
    match_lines = read_match_file(options.match_file) if options.match_file is not None else []
    a, b = load_sources(source_a, source_b, index_path=index_path, dataset=options.dataset)
    return diff_sources(
        a.cards,
        b.cards,
        tolerance=options.tolerance,
        label_a=a.label,
        label_b=b.label,
        notes=[*a.notes, *b.notes],
        match_lines=match_lines,
    )


def _dataset_shown(label: str) -> str:
    """``top1 (ImageNet-ReaL)`` → ``ImageNet-ReaL``."""
    return label.partition(" (")[2].removesuffix(")")


def _pair_name(a: ModelCard, b: ModelCard) -> str:
    return a.name if a.name == b.name else f"{a.name} ({b.name})"


__all__ = [
    "DiffOptions",
    "DiffReport",
    "FieldComparison",
    "ModelPair",
    "OneSidedField",
    "OneSidedSummary",
    "compare_values",
    "diff_named_sources",
    "diff_sources",
    "match_models",
    "one_sided_fields",
]
