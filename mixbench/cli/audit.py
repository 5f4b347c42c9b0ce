"""``audit``: verify every card of an index and write what its maintainers should fix."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import db_option, debug_option, index_option, json_option
from mixbench.cli.output import console, emit_json, json_to_stdout, name_column, numeric_column
from mixbench.cli.runtime import command_line, stop_on_sigterm_as_on_ctrl_c
from mixbench.pipeline import Pipeline
from mixbench.progress import StepProgress
from mixbench.store import ResultsStore

#: not reports/: inside this repository that folder holds the committed reports
DEFAULT_OUT = Path("mixbench-audit")


@cli.command("audit")
@index_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for the Markdown report and its plot.",
)
@click.option("--name", "stem", default="audit", show_default=True, help="Report file stem.")
@click.option("--strict", is_flag=True, help="Treat every unknown card key as an error.")
@json_option
@db_option
@debug_option
def audit_command(
    index_path: Path | None,
    out: Path,
    stem: str,
    strict: bool,
    json_out: Path | None,
    db_path: Path | None,
) -> None:
    """Verify every card of an index (a folder of card files works) without weights, then
    write a report of what its maintainers should fix, with a plot of card FLOPs ÷ MACs.

    Each model is stored as it finishes, in OUT/NAME.sqlite unless --db (or MIXBENCH_DB)
    names a store: an audit of hundreds of cards is not mixed into the runs `mixbench report`
    renders. Models that cannot be built are named, never counted as passing. Exit 0 when no
    check failed, 1 when any did, 2 for bad input.
    """
    from mixbench.audit import audit_findings, suggest_alias_fixes
    from mixbench.environment import collect_environment
    from mixbench.index import default_index_path, load_index
    from mixbench.report.audit import write_audit
    from mixbench.verify import VerifyOptions

    stop_on_sigterm_as_on_ctrl_c()
    db_path = db_path if db_path is not None else out / f"{stem}.sqlite"
    index = load_index(index_path, strict=strict)  # bad cards: exit 2 before anything runs
    source = str(index_path or default_index_path())
    started = time.perf_counter()
    reports: list[Any] = []
    with StepProgress("audit") as progress:
        pipeline = Pipeline(
            ResultsStore(db_path),
            command=command_line(),
            on_progress=progress.update,
            warn=progress.warn,
        )
        pipeline.verify(
            ["all"],
            VerifyOptions(device="cpu", strict=strict),
            index_path=str(index_path) if index_path else None,
            on_report=reports.append,
        )
    elapsed = time.perf_counter() - started
    findings = audit_findings(reports, index)
    fixes = suggest_alias_fixes(findings, index)
    page = write_audit(
        findings,
        out,
        title=f"Audit of {Path(source).name or source}: {len(reports)} model cards",
        source=source,
        environment=collect_environment("cpu"),
        command=command_line(),
        stem=stem,
        elapsed_seconds=elapsed,
        alias_fixes=fixes,
    )
    emit_json(
        json_out,
        {
            "report": str(page),
            "elapsed_seconds": elapsed,
            **findings.to_dict(),
            "alias_fixes": [{**asdict(fix), "confirmed": fix.confirmed} for fix in fixes],
        },
    )
    if not json_to_stdout(json_out):
        console.print(_summary_table(findings))
        console.print(
            f"{len(reports)} cards audited in {elapsed:.0f} s; wrote {page}; the verify runs "
            f"are stored in {db_path} (`mixbench report --db {db_path}` renders them)"
        )
    pipeline.raise_if_unsaved()
    if any(report.status == "fail" for report in reports):
        sys.exit(EXIT_DIFFERENT)


def _summary_table(findings: Any) -> Table:
    table = Table(title="What the cards' maintainers should look at", title_justify="left")
    name_column(table, "finding")
    numeric_column(table, "cards")
    rows = [
        *((f"FLOPs found: {rule}", count) for rule, count in findings.flops_rules.items()),
        ("FLOPs blind to most of the model", len(findings.blind)),
        ("parameters that do not round to the model's", len(findings.params_mismatches)),
        ("preprocessing not the model's pretrained_cfg", len(findings.preprocessing_mismatches)),
        ("names timm resolves to another model", len(findings.renamed_to_another_model)),
        ("models that could not be built", len(findings.not_built)),
    ]
    for label, count in rows:
        table.add_row(label, str(count))
    return table
