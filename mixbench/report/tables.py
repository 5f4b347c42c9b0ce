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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mixbench.formatting import fmt_delta, fmt_value
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
    counts = {verdict: 0 for verdict in ("PASS", "FAIL", "INCONCLUSIVE", "NOT BUILT")}
    for report in reports:
        counts[report.verdict] = counts.get(report.verdict, 0) + 1
    tally = ", ".join(f"{n} {verdict.lower()}" for verdict, n in counts.items() if n)
    return TableSpec(f"{len(reports)} models: {tally}", columns, rows)


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
