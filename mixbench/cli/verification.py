"""``verify``, ``report`` and ``export-index``: published vs measured."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import db_option, debug_option, index_option
from mixbench.cli.output import (
    VERDICT_STYLE,
    check_writable,
    console,
    write_json_file,
)
from mixbench.cli.runtime import stop_on_sigterm_as_on_ctrl_c
from mixbench.errors import InputError
from mixbench.formatting import fmt_delta, fmt_value
from mixbench.index import load_index
from mixbench.progress import StepProgress
from mixbench.store import ResultsStore

if TYPE_CHECKING:
    pass


def _fmt_check_value(value: object) -> str:
    if isinstance(value, float) and not value.is_integer() and abs(value) < 1e-2:
        return f"{value:.2e}"
    return fmt_value(value)


def _verify_table(report: Any) -> Table:
    counts = report.counts()
    tally = ", ".join(
        f"{counts[status]} {word}"
        for status, word in (
            ("pass", "passed"),
            ("fail", "failed"),
            ("inconclusive", "inconclusive"),
            ("skipped", "skipped"),
            ("info", "info"),
        )
        if counts[status] or status != "inconclusive"
    )
    table = Table(
        title=f"{report.model}: {report.headline()}\n{tally}",
        title_justify="left",
    )
    for header in ("check", "published", "measured", "Δ", "tolerance", "verdict", "note"):
        justify = "right" if header in ("published", "measured", "Δ") else "left"
        table.add_column(header, justify=justify)
    for check in report.checks:
        style = VERDICT_STYLE[check.status]
        table.add_row(
            check.label,
            _fmt_check_value(check.published),
            _fmt_check_value(check.measured),
            fmt_delta(check.delta),
            check.tolerance or "",
            f"[{style}]{check.status}[/]",
            check.reason or "",
        )
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


@cli.command("verify")
@click.argument("model_specs", metavar="MODEL|all", nargs=-1, required=True)
@click.option("--data", help="ImageNet-val folder, hf:NAME[:SPLIT] (enables top-1/top-5).")
@click.option("--labels", type=click.Path(path_type=Path), help="Labels for a flat val folder.")
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
@click.option("--device", help="cpu, cuda or cuda:N (default: cuda when present).")
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    help="Images per batch for accuracy and speed (default: 64).",
)
@click.option("--workers", type=click.IntRange(min=0), help="DataLoader processes.")
@click.option("--amp", is_flag=True, help="Mixed precision for evaluation and speed.")
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
    default="top1=0.1,top5=0.1",
    show_default=True,
    help="Accuracy tolerance in percentage points, per metric.",
)
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Hugging Face datasets cache (hf:)."
)
@click.option(
    "--json",
    "json_out",
    metavar="OUT",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Write the reports as JSON to OUT, '-' for stdout.",
)
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
    from mixbench.verify import (
        VerifyOptions,
        open_evaluation_data,
        parse_require,
        parse_tolerance,
        validate_options,
        verify,
    )

    check_writable(json_out)
    _make_report_folder(report_out)
    stop_on_sigterm_as_on_ctrl_c()
    if batch_size is not None and data is None and not with_speed:
        raise InputError(
            "--batch is for the accuracy and speed checks: pass --data or --throughput",
            hint="drop --batch, or add what it is for",
        )
    options = VerifyOptions(
        data=data,
        labels=str(labels) if labels else None,
        weights=str(weights) if weights else None,
        pretrained=pretrained,
        device=pick_device(device),
        batch_size=batch_size or 64,
        workers=workers,
        amp=amp,
        throughput=with_speed,
        tolerance=parse_tolerance(tolerance),
        cache_dir=str(cache_dir) if cache_dir else None,
        require=parse_require(require),
        strict=strict,
    )
    validate_options(options)
    index = load_index(index_path, strict=strict)
    names = [card.name for card in index] if "all" in model_specs else list(model_specs)
    if len(names) > 1 and weights is not None:
        raise InputError(
            "--weights names one file, but several models are verified",
            hint="verify one model with --weights, or use --pretrained for all",
        )
    store = ResultsStore(db_path)
    store.check()
    source = open_evaluation_data(options)  # a bad --data is refused before any model runs
    command = shlex.join(["mixbench", *sys.argv[1:]])
    groups = 7 if with_speed else 6
    reports: list[Any] = []
    try:
        with StepProgress("verify") as progress:
            for number, name in enumerate(names):
                started = [0]

                def on_check(
                    group: str, check: object, n: int = number, s: list[int] = started
                ) -> None:
                    if check is None:
                        s[0] += 1
                        done, total = n * groups + s[0], len(names) * groups
                        progress.update(f"{names[n]}: {group}", done, total)

                report = verify(
                    name,
                    options,
                    index=index,
                    store=store,
                    command=command,
                    on_check=on_check,
                    warn=progress.warn,
                    source=source,
                )
                reports.append(report)
                for warning in report.warnings:
                    progress.warn(f"{report.model}: card: {warning}")
                if json_out is None or str(json_out) != "-":
                    console.print(_verify_table(report))
    finally:
        # also when a later model fails or Ctrl-C stops the run: the finished ones are written
        if reports:
            if json_out is not None:
                write_json_file(json_out, [r.to_dict() for r in reports])
            if report_out is not None:
                write_markdown_report(reports, report_out)
            else:
                append_step_summary(reports)
    failed = [r.model for r in reports if r.status == "fail"]
    if json_out is None or str(json_out) != "-":
        console.print(_verify_summary_line(reports))
    if failed:
        sys.exit(EXIT_DIFFERENT)


def _verify_summary_line(reports: list[Any]) -> str:
    """``7 model(s) verified: FAIL: mixnet_s — 49 of 70 checks ran (not run: ...)``."""
    failed = [r.model for r in reports if r.status == "fail"]
    unsure = [r.model for r in reports if r.status == "inconclusive"]
    if failed:
        verdict = f"FAIL: {', '.join(failed)}"
    elif unsure:
        verdict = f"INCONCLUSIVE: {', '.join(unsure)}"
    else:
        verdict = "PASS"
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
    default=Path("reports"),
    show_default=True,
    help="Folder for verify-summary.md, one verify-MODEL.md per model, and the plots.",
)
@debug_option
def report_command(models: tuple[str, ...], db_path: Path | None, out: Path) -> None:
    """Render the newest verify run of each model in the results store as Markdown + plots."""
    from mixbench.report.verify import render_from_store

    written = render_from_store(ResultsStore(db_path), out, models=list(models) or None)
    for path in written:
        console.print(f"wrote {path}")


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
@debug_option
def export_index_command(models: tuple[str, ...], db_path: Path | None, out: Path) -> None:
    """Measured results from the results store as model-index YAML.

    Then: mixbench diff index measured.yml  (published vs measured, field by field)
    """
    from mixbench.export import export_index

    to_stdout = str(out) == "-"
    text = export_index(
        ResultsStore(db_path), None if to_stdout else out, models=list(models) or None
    )
    if to_stdout:
        click.echo(text, nl=False)
    else:
        console.print(f"wrote {out}")
