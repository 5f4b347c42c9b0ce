"""``verify``, ``report`` and ``export-index``: published vs measured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import (
    db_option,
    debug_option,
    device_option,
    index_option,
    json_option,
)
from mixbench.cli.output import (
    console,
    drop_column,
    emit_json,
    fit_to_console,
    json_to_stdout,
    rich_table,
    table_min_width,
)
from mixbench.cli.runtime import command_line, stop_on_sigterm_as_on_ctrl_c
from mixbench.errors import InputError
from mixbench.pipeline import Pipeline
from mixbench.progress import StepProgress
from mixbench.report.tables import checks_table, verify_summary_table
from mixbench.store import ResultsStore

if TYPE_CHECKING:
    pass


#: narrower than this, the notes go under the table (one line per check), not in a column
_NOTE_MIN_WIDTH = 32
#: more models than this get one summary table (a row each), not a checks table each
SUMMARY_TABLE_OVER = 10


@dataclass
class _VerifyConsole:
    """What ``verify`` prints as models finish: each model's checks table as it is done, or,
    for more than :data:`SUMMARY_TABLE_OVER` models, one summary table at the end (hundreds of
    full tables would bury the one line per card a reader wants)."""

    quiet: bool  # the JSON goes to stdout: print nothing else there
    reports: list[Any] = field(default_factory=list)
    compact: bool = False

    def start(self, names: Sequence[str]) -> None:
        self.compact = len(names) > SUMMARY_TABLE_OVER

    def show(self, report: Any) -> None:
        self.reports.append(report)
        if not self.quiet and not self.compact:
            console.print(_verify_table(report))

    def finish(self) -> None:
        """The summary table of the models done (also after Ctrl-C: what finished)."""
        if not self.quiet and self.compact and self.reports:
            console.print(rich_table(verify_summary_table(self.reports)))


def _verify_table(report: Any) -> RenderableType:
    """The checks, fitted to the console: the tolerance column goes first, then the notes
    move under the table (one line per check) rather than into a column too narrow to read."""
    for with_tolerance in (True, False):
        table = _checks_table(report, with_notes=True, with_tolerance=with_tolerance)
        fit_to_console(table)
        note = table.columns[-1]
        if table_min_width(table) <= console.width and (note.width or 1000) >= _NOTE_MIN_WIDTH:
            return table
    table = _checks_table(report, with_notes=False, with_tolerance=True)
    notes = [Text(f"{check.label}: {check.reason}") for check in report.checks if check.reason]
    return Group(fit_to_console(table, "tolerance"), *notes)


def _checks_table(report: Any, *, with_notes: bool, with_tolerance: bool) -> Table:
    tally = report.tally()
    spec = checks_table(report.model, report.checks, with_notes=with_notes)
    table = rich_table(spec, title=f"{report.model}: {report.headline()}\n{tally}")
    if not with_tolerance and any(c.header == "tolerance" for c in table.columns):
        drop_column(table, "tolerance")
    return table


def _make_report_folder(path: Path | None) -> None:
    """Fail before the measurements, not after, when the report cannot be written."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"--report {path}: cannot create the folder {path.parent}: {error.strerror or error}",
            hint="pass a path in a folder you can write to",
        ) from error
    from mixbench.io import check_writable

    check_writable(path, "--report")


