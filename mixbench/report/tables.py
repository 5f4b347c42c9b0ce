"""One table spec per result, rendered twice: by rich for people at a terminal (the CLI) and as
Markdown for reports (the Jinja templates). A result's columns, cell text and verdict marks are
decided here once, so the console and the Markdown never drift apart.

>>> columns = (Column("check"), Column("measured", FIGURE))
>>> spec = TableSpec("t", columns, [Row(["params", "4,134,606"])])
>>> spec.markdown().splitlines()[1]
'|---|---:|'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mixbench.formatting import fmt_bytes, fmt_delta, fmt_percent, fmt_value
from mixbench.report import escape_markdown

if TYPE_CHECKING:
    from mixbench.diff import DiffReport, FieldComparison
    from mixbench.verify import Check, VerifyReport

ColumnKind = Literal["text", "figure", "name"]
FIGURE: ColumnKind = "figure"  # right-aligned numbers: never wrapped, never cut
NAME: ColumnKind = "name"  # identifiers: whole, never wrapped
TEXT: ColumnKind = "text"  # words: wrap when the terminal is narrow

#: Decimals a check's figure is shown with, where the default would mislead (images/s).
CHECK_DECIMALS = {"throughput": 1, "latency": 3}


@dataclass(frozen=True)
class Column:
    header: str
    kind: ColumnKind = TEXT
    #: dropped in a narrow terminal, lowest first (0: always kept)
    drop_order: int = 0


@dataclass(frozen=True)
class Row:
    cells: list[str]
    status: str | None = None  # a verdict to colour (console) or embolden (Markdown)
    #: the index of the cell that shows the status, if any
    status_cell: int | None = None


@dataclass
class TableSpec:
    title: str
    columns: tuple[Column, ...]
    rows: list[Row] = field(default_factory=list)
    #: a list of label/value pairs reads better without a header row (on the console)
    show_header: bool = True

    def droppable(self) -> list[str]:
        """Headers that may go when the terminal is too narrow, in the order they go."""
        ranked = sorted((c for c in self.columns if c.drop_order), key=lambda c: c.drop_order)
        return [c.header for c in ranked]

    def markdown(self) -> str:
        """A GitHub Markdown table; every cell escaped, a failed verdict in bold."""
        header = "| " + " | ".join(escape_markdown(c.header) for c in self.columns) + " |"
        rule = "|" + "|".join("---:" if c.kind == FIGURE else "---" for c in self.columns) + "|"
        lines = [header, rule]
        for row in self.rows:
            cells = [escape_markdown(cell) for cell in row.cells]
            if row.status == "fail" and row.status_cell is not None:
                cells[row.status_cell] = f"**{cells[row.status_cell]}**"
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


# ------------------------------------------------------------------------ cell text


def fmt_figure(value: object, name: str = "") -> str:
    """A published or measured figure: ``fmt_value``, but tiny floats stay readable
    (``1.2e-06``, not ``0``), NaN or infinity print instead of raising, and speed figures
    keep the decimals the speed tables use."""
    if isinstance(value, float):
        if name in CHECK_DECIMALS and math.isfinite(value):
            return f"{value:.{CHECK_DECIMALS[name]}f}"
        if not math.isfinite(value):
            return str(value)
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.3g}"
    return fmt_value(value)


def fmt_check_delta(delta: object) -> str:
    if delta is None:
        return ""
    if isinstance(delta, bool) or not isinstance(delta, int | float):
        return str(delta)  # a hand-edited store: show it rather than fail the whole report
    return fmt_delta(delta) if math.isfinite(delta) else str(delta)


# ------------------------------------------------------------------------ the results


def checks_table(title: str, checks: Sequence[Check], *, with_notes: bool = True) -> TableSpec:
    """``mixbench verify``'s table: one row per check."""
    columns = [
        Column("check"),
        Column("published", FIGURE),
        Column("measured", FIGURE),
        Column("Δ", FIGURE),
        Column("tolerance", drop_order=1),
        Column("verdict", NAME),
    ]
    if with_notes:
        columns.append(Column("note"))
    rows = []
    for check in checks:
        cells = [
            check.label,
            fmt_figure(check.published, check.name),
            fmt_figure(check.measured, check.name),
            fmt_check_delta(check.delta),
            check.tolerance or "",
            check.status,
        ]
        if with_notes:
            cells.append(check.reason or "")
        rows.append(Row(cells, status=check.status, status_cell=5))
    return TableSpec(title, tuple(columns), rows)


