"""``runs``: the results store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from mixbench.cli.app import cli
from mixbench.cli.options import db_option, debug_option, json_option
from mixbench.cli.output import (
    console,
    emit_json,
    fit_to_console,
    json_to_stdout,
    name_column,
    numeric_column,
    text_column,
)
from mixbench.formatting import fmt_percent, fmt_value, visible
from mixbench.store import ResultsStore, RunRecord

if TYPE_CHECKING:
    pass


_METRIC_COLUMNS = {"top1": "top-1", "top5": "top-5", "count": "images"}
#: Runs listed unless --limit says otherwise: a store gathers hundreds.
DEFAULT_LIMIT = 20


def _fmt_metric(key: str, value: object) -> str:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return fmt_percent(value) if is_number and key.startswith("top") else fmt_value(value)


def _other_metrics(record: RunRecord) -> str:
    shown = _METRIC_COLUMNS.keys()
    return ", ".join(
        [
            *_path(record),
            *(
                f"{key} {fmt_value(value)}"
                for key, value in record.metrics.items()
                if key not in shown and isinstance(value, (int, float, str))
            ),
        ]
    )


def _path(record: RunRecord) -> list[str]:
    """``RANDOM WEIGHTS`` for an evaluation without weights (never a model's score), and
    ``via native+openvino bf16`` for one through a runtime path."""
    random = ["RANDOM WEIGHTS"] if record.kind == "eval" and not record.weights else []
    settings = record.details.get("settings") if record.kind == "eval" else None
    if random and not isinstance(settings, dict):
        return random
    if not isinstance(settings, dict) or not settings.get("implementation"):
        return random
    precision = settings.get("precision_computed") or settings.get("precision")
    return [*random, f"via {settings['implementation']} {precision}"]


@cli.command("runs")
@db_option
@click.option("--model", help="Only runs of this model.")
@click.option("--kind", help="Only runs of this kind (eval, throughput, latency, verify).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="At most N runs, newest first (0: all of them).",
)
@json_option
@debug_option
def list_runs(
    db_path: Path | None,
    model: str | None,
    kind: str | None,
    limit: int | None,
    json_out: Path | None,
) -> None:
    """The measurement runs recorded in the results store, newest first."""
    store = ResultsStore(db_path)
    wanted = limit or None
    # one more than shown: whether there are more to say so
    records = store.runs(model=model, kind=kind, limit=None if wanted is None else wanted + 1)
    more = wanted is not None and len(records) > wanted
    records = records[:wanted] if wanted is not None else records
    for run_id, why in store.unreadable:  # a hand-edited cell: that run, not the store
        click.echo(f"warning: {store.path}: run {run_id} cannot be read ({visible(why)})", err=True)
    emit_json(json_out, [record.to_dict() for record in records])
    if json_to_stdout(json_out):
        return
    if not records:
        filters = " ".join(f"{k}={v}" for k, v in (("model", model), ("kind", kind)) if v)
        console.print(f"no runs{' with ' + filters if filters else ''} in {store.path}")
        return
    metric_columns = [key for key in _METRIC_COLUMNS if any(key in r.metrics for r in records)]
    others = [_other_metrics(record) for record in records]
    noun = "run" if len(records) == 1 else "runs"
    table = Table(title=f"{len(records)} {noun} in {store.path}", title_justify="left")
    numeric_column(table, "id")
    name_column(table, "created (UTC)")
    name_column(table, "kind")
    name_column(table, "model")
    text_column(table, "dataset")
    for key in metric_columns:
        numeric_column(table, _METRIC_COLUMNS[key])
    if any(others):
        text_column(table, "metrics")
    text_column(table, "device")
    text_column(table, "weights")
    for record, other in zip(records, others, strict=True):
        metrics = [_fmt_metric(key, record.metrics.get(key)) for key in metric_columns]
        table.add_row(
            str(record.id),
            record.created[:19].replace("T", " "),
            record.kind,
            record.model,
            record.dataset or "—",
            *metrics,
            *([other or "—"] if any(others) else []),
            record.device or "—",
            record.weights_sha256[:12] if record.weights_sha256 else record.weights or "—",
        )
    console.print(fit_to_console(table, "weights", "device", "dataset", "created (UTC)"))
    if more:
        console.print(f"the newest {wanted} shown; pass --limit N for more, --limit 0 for all")
