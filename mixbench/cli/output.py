"""What commands print: JSON for machines, the table for people, notes and warnings."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from mixbench.formatting import visible
from mixbench.io import write_atomically

# what commands print with
from mixbench.report.console import console, print_table, rich_table  # noqa: F401


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


def json_to_stdout(json_out: Path | None) -> bool:
    """``--json`` alone or ``--json -``: stdout carries the JSON only, no table."""
    return json_out is not None and str(json_out) == "-"


def emit_json(json_out: Path | None, data: object) -> None:
    """What ``--json [FILE]`` asked for: nothing, JSON on stdout, or JSON written to FILE whole
    or not at all (a reader never sees a half-written result)."""
    if json_out is None:
        return
    text = json.dumps(data, indent=2, default=str)
    if str(json_out) == "-":
        click.echo(text)
    else:
        write_atomically(json_out, text + "\n")


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