#: The checks the summary table folds into its one preprocessing cell, in its order.
PREPROCESSING_CHECKS = ("crop_pct", "image_size", "interpolation")
#: Checks that have their own column in the summary table (others show in its note if failed).
SUMMARY_COLUMNS = ("params", "flops", *PREPROCESSING_CHECKS)


def verify_summary_table(reports: Sequence[VerifyReport]) -> TableSpec:
    """``mixbench verify all`` over many models: one row per model, the card's figures as
    verdicts (params, FLOPs with the convention and input reproducing them, preprocessing)."""
    columns = (
        Column("model", NAME),
        Column("params"),
        Column("FLOPs"),
        Column("preprocessing"),
        Column("verdict", NAME),
        Column("ran", FIGURE),
        Column("note", drop_order=1),
    )
    rows = []
    for report in reports:
        found = {check.name: check for check in report.checks}
        coverage = report.coverage()
        cells = [
            report.model,
            params_cell(found.get("params")),
            flops_cell(found.get("flops")),
            preprocessing_cell([found[name] for name in PREPROCESSING_CHECKS if name in found]),
            report.verdict,
            f"{coverage['ran']} of {coverage['total']}",
            summary_note(report),
        ]
        # a model that was not built is no pass: coloured as skipped, not green
        status = "skipped" if report.verdict == "NOT BUILT" else report.status
        rows.append(Row(cells, status=status, status_cell=4))
    from mixbench.verify.report import models_tally

    return TableSpec(f"{len(reports)} models: {models_tally(reports)}", columns, rows)


def params_cell(check: Check | None) -> str:
    """``pass``, or the verdict with how far the count is off the card's."""
    if check is None:
        return "—"
    if check.status == "fail" and check.delta is not None:
        return f"fail (Δ {fmt_check_delta(check.delta)})"
    return check.status


def flops_cell(check: Check | None) -> str:
    """The verdict and what reproduced the card's figure: ``pass: thop-2021 MACs @224×224``."""
    if check is None:
        return "—"
    details = check.details
    label = details.get("convention_label") or details.get("convention")
    height, width = details.get("input_height"), details.get("input_width")
    if label and height and width:
        return f"{check.status}: {label} @{height}×{width}"
    if check.status == "info":
        return "info: no figure" if check.published is None else "info: nothing reproduces it"
    return check.status


def preprocessing_cell(checks: Sequence[Check]) -> str:
    """Crop, size and interpolation in one cell: ``pass``, or what failed (card ≠ model)."""
    if not checks:
        return "—"
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        return "fail: " + ", ".join(
            f"{c.label} {fmt_figure(c.published)}≠{fmt_figure(c.measured)}" for c in failed
        )
    passed = [c for c in checks if c.status == "pass"]
    if len(passed) == len(checks):
        return "pass"
    if not passed:
        return "/".join(dict.fromkeys(c.status for c in checks))
    others = ", ".join(f"{c.label} {c.status}" for c in checks if c.status != "pass")
    return f"pass ({others})"


def summary_note(report: VerifyReport) -> str:
    """Why a model was not built, else the failed checks the table has no column for."""
    if report.not_built is not None:
        return report.not_built
    failed = [
        check.label
        for check in report.checks
        if check.status == "fail" and check.name not in SUMMARY_COLUMNS
    ]
    return f"also failed: {', '.join(failed)}" if failed else ""


def diff_table(report: DiffReport, rows: Sequence[FieldComparison]) -> TableSpec:
    """``mixbench diff``'s table: one row per compared field of a model in both sources."""
    columns = (
        Column("model"),
        Column("field"),
        Column(report.label_a, FIGURE),
        Column(report.label_b, FIGURE),
        Column("Δ", FIGURE),
        Column("verdict", NAME),
    )
    found = []
    for row in rows:
        model = row.model_a if row.model_a == row.model_b else f"{row.model_a} ({row.model_b})"
        cells = [model, row.field, fmt_value(row.a), fmt_value(row.b), fmt_delta(row.delta)]
        cells.append("agrees" if row.agree else "differs")
        found.append(Row(cells, status="pass" if row.agree else "fail", status_cell=5))
    return TableSpec(f"{report.label_a} vs {report.label_b}", columns, found)


# ------------------------------------------------------------------------ speed


