"""``audit``: verify every card of an index and write what its maintainers should fix."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mixbench.audit.options import AuditOptions
from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import common_options, options_of
from mixbench.cli.output import console, emit, rich_table
from mixbench.cli.runtime import command_line, stop_on_sigterm_as_on_ctrl_c
from mixbench.progress import StepProgress


@cli.command("audit")
@options_of(AuditOptions)
@common_options(db=True, index=True)
def audit_command(
    index_path: Path | None, json_out: Path | None, db_path: Path | None, **given: Any
) -> None:
    """Verify every card of an index (a folder of card files works) without weights, then
    write a report of what its maintainers should fix, with a plot of card FLOPs ÷ MACs.

    Each model is stored as it finishes, in OUT/NAME.sqlite unless --db (or MIXBENCH_DB)
    names a store: an audit of hundreds of cards is not mixed into the runs `mixbench report`
    renders. Models that cannot be built are named, never counted as passing. Exit 0 when no
    check failed, 1 when any did, 2 for bad input.
    """
    from mixbench.audit import run_audit
    from mixbench.report.tables import audit_summary_table

    stop_on_sigterm_as_on_ctrl_c()
    with StepProgress("audit") as progress:
        run, pipeline = run_audit(
            index_path,
            AuditOptions(**given),
            db_path=db_path,
            command=command_line(),
            on_progress=progress.update,
            warn=progress.warn,
        )
    table = rich_table(audit_summary_table(run.findings))
    emit(json_out, run.to_dict(), lambda: console.print(table, run.summary_line(), sep="\n"))
    pipeline.raise_if_unsaved()
    if any(report.status == "fail" for report in run.reports):
        sys.exit(EXIT_DIFFERENT)
