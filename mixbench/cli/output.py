"""What commands print: the console, JSON, notes and warnings, verdict colours."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from mixbench.errors import InputError

# Off a terminal (CI logs, pipes) rich would assume 80 columns and squeeze every table.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def write_json_file(path: Path, data: object) -> None:
    """Whole or not at all: a reader never sees a half-written result."""
    text = json.dumps(data, indent=2, default=str)
    if str(path) == "-":
        click.echo(text)
        return
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text + "\n")
    partial.replace(path)


def check_writable(path: Path | None) -> None:
    if path is not None and str(path) != "-" and not path.parent.is_dir():
        raise InputError(
            f"--json {path}: the folder {path.parent} does not exist",
            hint="create it first, or pass another path",
        )


def warn_notes(
    notes: tuple[str, ...] | list[str],
    warnings: tuple[Any, ...] | list[Any] = (),
    *,
    hint: str | None = "fix the key, or pass --strict to treat unknown keys as errors",
) -> None:
    """Notes, then warnings (misspelled keys: never passed over silently) and what to do."""
    for note in notes:
        click.echo(f"note: {note}", err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if warnings and hint:
        click.echo(f"hint: {hint}", err=True)


VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "skipped": "yellow",
    "info": "cyan",
    "inconclusive": "magenta",
}
