"""``list``, ``show``, ``index check`` and ``diff``: the published cards."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import common_options, options_of, strict_option
from mixbench.cli.output import emit, emit_json, json_to_stdout, print_table, say, warn_notes
from mixbench.diff import DiffOptions, diff_named_sources
from mixbench.index import check_index, load_index
from mixbench.index.said import check_failed, check_json, check_lines, index_lines
from mixbench.report.console import diff_markdown, print_diff
from mixbench.report.tables import card_table, cards_table


@cli.command("list")
@strict_option
@common_options(index=True)
def list_cards(index_path: Path | None, strict: bool, json_out: Path | None) -> None:
    """Every model card with its published figures.

    A model whose card has a broken value is left out and named (stderr), the others listed;
    --strict makes any problem, unknown key or empty value an error (exit 2).
    """
    index = load_index(index_path, strict=strict)
    table = cards_table(list(index), f"{len(index)} model cards")
    emit(json_out, [card.to_dict() for card in index], lambda: print_table(table))
    if not json_to_stdout(json_out):
        warn_notes(index.notes, index.warnings)
    say(index_lines(index, headline=not json_to_stdout(json_out)))


@cli.command("show")
@click.argument("name")
@strict_option
@common_options(index=True)
def show_card(name: str, index_path: Path | None, strict: bool, json_out: Path | None) -> None:
    """One model card, normalised (--json: numbers as numbers, warnings included)."""
    index = load_index(index_path, strict=strict)
    card = index[name]  # a model left out says why
    emit(json_out, card.to_dict(), lambda: print_table(card_table(card)))
    if not json_to_stdout(json_out):
        warn_notes(card.notes, card.warnings)
        warn_notes((), card.not_published, hint=None)
    say(index_lines(index, headline=False))


@cli.group("index")
def index_group() -> None:
    """Check model-index sources."""


@index_group.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--strict", is_flag=True, help="Treat every unknown key as an error, not only misspellings."
)
@common_options()
def index_check(path: Path | None, strict: bool, json_out: Path | None) -> None:
    """Validate a model-index file or directory: exit 0 when it has no problem, 2 with any.

    Unknown keys close to a known one (Paramters) are warnings; --strict makes every unknown
    key a problem. An empty value (a figure not published, such as Top 1 Accuracy with no
    value) is a warning too, and a problem under --strict. A model with a problem is left
    out; the others load.
    """
    index, problems = check_index(path, strict=strict)
    shown = str(path) if path else "the packaged index"
    lines = check_lines(index, problems, shown, strict)
    emit(json_out, check_json(index, problems, shown, strict), lambda: say(lines))
    if check_failed(index, problems):
        sys.exit(2)


@cli.command("diff")
@click.argument("source_a", metavar="A")
@click.argument("source_b", metavar="B")
@options_of(DiffOptions)
@common_options(index=True)
def diff(
    source_a: str, source_b: str, index_path: Path | None, json_out: Path | None, **given: Any
) -> None:
    """Compare two sources model by model, field by field; exit 1 when any field differs.

    A and B are model-index files or directories, timm results CSVs, paperswithcode archives
    (evaluation-tables.json), Hugging Face .eval_results, or one of: index, timm:imagenet,
    timm:imagenet-real, timm:imagenetv2. Models pair by name (a timm tag dropped when the other
    side has none), then by the weights file both name, then by the --match file; each pair
    says its rule. Fields only one side has and models left unpaired are listed; exit 2 when
    nothing at all could be compared.
    """
    options = DiffOptions(**given)
    report = diff_named_sources(source_a, source_b, options, index_path=index_path)
    rows = report.comparisons if options.show_all else report.differences
    emit_json(json_out, report.to_dict())
    if json_to_stdout(json_out):
        pass  # stdout carries the JSON alone
    elif options.format == "json":
        emit_json(Path("-"), report.to_dict())
    elif options.format == "md":
        click.echo(diff_markdown(report, rows), nl=False)
    else:
        print_diff(report, rows)
        hint = "fix the keys or the --match lines named above"
        warn_notes(report.notes, report.warnings, hint=hint)
    report.raise_if_nothing_compared()
    if not report.ok:
        sys.exit(EXIT_DIFFERENT)