@dataclass(frozen=True)
class SpeedColumn:
    """One column of a speed table: its header, kind and drop order, and the cell text of a
    row (``cell(row, report)``). A new column is one entry in :data:`THROUGHPUT_COLUMNS` or
    :data:`LATENCY_COLUMNS`."""

    header: str
    cell: Callable[[Any, Any], str]
    kind: ColumnKind = FIGURE
    drop_order: int = 0

    @property
    def column(self) -> Column:
        return Column(self.header, self.kind, self.drop_order)


def _rank_cell(row: Any, report: Any) -> str:
    rank = report.rank_of(row)
    return "—" if rank is None else str(rank)


def _runtime_cell(row: Any, _report: Any) -> str:
    """``ONNX Runtime CPU``, ``OpenVINO CPU``, ``PyTorch eager``: the runtime and where."""
    from mixbench.runtimes import runtime_named

    label = runtime_named(row.runtime).label
    provider = row.provider or ""
    short = provider.removesuffix("ExecutionProvider").replace("Tensorrt", "TensorRT")
    return f"{label} {short}".strip()


def _outputs_cell(row: Any, _report: Any) -> str:
    """``agree 1.2e-02, top-1 16/16``, or ``DIFFER ... > bound``: a row is never ranked then."""
    check = row.check
    if check is None:
        return "—"
    if check.agree:
        return f"agree {check.max_relative:.1e}, top-1 {check.top1_same}/{check.images}"
    return (
        f"DIFFER {check.max_relative:.1e} > {check.tolerance:.0e}, "
        f"top-1 {check.top1_same}/{check.images}"
    )


def _speedup_cell(row: Any, report: Any) -> str:
    if row.outputs_agree is False:
        return "not ranked"
    ratios = [
        r
        for r in report.ratios()
        if (r.model, r.implementation, r.precision)
        == (row.model, row.implementation, row.precision.name)
    ]
    return ", ".join(f"{r.ratio:.2f}× {r.baseline}" for r in ratios) or "—"


def _metric(key: str, text: Callable[[Any], str]) -> Callable[[Any, Any], str]:
    def cell(row: Any, report: Any) -> str:
        return text(row.metrics(report.peak_bandwidth)[key])

    return cell


