"""TableSpecs rendered by rich for a terminal: fitted to its width without cutting a figure or
a word (low-value columns go first), verdicts coloured, control characters made visible.

The Markdown rendering of the same specs is :meth:`mixbench.report.tables.TableSpec.markdown`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleDimensions, Group, RenderableType
from rich.table import Table
from rich.text import Text

from mixbench.formatting import visible
from mixbench.report.tables import TableSpec

if TYPE_CHECKING:
    from mixbench.diff import DiffReport, FieldComparison
    from mixbench.verify.report import VerifyReport

#: Off a terminal (CI logs, pipes) without COLUMNS: wide, rather than squeeze every table to 80.
PIPED_WIDTH = 160


class _Console(Console):
    """The width is decided at each print, not at import: ``COLUMNS`` when set, else the
    terminal's, else (piped) :data:`PIPED_WIDTH`."""

    @property
    def size(self) -> ConsoleDimensions:
        height = super().size.height
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            return ConsoleDimensions(int(columns), height)
        if self.is_terminal:
            return ConsoleDimensions(shutil.get_terminal_size().columns, height)
        return ConsoleDimensions(PIPED_WIDTH, height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def render_str(self, text: str, **options: Any) -> Text:
        """Every string printed (a cell, a title, a line) with its control characters made
        visible: a card's ``\x1b[2J`` is shown, never obeyed by the terminal."""
        return super().render_str(visible(text), **options)


console = _Console(highlight=False)


def numeric_column(table: Table, header: str, *, justify: str = "right") -> None:
    """A column of figures: never wrapped, never cut short with an ellipsis."""
    table.add_column(header, justify=justify, no_wrap=True, overflow="fold")  # type: ignore[arg-type]


def name_column(table: Table, header: str) -> None:
    """A column of identifiers (model names, implementations): whole, never wrapped."""
    numeric_column(table, header, justify="left")


def text_column(table: Table, header: str, **settings: Any) -> None:
    """A column of words (names, notes, reasons): wraps when the terminal is narrow."""
    table.add_column(header, overflow="fold", **settings)


def rich_table(spec: TableSpec, *, title: str | None = None) -> Table:
    """A :class:`~mixbench.report.tables.TableSpec` as a rich table (verdicts coloured),
    fitted to the console by dropping the spec's droppable columns first."""
    table = Table(
        title=spec.title if title is None else title,
        title_justify="left",
        show_header=spec.show_header,
    )
    adders = {"figure": numeric_column, "name": name_column, "text": text_column}
    for column in spec.columns:
        adders[column.kind](table, column.header)
    for row in spec.rows:
        cells: list[str | Text] = [Text(visible(cell)) for cell in row.cells]
        if row.status_cell is not None and row.status in VERDICT_STYLE:
            cells[row.status_cell] = Text(
                visible(row.cells[row.status_cell]), style=VERDICT_STYLE[row.status]
            )
        table.add_row(*cells)
    return fit_to_console(table, *spec.droppable())


def _cell_widths(cell: object) -> tuple[int, int]:
    """(longest word, longest line) of a cell, in terminal cells, markup removed."""
    text = console.render_str(cell) if isinstance(cell, str) else cell
    if not isinstance(text, Text):
        return 1, 1
    lines = text.plain.splitlines() or [""]
    words = [word for line in lines for word in line.split()] or [""]
    return max(cell_len(word) for word in words), max(cell_len(line) for line in lines)


def _column_ranges(table: Table) -> list[tuple[int, int]]:
    """Per column, the narrowest and widest its content prints without cutting a word (a
    no-wrap column only at its widest)."""
    ranges = []
    for column in table.columns:
        widths = [_cell_widths(cell) for cell in (column.header, *column.cells)]
        widest = max(line for _, line in widths)
        ranges.append((widest if column.no_wrap else max(word for word, _ in widths), widest))
    return ranges


def _frame_width(table: Table) -> int:
    """Borders and cell padding: what a table needs beside its content."""
    columns = len(table.columns)
    borders = (columns - 1 + (2 if table.show_edge else 0)) if table.box else 0
    return borders + columns * (table.padding[1] + table.padding[3])


def table_width(table: Table) -> int:
    """The width the table prints at with nothing wrapped."""
    return _frame_width(table) + sum(widest for _, widest in _column_ranges(table))


def table_min_width(table: Table) -> int:
    """The narrowest the table prints with every figure and every word whole."""
    return _frame_width(table) + sum(narrowest for narrowest, _ in _column_ranges(table))


def drop_column(table: Table, header: str) -> None:
    table.columns[:] = [column for column in table.columns if column.header != header]
    for index, column in enumerate(table.columns):
        column._index = index  # rich pads the first and last column by their index


def fit_to_console(table: Table, *droppable: str) -> Table:
    """Fit the table to the console without cutting a figure or a word.

    The ``droppable`` columns (by header, first named first) are dropped while the table
    would not fit otherwise: low-value columns go before any figure is cut. Then text
    columns get the width left over, each at least its longest word (rich alone would
    shrink the widest column first, folding the words and numbers in it).
    """
    for header in droppable:
        if table_min_width(table) <= console.width:
            break
        drop_column(table, header)
    ranges = _column_ranges(table)
    available = console.width - _frame_width(table)
    if sum(widest for _, widest in ranges) <= available:
        return table  # fits as it is
    if sum(narrowest for narrowest, _ in ranges) > available:
        return table  # cannot fit whole: rich folds (never an ellipsis: overflow="fold")
    # max-min fair: the columns needing least get all they need, the rest share what is left
    spare = available - sum(narrowest for narrowest, _ in ranges)
    wrapping = [index for index, column in enumerate(table.columns) if not column.no_wrap]
    wrapping.sort(key=lambda index: ranges[index][1] - ranges[index][0])
    for position, index in enumerate(wrapping):
        narrowest, widest = ranges[index]
        extra = min(widest - narrowest, spare // (len(wrapping) - position))
        table.columns[index].width = narrowest + extra
        spare -= extra
    return table


VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "skipped": "yellow",
    "info": "cyan",
    "inconclusive": "magenta",
}


# ------------------------------------------------------------------------ verify


#: narrower than this, the notes go under the table (one line per check), not in a column
NOTE_MIN_WIDTH = 32
#: more models than this get one summary table (a row each), not a checks table each
SUMMARY_TABLE_OVER = 10


def verify_renderable(report: VerifyReport) -> RenderableType:
    """A model's checks, fitted to the console: the tolerance column goes first, then the notes
    move under the table (one line per check) rather than into a column too narrow to read."""
    for with_tolerance in (True, False):
        table = _checks_table(report, with_notes=True, with_tolerance=with_tolerance)
        fit_to_console(table)
        note = table.columns[-1]
        if table_min_width(table) <= console.width and (note.width or 1000) >= NOTE_MIN_WIDTH:
            return table
    table = _checks_table(report, with_notes=False, with_tolerance=True)
    notes = [Text(f"{check.label}: {check.reason}") for check in report.checks if check.reason]
    return Group(fit_to_console(table, "tolerance"), *notes)


def _checks_table(report: VerifyReport, *, with_notes: bool, with_tolerance: bool) -> Table:
    from mixbench.report.tables import checks_table

    spec = checks_table(report.model, report.checks, with_notes=with_notes)
    table = rich_table(spec, title=f"{report.model}: {report.headline()}\n{report.tally()}")
    if not with_tolerance and any(c.header == "tolerance" for c in table.columns):
        drop_column(table, "tolerance")
    return table


@dataclass
class VerifyConsole:
    """What ``verify`` prints as models finish: each model's checks table as it is done, or,
    for more than :data:`SUMMARY_TABLE_OVER` models, one summary table at the end (hundreds of
    full tables would bury the one line per card a reader wants)."""

    quiet: bool  # the JSON goes to stdout: print nothing else there
    reports: list[VerifyReport] = field(default_factory=list)
    compact: bool = False

    def start(self, names: Sequence[str]) -> None:
        self.compact = len(names) > SUMMARY_TABLE_OVER

    def show(self, report: VerifyReport, warn: Callable[[str], None] | None = None) -> None:
        """The model's table (unless compact or quiet); its card's warnings on ``warn``."""
        for warning in report.warnings if warn is not None else ():
            warn(f"{report.model}: card: {warning}")
        self.reports.append(report)
        if not self.quiet and not self.compact:
            console.print(verify_renderable(report))

    def finish(self) -> None:
        """The summary table of the models done (also after Ctrl-C: what finished), then the
        line that tallies them."""
        from mixbench.report.tables import verify_summary_table
        from mixbench.verify.report import summary_line

        if self.quiet or not self.reports:
            return
        if self.compact:
            console.print(rich_table(verify_summary_table(self.reports)))
        console.print(summary_line(self.reports))


def print_table(spec: TableSpec, lines: Sequence[str] = ()) -> None:
    """A table, then the lines under it (notes, as they are: no highlighting)."""
    console.print(rich_table(spec))
    for line in lines:
        console.print(line, highlight=False)


# ------------------------------------------------------------------------ speed


def print_speed(report: Any) -> None:
    """A throughput or latency table (:func:`mixbench.report.tables.speed_table`), its caption
    and the lines under it, then what the figures depend on."""
    from mixbench.report.speed import environment_line, ran_on_cuda, speed_caption
    from mixbench.report.tables import speed_notes, speed_table

    table = rich_table(speed_table(report))
    shown = any(column.header == "% bw" for column in table.columns)
    table.caption = speed_caption(report, explain_bandwidth=shown)
    table.caption_justify = "left"
    console.print(table)
    for line in speed_notes(report):
        console.print(line, highlight=False)
    console.print(environment_line(report.environment, on_cuda=ran_on_cuda(report)))


# ------------------------------------------------------------------------ diff


def diff_renderable(report: DiffReport, rows: Sequence[FieldComparison]) -> Table:
    """The sources head their columns; when the table would not fit unwrapped (names are
    file paths) the columns are A and B, named in the title."""
    from mixbench.report.tables import diff_table

    table = rich_table(diff_table(report, rows))
    if table_width(table) > console.width:
        table.title = f"A: {report.label_a} vs B: {report.label_b}"
        table.columns[2].header, table.columns[3].header = "A", "B"
        for column in table.columns:  # fitted again below, to the shorter headers
            column.width = None
    return fit_to_console(table)


def print_diff(report: DiffReport, rows: Sequence[FieldComparison]) -> None:
    """The table of ``rows``, the verdict, how models paired, what was not compared and the
    models left unpaired."""
    if rows:
        console.print(diff_renderable(report, rows))
    for number, line in enumerate(report.summary_lines()):
        text = Text(visible(line))
        if number == 0 and report.pairs:  # the verdict, coloured
            bad = report.compared_nothing or report.differences
            text.highlight_regex(r"nothing compared|\d+ differ", "red" if bad else "green")
        console.print(text, soft_wrap=True)


def diff_markdown(report: DiffReport, rows: Sequence[FieldComparison]) -> str:
    """``diff --format md``: the report as Markdown for a CI comment, the table of ``rows``."""
    from mixbench.report import render_markdown
    from mixbench.report.tables import diff_table

    table = diff_table(report, rows).markdown() if rows else ""
    return render_markdown("diff.md.j2", report=report, table=table)
