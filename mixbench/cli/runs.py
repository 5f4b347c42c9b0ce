"""``runs``: the results store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import cli
from mixbench.cli.options import common_options, options_of
from mixbench.cli.output import console, emit, rich_table
from mixbench.formatting import visible
from mixbench.report.tables import runs_table
from mixbench.store import ResultsStore, RunFilter, RunRecord


@cli.command("runs")
@options_of(RunFilter)
@common_options(db=True)
def list_runs(db_path: Path | None, json_out: Path | None, **given: Any) -> None:
    """The measurement runs recorded in the results store, newest first."""
    store = ResultsStore(db_path)
    which = RunFilter(**given)
    records, more = store.newest_runs(which)
    for run_id, why in store.unreadable:  # a hand-edited cell: that run, not the store
        click.echo(f"warning: {store.path}: run {run_id} cannot be read ({visible(why)})", err=True)
    render = lambda: _show(records, more, store, which.text())  # noqa: E731
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
