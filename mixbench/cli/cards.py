"""``list``, ``show``, ``index check`` and ``diff``: the published cards."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import debug_option, index_option, json_option
from mixbench.cli.output import (
    console,
    emit_json,
    fit_to_console,
    json_to_stdout,
    print_json,
    rich_table,
    table_width,
    text_column,
    warn_notes,
)
from mixbench.diff import DiffReport, diff_sources
from mixbench.errors import InputError
from mixbench.formatting import fmt_value
from mixbench.index import check_index, load_index
from mixbench.index.fields import CARD_FIGURES
from mixbench.index.published import NAMED_SOURCES, load_source
from mixbench.report import render_markdown
from mixbench.report.tables import cards_table, diff_table

if TYPE_CHECKING:
    pass


@cli.command("list")
@index_option
@click.option("--strict", is_flag=True, help="Treat every unknown card key as an error.")
@json_option
@debug_option
def list_cards(index_path: Path | None, strict: bool, json_out: Path | None) -> None:
    """Every model card with its published figures."""
    index = load_index(index_path, strict=strict)
    emit_json(json_out, [card.to_dict() for card in index])
    if json_to_stdout(json_out):
        return
    console.print(rich_table(cards_table(list(index), f"{len(index)} model cards")))
    warn_notes(index.notes, index.warnings)


@cli.command("show")
@click.argument("name")
@index_option
@click.option("--strict", is_flag=True, help="Treat every unknown card key as an error.")
@json_option
@debug_option
def show_card(name: str, index_path: Path | None, strict: bool, json_out: Path | None) -> None:
    """One model card, normalised (--json: numbers as numbers, warnings included)."""
    card = load_index(index_path, strict=strict)[name]
    emit_json(json_out, card.to_dict())
    if json_to_stdout(json_out):
        return
    table = Table(title=card.name, show_header=False, title_justify="left")
    text_column(table, "field", style="bold")
    text_column(table, "value")
    rows: list[tuple[str, object]] = [
        ("collection", card.collection),
        ("paper", card.paper.title or card.paper.url if card.paper else None),
        *(
            (f.label, None if card.figure(f.name) is None else f.shown(card.figure(f.name)))
            for f in CARD_FIGURES
        ),
        ("architecture", ", ".join(card.architecture)),
        ("training data", ", ".join(card.training_data)),
        ("training techniques", ", ".join(card.training_techniques)),
        ("code", card.code_url),
        ("weights", card.weights_url),
    ]
    for result in card.results:
        for metric in result.metrics.values():
            rows.append((f"{metric.published_name} ({result.dataset})", fmt_value(metric.value)))
    rows.append(("source", str(card.source) if card.source else None))
    for label, value in rows:
        if value not in (None, ""):
            table.add_row(label, fmt_value(value))
    console.print(table)
    warn_notes(card.notes, card.warnings)


@cli.group("index")
def index_group() -> None:
    """Check model-index sources."""


@index_group.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--strict", is_flag=True, help="Treat every unknown key as an error, not only misspellings."
)
@json_option
@debug_option
def index_check(path: Path | None, strict: bool, json_out: Path | None) -> None:
    """Validate a model-index file or directory: exit 0 when clean, 2 with problems.

    Unknown keys close to a known one (Paramters) are warnings; --strict makes every
    unknown key a problem.
    """
    index, problems = check_index(path, strict=strict)
    shown = str(path) if path else "the packaged index"
    # Under --strict the warnings are among the problems: say each once.
    warnings = () if strict else index.warnings
    emit_json(
        json_out,
        {
            "source": shown,
            "ok": not problems,
            "strict": strict,
            "models": len(index),
            "files": list(index.files),
            "problems": [p.__dict__ for p in problems],
            "warnings": [w.to_dict() for w in index.warnings],
            "notes": list(index.notes),
        },
    )
    if not json_to_stdout(json_out):
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        warn_notes(index.notes, warnings, hint=None)
        counted = f", {len(warnings)} warning(s)" if warnings else ""
        if problems:
            click.echo(f"{len(problems)} problem(s){counted} in {shown}", err=True)
            fix = "fix the fields named above"
            if strict and index.unknown_keys:
                fix += "; --strict rejects every unknown key (without it, only misspellings warn)"
            click.echo(f"hint: {fix}", err=True)
        else:
            console.print(
                f"[green]ok[/]: {shown}: {len(index)} models in {len(index.collections)} "
                f"collections, {len(index.files)} files{counted}"
            )
        if warnings:
            hint = "fix the key, or pass --strict to treat unknown keys as errors"
            click.echo(f"hint: {hint}", err=True)
    if problems:
        sys.exit(2)


def _diff_table(report: DiffReport, rows: list[Any]) -> Table:
    """The sources head their columns; when the table would not fit unwrapped (names are
    file paths) the columns are A and B, named in the title."""
    table = rich_table(diff_table(report, rows))
    if table_width(table) > console.width:
        table.title = f"A: {report.label_a} vs B: {report.label_b}"
        table.columns[2].header, table.columns[3].header = "A", "B"
        for column in table.columns:  # fitted again below, to the shorter headers
            column.width = None
    return fit_to_console(table)


@cli.command("diff")
@click.argument("source_a", metavar="A")
@click.argument("source_b", metavar="B")
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Allowed |Δ| in percentage points for accuracies.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "md", "json"]),
    default="table",
    show_default=True,
    help="md: a Markdown table for CI comments.",
)
@click.option("--all", "show_all", is_flag=True, help="List agreeing fields too.")
@click.option(
    "--dataset",
    metavar="NAME",
    help="The dataset a results CSV is on (imagenet, imagenet-real, ...); needed unless the "
    "file is named results-<dataset>.csv.",
)
@index_option
@json_option
@debug_option
def diff(
    source_a: str,
    source_b: str,
    tolerance: float,
    fmt: str,
    show_all: bool,
    dataset: str | None,
    index_path: Path | None,
    json_out: Path | None,
) -> None:
    """Compare two sources model by model, field by field; exit 1 when any field differs.

    A and B are model-index files or directories, timm results CSVs, or one of:
    index, timm:imagenet, timm:imagenet-real, timm:imagenetv2. Fields only one side has are
    listed as not compared; exit 2 when nothing at all could be compared.
    """
    a = load_source(source_a, index_path=index_path, dataset=dataset)
    b = load_source(source_b, index_path=index_path, dataset=dataset)
    if dataset is not None and not (a.used_dataset or b.used_dataset):
        raise InputError(
            f"--dataset {dataset}: neither {a.label} nor {b.label} is a results CSV file",
            hint="drop --dataset: model indexes and the timm:* tables name their datasets",
        )
    report = diff_sources(
        a.cards,
        b.cards,
        tolerance=tolerance,
        label_a=a.label,
        label_b=b.label,
        notes=[*a.notes, *b.notes],
    )
    rows = report.comparisons if show_all else report.differences
    emit_json(json_out, report.to_dict())
    if json_to_stdout(json_out):
        pass  # stdout carries the JSON alone
    elif fmt == "json":
        print_json(report.to_dict())
    elif fmt == "md":
        table = diff_table(report, rows).markdown() if rows else ""
        click.echo(render_markdown("diff.md.j2", report=report, table=table), nl=False)
    else:
        if rows:
            console.print(_diff_table(report, rows))
        if report.pairs:
            not_compared = report.not_compared()
            verdict = (
                "[red]nothing compared[/]"  # never "0 differ": that would read as agreement
                if report.compared_nothing
                else f"{len(report.comparisons)} fields compared, "
                f"[{'red' if report.differences else 'green'}]{len(report.differences)} differ[/]"
                + (f" (tolerance ±{tolerance:g} points)" if tolerance else "")
            )
            console.print(
                f"{len(report.pairs)} models matched, {verdict}"
                + (f"; {len(report.one_sided)} not compared:" if not_compared else "")
            )
            for line in not_compared:
                click.echo(f"  one side only: {line}")
        if report.only_a:
            click.echo(f"only in {report.label_a}: {', '.join(report.only_a)}")
        if report.only_b:
            listed = ", ".join(report.only_b) if len(report.only_b) <= 20 else "--json lists them"
            click.echo(f"{len(report.only_b)} models only in {report.label_b}: {listed}")
        warn_notes(report.notes, report.warnings, hint="fix the keys named above")
    if not report.pairs:
        named = ", ".join(NAMED_SOURCES)
        raise InputError(
            f"nothing to compare: no model is in both {a.label} and {b.label}",
            hint="models match by name (a timm tag such as .ra_in1k is dropped when the other "
            f"side has none); named sources: {named}",
        )
    if report.compared_nothing:
        raise InputError(
            f"nothing to compare: the {len(report.pairs)} models in both {a.label} and "
            f"{b.label} share no field",
            hint="the fields each side has are listed above; for a results CSV, check --dataset",
        )
    if not report.ok:
        sys.exit(EXIT_DIFFERENT)
