"""``throughput``, ``latency``, ``export`` and ``export-onnx``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import cli
from mixbench.cli.options import common_options, options_of, weights_options, with_options
from mixbench.cli.output import console, emit, emit_json, json_to_stdout
from mixbench.cli.runtime import command_line, stop_on_sigterm_as_on_ctrl_c
from mixbench.deploy import ExportOptions
from mixbench.measure.options import SpeedSettings, TimingOptions
from mixbench.pipeline import Pipeline
from mixbench.progress import StepProgress

# the names only: the CLI imports no torch before a command runs
from mixbench.runtimes.constants import IMPLEMENTATIONS_HELP

speed_options = with_options(
    click.option(
        "--impl",
        "implementations",
        default="native,timm",
        show_default=True,
        help=IMPLEMENTATIONS_HELP,
    ),
    options_of(SpeedSettings, exclude=("batch_size", "cuda_graphs")),
    options_of(TimingOptions, "warmup_seconds"),
    common_options(db=True, index=True),
)


@cli.command("throughput")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@options_of(SpeedSettings, "batch_size")
@options_of(TimingOptions, "trials", "trial_seconds")
@speed_options
def throughput_command(model_specs: tuple[str, ...], **given: Any) -> None:
    """Images/s of each MODEL (default: every card) per implementation, side by side.

    Every row (an implementation at a precision) is timed interleaved, trial by trial, in one
    process. Before timing, each row's outputs are checked against timm's eager float32 at the
    bound of the precision it computed in (read back from its runtime); a row outside it is
    flagged and never ranked. Rows are ranked within their model and computed precision, and
    the speed-up column compares each mixbench row with each row on timm's graph. Exports
    (ONNX Runtime, OpenVINO, TensorRT) are made once and cached.
    """
    _measure_speed("throughput", list(model_specs) or None, **given)


@cli.command("latency")
@click.argument("model_spec", metavar="MODEL")
@click.option("--batch", "batch_size", type=click.IntRange(min=1), default=1, show_default=True)
@options_of(TimingOptions, "latency_iterations")
@options_of(SpeedSettings, "cuda_graphs")
@speed_options
def latency_command(model_spec: str, **given: Any) -> None:
    """p50/p90/p99 milliseconds per call of MODEL, per implementation, after warm-up.

    Each call is timed from the call until the device is done (launch overhead included).
    """
    _measure_speed("latency", model_spec, **given)


def _measure_speed(
    kind: str,
    specs: Any,
    implementations: str,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
    **options: Any,
) -> None:
    """``throughput`` or ``latency`` (the pipeline's method of that name) of ``specs``."""
    from mixbench.report.console import print_speed

    stop_on_sigterm_as_on_ctrl_c()
    settings = SpeedSettings.from_cli(**options)
    with StepProgress(kind) as progress:
        pipeline = Pipeline.of_command(db_path, progress, command=command_line())
        measure = getattr(pipeline, kind)
        report = measure(specs, settings, implementations, index_path=index_path)
    emit(json_out, report.to_dict(), lambda: print_speed(report))
    pipeline.raise_if_unsaved()


@cli.command("export")
@click.argument("model_spec", metavar="MODEL")
@options_of(ExportOptions)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The file (.onnx or .xml; default: MODEL[-optimized]-PRECISION.onnx|.xml here).",
)
@weights_options
@common_options(index=True)
def export_command(model_spec: str, **given: Any) -> None:
    """Write MODEL as a file to deploy (ONNX or OpenVINO IR) with its card's preprocessing
    in the file's metadata, and check it: the runtime that opens it runs a seeded batch, and
    its outputs are held against PyTorch's (timm's eager float32 model, same weights) at the
    bound of the precision it computed in, read back.

    Exit 1 when they disagree (the file is written all the same, to inspect). Needs the extra
    of the format: pip install 'mixbench[onnx]' or 'mixbench[openvino]'. Without --weights or
    --pretrained the weights are random (seeded): fine to measure, useless to deploy.
    """
    _export(model_spec, **given)


@cli.command("export-onnx")
@click.argument("model_spec", metavar="MODEL")
@click.option(
    "--dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True
)
@options_of(ExportOptions, exclude=("to", "precision"))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The .onnx file (default: MODEL[-optimized]-PRECISION.onnx here).",
)
@weights_options
@common_options(index=True)
def export_onnx_command(model_spec: str, dtype: str, **given: Any) -> None:
    """The same as ``mixbench export MODEL --to onnx`` (--dtype float16 is --precision fp16)."""
    from mixbench.measure.precision import canonical_precision

    _export(model_spec, to="onnx", precision=canonical_precision(dtype), **given)


def _export(
    model_spec: str,
    out: Path | None,
    weights: Path | None,
    pretrained: bool,
    index_path: Path | None,
    json_out: Path | None,
    **options: Any,
) -> None:
    from mixbench.cli.app import EXIT_DIFFERENT
    from mixbench.deploy import export_model, export_runtime

    export_runtime(options["to"])  # the extra, before the model is built
    where = {"weights": weights, "pretrained": pretrained, "index_path": index_path}
    made = export_model(model_spec, ExportOptions(**options), out, **where)
    emit_json(json_out, made.to_dict())
    for warning in made.warnings():
        click.echo(f"warning: {warning}", err=True)
    if not json_to_stdout(json_out):
        for line in made.summary_lines():
            console.print(line, highlight=False)
    if not made.agree:
        sys.exit(EXIT_DIFFERENT)
