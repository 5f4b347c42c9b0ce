"""``runs``: the results store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mixbench.cli.app import cli
from mixbench.cli.options import db_option, debug_option, json_option
from mixbench.cli.output import console, emit_json, json_to_stdout, rich_table
from mixbench.formatting import visible
from mixbench.report.tables import runs_table
from mixbench.store import ResultsStore

if TYPE_CHECKING:
    pass


#: Runs listed unless --limit says otherwise: a store gathers hundreds.
DEFAULT_LIMIT = 20


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
    noun = "run" if len(records) == 1 else "runs"
    console.print(rich_table(runs_table(records, f"{len(records)} {noun} in {store.path}")))
    if more:
        console.print(f"the newest {wanted} shown; pass --limit N for more, --limit 0 for all")
