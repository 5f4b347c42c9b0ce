"""``runs``: the results store."""

from __future__ import annotations

from pathlib import Path

import click

from mixbench.cli.app import cli
from mixbench.cli.options import common_options
from mixbench.cli.output import console, emit, rich_table
from mixbench.formatting import visible
from mixbench.report.tables import runs_table
from mixbench.store import ResultsStore, RunRecord

#: Runs listed unless --limit says otherwise: a store gathers hundreds.
DEFAULT_LIMIT = 20


@cli.command("runs")
@click.option("--model", help="Only runs of this model.")
@click.option("--kind", help="Only runs of this kind (eval, throughput, latency, verify).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="At most N runs, newest first (0: all of them).",
)
@common_options(db=True)
def list_runs(
    db_path: Path | None,
    model: str | None,
    kind: str | None,
    limit: int | None,
    json_out: Path | None,
) -> None:
    """The measurement runs recorded in the results store, newest first."""
    store = ResultsStore(db_path)
    records, more = store.newest_runs(model=model, kind=kind, limit=limit or None)
    for run_id, why in store.unreadable:  # a hand-edited cell: that run, not the store
        click.echo(f"warning: {store.path}: run {run_id} cannot be read ({visible(why)})", err=True)
    filters = " ".join(f"{k}={v}" for k, v in (("model", model), ("kind", kind)) if v)
    render = lambda: _show(records, more, store, filters)  # noqa: E731
    emit(json_out, [record.to_dict() for record in records], render)


def _show(records: list[RunRecord], more: bool, store: ResultsStore, filters: str) -> None:
    if not records:
        console.print(f"no runs{' with ' + filters if filters else ''} in {store.path}")
        return
    noun = "run" if len(records) == 1 else "runs"
    console.print(rich_table(runs_table(records, f"{len(records)} {noun} in {store.path}")))
    if more:
        console.print(
            f"the newest {len(records)} shown; pass --limit N for more, --limit 0 for all"
        )