def _fraction(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _common_head() -> list[SpeedColumn]:
    return [
        SpeedColumn("rank", _rank_cell),
        SpeedColumn("model", lambda row, _r: row.model, NAME),
        SpeedColumn("impl", lambda row, _r: row.implementation, NAME),
        SpeedColumn("runtime", _runtime_cell, TEXT, drop_order=5),
        SpeedColumn("precision", lambda row, _r: row.precision.label, NAME),
        SpeedColumn("layout", lambda row, _r: row.layout, NAME, drop_order=2),
    ]


def _common_tail() -> list[SpeedColumn]:
    return [
        SpeedColumn("outputs vs eager fp32", _outputs_cell, TEXT, drop_order=6),
        SpeedColumn("speed-up", _speedup_cell, TEXT),
    ]


THROUGHPUT_COLUMNS: tuple[SpeedColumn, ...] = (
    *_common_head(),
    SpeedColumn("img/s", _metric("images_per_second", lambda v: f"{v:.1f}")),
    SpeedColumn(
        "min–max",
        lambda row, report: (
            f"{row.metrics(report.peak_bandwidth)['images_per_second_min']:.1f}–"
            f"{row.metrics(report.peak_bandwidth)['images_per_second_max']:.1f}"
        ),
        drop_order=1,
    ),
    SpeedColumn("ms/batch", _metric("ms_per_batch", lambda v: f"{v:.2f}"), drop_order=7),
    SpeedColumn("peak mem", _metric("peak_memory_bytes", fmt_bytes), drop_order=8),
    SpeedColumn("traffic/img", _metric("bytes_per_image", fmt_bytes), drop_order=4),
    SpeedColumn("% bw", _metric("bandwidth_fraction", _fraction), drop_order=3),
    *_common_tail(),
)

LATENCY_COLUMNS: tuple[SpeedColumn, ...] = (
    *_common_head(),
    SpeedColumn("p50 ms", lambda row, _r: f"{row.stats.p50:.3f}"),
    SpeedColumn("p90 ms", lambda row, _r: f"{row.stats.p90:.3f}", drop_order=3),
    SpeedColumn("p99 ms", lambda row, _r: f"{row.stats.p99:.3f}", drop_order=4),
    SpeedColumn("mean ms", lambda row, _r: f"{row.stats.mean:.3f}", drop_order=1),
    SpeedColumn("calls", lambda row, _r: str(len(row.stats.samples_ms)), drop_order=7),
    *_common_tail(),
)


def speed_table(report: Any) -> TableSpec:
    """``throughput`` or ``latency``: one row per implementation and precision, ranked within
    its model and computed precision; a row whose outputs differ from timm's comes last in
    its block, unranked, its outputs cell marked as failed."""
    latency = report.to_dict()["kind"] == "latency"
    columns = LATENCY_COLUMNS if latency else THROUGHPUT_COLUMNS
    outputs = [c.header for c in columns].index("outputs vs eager fp32")
    rows = [
        Row(
            [column.cell(row, report) for column in columns],
            status="fail" if row.outputs_agree is False else None,
            status_cell=outputs,
        )
        for row in report.in_rank_order()
    ]
    settings = report.settings
    what = "latency" if latency else "throughput"
    title = f"{what}, batch {settings['batch_size']}, on {report.device}"
    return TableSpec(title, tuple(column.column for column in columns), rows)


def speed_notes(report: Any, *, measure: str | None = None) -> list[str]:
    """The lines under a speed table: the headline ratio per model and precision, what was
    not run, and how each runtime ran."""
    from mixbench.measure.speed.run import runtime_notes

    latency = report.to_dict()["kind"] == "latency"
    measure = measure or ("p50" if latency else "images/s")
    lines = [
        f"{ratio.model}, {ratio.precision}: mixbench's fastest path, {ratio.implementation}, is "
        f"{ratio.ratio:.2f}× timm's fastest, {ratio.baseline} ({measure})"
        + (
            ": within the noise (the two rows' trials overlap): inconclusive"
            if ratio.within_noise
            else ""
        )
        for ratio in report.fastest()
    ]
    lines += [
        f"noisy: {row.model} {row.implementation} {row.precision.name}: {row.noisy}: its rank "
        "may be the machine's (rerun on a quiet machine, or with more --trials)"
        for row in report.results
        if row.noisy
    ]
    groups = {row.group for row in report.results}
    compared = {(ratio.model, ratio.precision) for ratio in report.fastest()}
    for model, precision in sorted(groups - compared):
        lines.append(
            f"{model}, {precision}: no ratio (it needs a mixbench row and a row on timm's "
            "graph, both with outputs inside the bound)"
        )
    busy = report.machine.busy if getattr(report, "machine", None) else None
    if busy:
        lines.append(f"the machine was busy: {busy}: these figures may be its, not the models'")
    lines += [note.text for note in report.not_run]
    lines += runtime_notes(report.results)
    return lines


# ------------------------------------------------------------------------ deployed path


def deployed_table(checks: Sequence[Check]) -> tuple[TableSpec, str] | None:
    """The verify report's "deployed as" section: the card, eager float32 and the deployed
    path side by side, and one sentence on how the path ran and how far it moved (from the
    deployed checks' details; ``None`` when they did not run)."""
    found = next((c for c in checks if c.name.startswith("deployed_") and c.details), None)
    if found is None or "deployed_top1" not in found.details:
        return None
    d = found.details
    path = f"{d['implementation']}, {d['precision_computed']}"
    columns = (
        Column("metric"),
        Column("card", FIGURE),
        Column("eager fp32", FIGURE),
        Column(f"deployed ({path})", FIGURE),
    )
    rows = [
        Row(
            [
                label,
                fmt_figure(d.get(f"card_{key}")),
                _pct(d[f"reference_{key}"]),
                _pct(d[f"deployed_{key}"]),
            ]
        )
        for key, label in (("top1", "top-1 (%)"), ("top5", "top-5 (%)"))
    ]
    low, high = d["agreement_interval"]
    d_low, d_high = d["top1_difference_interval"]
    asked = d["precision"]
    computed = d["precision_computed"]
    precision = computed if computed == asked else f"{computed} (asked {asked})"
    provider = f", {d['provider']}" if d.get("provider") else ""
    sentence = (
        f"Deployed as {d['implementation']} ({d['runtime']}{provider}) in {precision}"
        f"{' — ' + d['precision_how'] if d.get('precision_how') else ''}. On the same "
        f"{d['images']:,} images as {d['reference']}, the top-1 class is unchanged on "
        f"{d['agreement']:.2f}% (95% CI {low:.2f}–{high:.2f}) and top-1 moves "
        f"{d['top1_difference']:+.2f} points (95% CI {d_low:+.2f} to {d_high:+.2f}; "
        f"{d['lost']} images lost, {d['gained']} gained)."
    )
    return TableSpec("deployed as", columns, rows), sentence


def _pct(value: object) -> str:
    return "—" if value is None else f"{float(value):.2f}"  # type: ignore[arg-type]


def flops_table(findings: Sequence[Any]) -> TableSpec:
    """``mixbench flops``: per card, what reproduces its figure and the verdict."""
    from mixbench.measure.complexity import CONVENTIONS, size_text

    columns = (
        Column("model", NAME),
        Column("S", FIGURE),
        Column("card FLOPs", FIGURE),
        Column("reproduced by"),
        Column("at H×W", NAME),
        Column("same rule at S×S", FIGURE, drop_order=2),
        Column("fvcore MACs", FIGURE, drop_order=1),
        Column("fvcore FLOPs", FIGURE),
        Column("verdict", NAME),
    )
    rows = []
    for finding in findings:
        verdict = finding.verdict
        convention = CONVENTIONS.get(verdict.convention or "")
        rule = convention.label if convention else ("no convention" if finding.published else "—")
        cells = [
            finding.model,
            str(finding.image_size),
            fmt_value(finding.published),
            rule,
            size_text(verdict.input_size) if verdict.input_size else "—",
            fmt_value(verdict.count_at_card_size),
            fmt_value(finding.fvcore.macs),
            fmt_value(finding.fvcore.flops),
            verdict.status,
        ]
        rows.append(Row(cells, status=verdict.status, status_cell=len(cells) - 1))
    return TableSpec("FLOPs: what the card's figure counts", columns, rows)


def flops_notes(findings: Sequence[Any]) -> list[str]:
    """Under ``flops``'s table: why each card that did not pass did not, then the counting
    conventions the table names, described."""
    from mixbench.measure.complexity import CONVENTIONS

    lines = [f"{f.model}: {f.verdict.reason}" for f in findings if f.verdict.status != "pass"]
    used = {f.verdict.convention for f in findings if f.verdict.convention}
    lines += [f"{c.label}: {c.description}." for key, c in CONVENTIONS.items() if key in used]
    return lines


def prediction_table(prediction: Any, *, random_weights: bool) -> TableSpec:
    """``predict``: one image's top-k classes with their probabilities."""
    random = " — RANDOM WEIGHTS: not a trained model's answer" if random_weights else ""
    columns = (Column("#", FIGURE), Column("class"), Column("probability", FIGURE))
    rows = [
        Row([str(rank), f"{score.name} ({score.label})", f"{score.probability:.4f}"])
        for rank, score in enumerate(prediction.top, start=1)
    ]
    return TableSpec(prediction.image + random, columns, rows)


def audit_summary_table(findings: Any) -> TableSpec:
    """``mixbench audit``'s console summary: how many cards each finding concerns."""
    counts = [
        *((f"FLOPs found: {rule}", count) for rule, count in findings.flops_rules.items()),
        ("FLOPs blind to most of the model", len(findings.blind)),
        ("parameters that do not round to the model's", len(findings.params_mismatches)),
        ("preprocessing not the model's pretrained_cfg", len(findings.preprocessing_mismatches)),
        ("names timm resolves to another model", len(findings.renamed_to_another_model)),
        ("models that could not be built", len(findings.not_built)),
    ]
    return TableSpec(
        "What the cards' maintainers should look at",
        (Column("finding", NAME), Column("cards", FIGURE)),
        [Row([label, str(count)]) for label, count in counts],
    )


_RUN_METRICS = {"top1": "top-1", "top5": "top-5", "images": "images"}
#: what a run stored before measurements were kept calls a figure
_OLD_NAMES = {"images": "count"}


def _run_figure(record: Any, key: str) -> object:
    metrics = record.metrics
    return metrics.get(key, metrics.get(_OLD_NAMES.get(key, key)))


def runs_table(records: Sequence[Any], title: str) -> TableSpec:
    """``mixbench runs``: one row per stored run, newest first; a metric column only where
    some run has it, the rest of a run's metrics (and its path) in one text column."""
    metric_columns = [
        key for key in _RUN_METRICS if any(_run_figure(r, key) is not None for r in records)
    ]
    others = [_other_metrics(record) for record in records]
    columns = [
        Column("id", FIGURE),
        Column("created (UTC)", NAME, drop_order=4),
        Column("kind", NAME),
        Column("model", NAME),
        Column("dataset", drop_order=3),
        *(Column(_RUN_METRICS[key], FIGURE) for key in metric_columns),
        *([Column("metrics")] if any(others) else []),
        Column("device", drop_order=2),
        Column("weights", drop_order=1),
    ]
    rows = []
    for record, other in zip(records, others, strict=True):
        cells = [
            str(record.id),
            record.created[:19].replace("T", " "),
            record.kind,
            record.model,
            record.dataset or "—",
            *(_run_metric(key, _run_figure(record, key)) for key in metric_columns),
            *([other or "—"] if any(others) else []),
            record.device or "—",
            record.weights_sha256[:12] if record.weights_sha256 else record.weights or "—",
        ]
        rows.append(Row(cells))
    return TableSpec(title, tuple(columns), rows)


def _run_metric(key: str, value: object) -> str:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return fmt_percent(value) if is_number and key.startswith("top") else fmt_value(value)


def _other_metrics(record: Any) -> str:
    return ", ".join(
        [
            *_run_path(record),
            *(
                f"{key} {fmt_value(value)}"
                for key, value in record.metrics.items()
                if key not in _RUN_METRICS
                and key not in _OLD_NAMES.values()
                and isinstance(value, (int, float, str))
            ),
        ]
    )


def _run_path(record: Any) -> list[str]:
    """``RANDOM WEIGHTS`` for an evaluation without weights (never a model's score), and
    ``via native+openvino bf16`` for one through a runtime path."""
    random = ["RANDOM WEIGHTS"] if record.kind == "eval" and not record.weights else []
    settings = record.details.get("settings") if record.kind == "eval" else None
    if not isinstance(settings, dict) or not settings.get("implementation"):
        return random
    precision = settings.get("precision_computed") or settings.get("precision")
    return [*random, f"via {settings['implementation']} {precision}"]


def card_table(card: Any) -> TableSpec:
    """``mixbench show``: one card's fields, label and value, those it publishes only."""
    from mixbench.index.fields import CARD_FIGURES

    figures = ((f.label, card.figure(f.name), f.shown) for f in CARD_FIGURES)
    rows: list[tuple[str, object]] = [
        ("collection", card.collection),
        ("paper", card.paper.title or card.paper.url if card.paper else None),
        *((label, None if value is None else shown(value)) for label, value, shown in figures),
        ("architecture", ", ".join(card.architecture)),
        ("training data", ", ".join(card.training_data)),
        ("training techniques", ", ".join(card.training_techniques)),
        ("code", card.code_url),
        ("weights", card.weights_url),
        *(
            (f"{metric.published_name} ({result.dataset})", fmt_value(metric.value))
            for result in card.results
            for metric in result.metrics.values()
        ),
        ("source", str(card.source) if card.source else None),
    ]
    shown = [Row([label, fmt_value(value)]) for label, value in rows if value not in (None, "")]
    return TableSpec(card.name, (Column("field"), Column("value")), shown, show_header=False)


def cards_table(cards: Sequence[Any], title: str) -> TableSpec:
    """``mixbench list``: one row per card; the listed figures of the schema
    (:mod:`mixbench.index.fields`) that some card publishes, counts first, then top-1/top-5."""
    from mixbench.index.fields import CARD_FIGURES

    figures = [
        f for f in CARD_FIGURES if f.listed and any(c.figure(f.name) is not None for c in cards)
    ]
    counts = [f for f in figures if f.unit in ("count", "MACs")]
    rest = [f for f in figures if f not in counts]
    columns = (
        Column("model", NAME),
        Column("collection", drop_order=2),
        *(Column(f.header or f.label, FIGURE, f.drop_order) for f in counts),
        Column("top-1", FIGURE),
        Column("top-5", FIGURE),
        *(
            Column(f.header or f.label, TEXT if f.unit == "name" else FIGURE, f.drop_order)
            for f in rest
        ),
    )
    rows = [
        Row(
            [
                card.name,
                card.collection or "—",
                *(
                    f.column(card.figure(f.name)) if card.figure(f.name) is not None else "—"
                    for f in counts
                ),
                fmt_percent(card.top1),
                fmt_percent(card.top5),
                *(
                    f.column(card.figure(f.name)) if card.figure(f.name) is not None else "—"
                    for f in rest
                ),
            ]
        )
        for card in cards
    ]
    return TableSpec(title, columns, rows)