@cli.command("verify")
@click.argument("model_specs", metavar="MODEL|all", nargs=-1, required=True)
@click.option("--data", help="ImageNet-val folder, hf:NAME[:SPLIT] (enables top-1/top-5).")
@click.option("--labels", type=click.Path(path_type=Path), help="Labels for a flat val folder.")
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
@device_option
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    help="Images per batch for accuracy (default: 64) and speed (default: throughput's, 8 on "
    "a CPU).",
)
@click.option("--workers", type=click.IntRange(min=0), help="DataLoader processes.")
@click.option("--amp", is_flag=True, help="Mixed precision for evaluation and speed.")
@click.option(
    "--impl",
    "implementation",
    help="The path people deploy (needs --data): evaluate through this implementation "
    "(ort, native+ort, openvino, native+openvino, timm+compile, ...) and check it keeps the "
    "card: top-1 agreement with eager float32 and the top-1 change, with 95% intervals.",
)
@click.option(
    "--precision",
    help="The deployed path's precision (fp32, bf16, fp16), read back from its runtime.",
)
@click.option("--throughput", "with_speed", is_flag=True, help="Also measure speed (info).")
@click.option(
    "--require",
    metavar="CHECK,...",
    help="Checks that must pass: a required check that is skipped, inconclusive or info fails "
    "(e.g. top1,top5,file_size).",
)
@click.option("--strict", is_flag=True, help="Treat every unknown card key as an error.")
@click.option(
    "--tolerance",
    default="top1=0.1,top5=0.1,deployed=0.2",
    show_default=True,
    help="Tolerances in percentage points: top1/top5 against the card; deployed: the top-1 "
    "change of the --impl/--precision path against eager float32.",
)
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Hugging Face datasets cache (hf:)."
)
@json_option
@click.option(
    "--report",
    "report_out",
    metavar="OUT.md",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a Markdown report (plots beside it); also to $GITHUB_STEP_SUMMARY when set.",
)
@db_option
@index_option
@debug_option
def verify_command(
    model_specs: tuple[str, ...],
    data: str | None,
    labels: Path | None,
    weights: Path | None,
    pretrained: bool,
    device: str | None,
    batch_size: int | None,
    workers: int | None,
    amp: bool,
    implementation: str | None,
    precision: str | None,
    with_speed: bool,
    require: str | None,
    strict: bool,
    tolerance: str,
    cache_dir: Path | None,
    json_out: Path | None,
    report_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """Check MODEL's card (or every card: all) against measurements.

    Each check ends pass, fail, inconclusive, skipped (with what to pass) or info; the headline
    says how many ran. Exit 0 when no check failed, 1 when any failed, 2 for bad input.
    """
    from mixbench.measure.device import pick_device
    from mixbench.report.verify import append_step_summary, write_markdown_report
    from mixbench.verify import VerifyOptions

    _make_report_folder(report_out)
    stop_on_sigterm_as_on_ctrl_c()
    options = VerifyOptions.from_cli(
        data=data,
        labels=labels,
        weights=weights,
        pretrained=pretrained,
        device=pick_device(device),
        batch_size=batch_size,
        workers=workers,
        amp=amp,
        throughput=with_speed,
        tolerance=tolerance,
        cache_dir=cache_dir,
        require=require,
        strict=strict,
        implementation=implementation,
        precision=precision,
    )
    output = _VerifyConsole(quiet=json_to_stdout(json_out))
    reports = output.reports
    try:
        with StepProgress("verify") as progress:

            def show(report: Any) -> None:
                for warning in report.warnings:
                    progress.warn(f"{report.model}: card: {warning}")
                output.show(report)

            pipeline = Pipeline(
                ResultsStore(db_path),
                command=command_line(),
                on_progress=progress.update,
                warn=progress.warn,
            )
            pipeline.verify(
                model_specs,
                options,
                index_path=index_path,
                on_report=show,
                on_start=output.start,
            )
    finally:
        # also when a later model fails or Ctrl-C stops the run: the finished ones are written
        output.finish()
        if reports:
            emit_json(json_out, [r.to_dict() for r in reports])
            if report_out is not None:
                write_markdown_report(reports, report_out)
            else:
                append_step_summary(reports)
    failed = [r.model for r in reports if r.status == "fail"]
    if not json_to_stdout(json_out):
        console.print(_verify_summary_line(reports))
    pipeline.raise_if_unsaved()  # shown and written above; said now, exit 2
    if failed:
        sys.exit(EXIT_DIFFERENT)


def _verify_summary_line(reports: list[Any]) -> str:
    """``7 model(s) verified: FAIL: mixnet_s — 49 of 70 checks ran (not run: ...)``; models
    that could not be built are named too (``NOT BUILT: dla46_c``): never a silent pass."""
    failed = [r.model for r in reports if r.status == "fail"]
    unsure = [r.model for r in reports if r.status == "inconclusive"]
    unbuilt = [r.model for r in reports if r.not_built is not None]
    if failed:
        verdict = f"FAIL: {', '.join(failed)}"
    elif unsure:
        verdict = f"INCONCLUSIVE: {', '.join(unsure)}"
    else:
        verdict = "PASS" if len(unbuilt) < len(reports) else ""  # of the models built
    if unbuilt:
        verdict = "; ".join(part for part in (verdict, f"NOT BUILT: {', '.join(unbuilt)}") if part)
    coverages = [r.coverage() for r in reports]
    ran = sum(c["ran"] for c in coverages)
    total = sum(c["total"] for c in coverages)
    not_run = list(dict.fromkeys(label for c in coverages for label in c["not_run_labels"]))
    text = f"{len(reports)} model(s) verified: {verdict} — {ran} of {total} checks ran"
    return text + (f" (not run: {', '.join(not_run)})" if not_run else "")


@cli.command("report")
@click.argument("models", metavar="[MODEL]...", nargs=-1)
@db_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    # not reports/: inside this repository that folder holds the committed reports
    default=Path("mixbench-report"),
    show_default=True,
    help="Folder for verify-summary.md, one verify-MODEL.md per model, and the plots.",
)
@json_option
@debug_option
def report_command(
    models: tuple[str, ...], db_path: Path | None, out: Path, json_out: Path | None
) -> None:
    """Render verify runs of the results store as Markdown + plots: the models the newest
    verify command verified, or each MODEL's newest verify run.

    --json: the files written and the runs rendered (model, run id, status, time).
    """
    from mixbench.report.verify import latest_verify_reports, render_from_store

    store = ResultsStore(db_path)
    written = render_from_store(store, out, models=list(models) or None)
    if json_out is not None:
        rendered = latest_verify_reports(store, list(models) or None)
        emit_json(json_out, _report_json(out, written, rendered))
    if not json_to_stdout(json_out):
        for path in written:
            console.print(f"wrote {path}")


def _report_json(out: Path, written: list[Path], reports: list[Any]) -> dict[str, Any]:
    return {
        "out": str(out),
        "written": [str(path) for path in written],
        "runs": [
            {
                "model": report.model,
                "run_id": report.run_id,
                "status": report.status,
                "created": report.created,
            }
            for report in reports
        ],
    }


@cli.command("export-index")
@click.argument("models", metavar="[MODEL]...", nargs=-1)
@db_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="Model-index YAML file to write ('-': stdout).",
)
@json_option
@debug_option
def export_index_command(
    models: tuple[str, ...], db_path: Path | None, out: Path, json_out: Path | None
) -> None:
    """Measured results from the results store as model-index YAML.

    Then: mixbench diff index measured.yml  (published vs measured, field by field)

    --json: the measured models as JSON; alone, on stdout instead of the YAML (--out FILE
    still gets the YAML).
    """

    from mixbench.export import export_index, measured_models

    to_stdout = str(out) == "-"
    store = ResultsStore(db_path)
    text = export_index(store, None if to_stdout else out, models=list(models) or None)
    if json_out is not None:
        measured = measured_models(store, list(models) or None)
        emit_json(json_out, [model.to_dict() for model in measured])
    if json_to_stdout(json_out):
        return
    if to_stdout:
        click.echo(text, nl=False)
    else:
        console.print(f"wrote {out}")
