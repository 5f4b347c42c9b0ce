"""What commands print: the console, JSON, notes and warnings, verdict colours."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import click
from rich.cells import cell_len
from rich.console import Console, ConsoleDimensions
from rich.table import Table
from rich.text import Text

from mixbench.formatting import visible
from mixbench.io import write_atomically
from mixbench.report.tables import TableSpec

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


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def json_to_stdout(json_out: Path | None) -> bool:
    """``--json`` alone or ``--json -``: stdout carries the JSON only, no table."""
    return json_out is not None and str(json_out) == "-"


def emit_json(json_out: Path | None, data: object) -> None:
    """What ``--json [FILE]`` asked for: nothing, JSON on stdout, or JSON written to FILE."""
    if json_out is not None:
        write_json_file(json_out, data)


# ------------------------------------------------------------------------ tables


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
    table = Table(title=spec.title if title is None else title, title_justify="left")
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


def write_json_file(path: Path, data: object) -> None:
    """Whole or not at all: a reader never sees a half-written result."""
    text = json.dumps(data, indent=2, default=str)
    if str(path) == "-":
        click.echo(text)
        return
    write_atomically(path, text + "\n")


def check_writable(path: Path | None, option: str = "--json") -> None:
    """``--json FILE`` (and other outputs) writable, checked before any work (exit 2)."""
    if path is not None and str(path) != "-":
        from mixbench.io import check_writable as writable

        writable(path, option)


def warn_notes(
    notes: tuple[str, ...] | list[str],
    warnings: tuple[Any, ...] | list[Any] = (),
    *,
    hint: str | None = "fix the key, or pass --strict to treat unknown keys as errors",
) -> None:
    """Notes, then warnings (misspelled keys: never passed over silently) and what to do."""
    for note in notes:
        click.echo(f"note: {visible(str(note))}", err=True)
    for warning in warnings:
        click.echo(f"warning: {visible(str(warning))}", err=True)
    if warnings and hint:
        click.echo(f"hint: {hint}", err=True)


VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "skipped": "yellow",
    "info": "cyan",
    "inconclusive": "magenta",
}
