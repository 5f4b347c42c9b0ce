"""What commands print: JSON for machines, the table for people, notes and warnings."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from mixbench.formatting import visible
from mixbench.io import write_atomically
from mixbench.report.console import (  # noqa: F401  (re-exported: what commands print with)
    console,
    fit_to_console,
    numeric_column,
    rich_table,
    table_width,
    text_column,
)


def emit(json_out: Path | None, data: object, render: Callable[[], object]) -> None:
    """``--json [FILE]`` as everywhere: the JSON (to stdout or FILE), and the table for people
    unless stdout carries the JSON."""
    emit_json(json_out, data)
    if not json_to_stdout(json_out):
        render()


def say(lines: Sequence[str | tuple[str, bool]]) -> None:
    """Lines for people: a plain string is a diagnostic (stderr); ``(text, False)`` is the
    result (stdout, with its rich markup)."""
    for line in lines:
        text, to_stderr = (line, True) if isinstance(line, str) else line
        if to_stderr:
            click.echo(visible(text), err=True)
        else:
            console.print(text)


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def json_to_stdout(json_out: Path | None) -> bool:
    """``--json`` alone or ``--json -``: stdout carries the JSON only, no table."""
    return json_out is not None and str(json_out) == "-"


def emit_json(json_out: Path | None, data: object) -> None:
    """What ``--json [FILE]`` asked for: nothing, JSON on stdout, or JSON written to FILE."""
    if json_out is not None:
        write_json_file(json_out, data)


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
