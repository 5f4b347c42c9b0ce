"""``verify``, ``report`` and ``export-index``: published vs measured."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import common_options, options_of
from mixbench.cli.output import console, emit, emit_json, json_to_stdout, warn_notes
from mixbench.cli.runtime import command_line, stop_on_sigterm_as_on_ctrl_c
from mixbench.export_formats import IndexExportOptions
from mixbench.pipeline import Pipeline
from mixbench.progress import StepProgress
from mixbench.store import ResultsStore
from mixbench.verify.options import VerifyOptions


@cli.command("verify")
@click.argument("model_specs", metavar="MODEL|all", nargs=-1, required=True)
@options_of(VerifyOptions)
@click.option(
    "--report",
    "report_out",
    metavar="OUT.md",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a Markdown report (plots beside it); also to $GITHUB_STEP_SUMMARY when set.",
)
@common_options(db=True, index=True)
def verify_command(
    model_specs: tuple[str, ...],
    json_out: Path | None,
    report_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
    **options: Any,
) -> None:
    """Check MODEL's card (or every card: all) against measurements.

    Each check ends pass, fail, inconclusive, skipped (with what to pass) or info; the headline
    says how many ran. Exit 0 when no check failed, 1 when any failed, 2 for bad input.
    """
    from mixbench.io import prepare_output
    from mixbench.report.console import VerifyConsole
    from mixbench.report.verify import write_markdown

    if report_out is not None:
        prepare_output(report_out, "--report")
    stop_on_sigterm_as_on_ctrl_c()
    verify_options = VerifyOptions.from_cli(**options)
    output = VerifyConsole(quiet=json_to_stdout(json_out))
    try:
        with StepProgress("verify") as progress:
            pipeline = Pipeline.of_command(db_path, progress, command=command_line())
            pipeline.verify(
                model_specs,
                verify_options,
                index_path=index_path,
                on_report=partial(output.show, warn=progress.warn),
                on_start=output.start,
            )
    finally:
        # also when a later model fails or Ctrl-C stops the run: the finished ones are written
        output.finish()
        if output.reports:
            emit_json(json_out, [r.to_dict() for r in output.reports])
            write_markdown(output.reports, report_out)
    pipeline.raise_if_unsaved()  # shown and written above; said now, exit 2
    if any(r.status == "fail" for r in output.reports):
        sys.exit(EXIT_DIFFERENT)


@cli.command("report")
@click.argument("models", metavar="[MODEL]...", nargs=-1)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    # not reports/: inside this repository that folder holds the committed reports
    default=Path("mixbench-report"),
    show_default=True,
    help="Folder for verify-summary.md, one verify-MODEL.md per model, and the plots.",
)
@common_options(db=True)
def report_command(
    models: tuple[str, ...], db_path: Path | None, out: Path, json_out: Path | None
) -> None:
    """Render verify runs of the results store as Markdown + plots: the models the newest
    verify command verified, or each MODEL's newest verify run.

    --json: the files written and the runs rendered (model, run id, status, time).
    """
    from mixbench.report.verify import latest_verify_reports, render_from_store, rendered_json

    store = ResultsStore(db_path)
    written = render_from_store(store, out, models=list(models) or None)
    rendered = latest_verify_reports(store, list(models) or None) if json_out else []
    emit(
        json_out,
        rendered_json(out, written, rendered),
        lambda: [console.print(f"wrote {path}") for path in written],
    )


@cli.command("export-index")
@click.argument("models", metavar="[MODEL]...", nargs=-1)
@options_of(IndexExportOptions)
@common_options(db=True)
def export_index_command(
    models: tuple[str, ...], db_path: Path | None, json_out: Path | None, **given: Any
) -> None:
    """Measured results from the results store as model-index YAML, or Hugging Face's eval
    results / card front matter (top-1 and top-5, a folder per model).

    Then: mixbench diff index measured.yml  (published vs measured, field by field)

    --json: the measured models as JSON; alone, on stdout instead of the YAML (--out FILE
    still gets the YAML). With a folder format: the files written and the models.
    """
    from mixbench.export import export_index, measured_models
    from mixbench.export_formats import export_folder

    options = IndexExportOptions(**given)
    store = ResultsStore(db_path)
    if options.format != "model-index":  # Hugging Face's forms: a folder per model
        done = export_folder(store, options.file, options.format, models=list(models) or None)
        emit(
            json_out,
            done.to_dict(),
            lambda: [*map(click.echo, done.lines()), warn_notes(done.notes)],
        )
        return
    text = export_index(store, options.file, models=list(models) or None)
    if json_out is not None:
        measured = measured_models(store, list(models) or None)
        emit_json(json_out, [model.to_dict() for model in measured])
    if json_to_stdout(json_out):
        return
    if options.file is None:
        click.echo(text, nl=False)
    else:
        console.print(f"wrote {options.file}")
