"""``throughput``, ``latency``, ``export`` and ``export-onnx``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import cli
from mixbench.cli.options import (
    amp_option,
    channels_last_option,
    db_option,
    debug_option,
    device_option,
    image_size_option,
    index_option,
    json_option,
    pretrained_option,
    weights_option,
    with_options,
)
from mixbench.cli.output import console, emit, emit_json, json_to_stdout
from mixbench.cli.runtime import pipeline_for, stop_on_sigterm_as_on_ctrl_c
from mixbench.progress import StepProgress

# the names only: the CLI imports no torch before a command runs
from mixbench.runtimes.constants import (
    COMPILE_MODES,
    DEFAULT_OPSET,
    EXPORT_FORMATS,
    IMPLEMENTATIONS_HELP,
    PRECISIONS_HELP,
)

speed_options = [
    device_option,
    click.option("--precision", "precision", help=PRECISIONS_HELP),
    amp_option,
    click.option(
        "--dtype",
        type=click.Choice(["float16", "bfloat16", "float32"]),
        help="With --amp: the autocast dtype. Without: cast PyTorch model and input (pure).",
    ),
    channels_last_option,
    click.option("--compile", "compile_", is_flag=True, help="torch.compile every PyTorch impl."),
    click.option(
        "--compile-mode",
        type=click.Choice(list(COMPILE_MODES)),
        default="default",
        show_default=True,
        help="torch.compile mode of +compile rows (inductor, always with freezing).",
    ),
    click.option(
        "--impl",
        "implementations",
        default="native,timm",
        show_default=True,
        help=IMPLEMENTATIONS_HELP,
    ),
    click.option(
        "--opset",
        type=click.IntRange(min=7),
        default=DEFAULT_OPSET,
        show_default=True,
        help="ONNX opset of exports (ONNX Runtime and TensorRT rows).",
    ),
    click.option(
        "--optimize/--no-optimize",
        default=True,
        show_default=True,
        help="Run native through mixbench.optimize (BN folded, MixConv merged ...).",
    ),
    image_size_option,
    click.option(
        "--warmup-seconds",
        type=click.FloatRange(min=0),
        help="Warm-up before timing (default: 1 on a GPU, 0.5 on a CPU).",
    ),
    json_option,
    db_option,
    index_option,
    debug_option,
]


@cli.command("throughput")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    help="Images per batch (default: 256 on GPU, 8 on CPU).",
)
@click.option("--trials", type=click.IntRange(min=1), default=5, show_default=True)
@click.option(
    "--trial-seconds",
    type=click.FloatRange(min=0.01),
    help="Each trial's length (default: 1 on a GPU, 0.5 on a CPU: the seven cards in about a "
    "minute).",
)
@with_options(*speed_options)
def throughput_command(
    model_specs: tuple[str, ...],
    implementations: str,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
    **options: Any,
) -> None:
    """Images/s of each MODEL (default: every card) per implementation, side by side.

    Every row (an implementation at a precision) is timed interleaved, trial by trial, in one
    process. Before timing, each row's outputs are checked against timm's eager float32 at the
    bound of the precision it computed in (read back from its runtime); a row outside it is
    flagged and never ranked. Rows are ranked within their model and computed precision, and
    the speed-up column compares each mixbench row with each row on timm's graph. Exports
    (ONNX Runtime, OpenVINO, TensorRT) are made once and cached.
    """
    from mixbench.measure.speed.run import SpeedSettings

    stop_on_sigterm_as_on_ctrl_c()
    settings = SpeedSettings.from_cli(**options)
    with StepProgress("throughput") as progress:
        pipeline = pipeline_for(db_path, progress)
        specs = list(model_specs) or None
        report = pipeline.throughput(specs, settings, implementations, index_path=index_path)
    _show_speed(report, json_out)
    pipeline.raise_if_unsaved()


@cli.command("latency")
@click.argument("model_spec", metavar="MODEL")
@click.option("--batch", "batch_size", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Timed calls per implementation.",
)
@click.option("--cuda-graphs", is_flag=True, help="Replay CUDA graphs (every impl; CUDA only).")
@with_options(*speed_options)
def latency_command(
    model_spec: str,
    implementations: str,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
    **options: Any,
) -> None:
    """p50/p90/p99 milliseconds per call of MODEL, per implementation, after warm-up.

    Each call is timed from the call until the device is done (launch overhead included).
    """
    from mixbench.measure.speed.run import SpeedSettings

    stop_on_sigterm_as_on_ctrl_c()
    settings = SpeedSettings.from_cli(**options)
    with StepProgress("latency") as progress:
        pipeline = pipeline_for(db_path, progress)
        report = pipeline.latency(model_spec, settings, implementations, index_path=index_path)
    _show_speed(report, json_out)
    pipeline.raise_if_unsaved()


def _show_speed(report: Any, json_out: Path | None) -> None:
    from mixbench.report.console import print_speed

    emit(json_out, report.to_dict(), lambda: print_speed(report))


def _export_options(command: Any) -> Any:
    options = [
        click.option(
            "--optimized",
            is_flag=True,
            help="Export mixbench.optimize's graph (BN folded, MixConv merged, in the form the "
            "target runtime runs fastest).",
        ),
        click.option(
            "--batch",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Batch of the check (and of the file, with --static-batch).",
        ),
        click.option(
            "--static-batch", is_flag=True, help="Fix the batch axis to --batch (default: dynamic)."
        ),
        image_size_option,
        click.option(
            "--opset",
            type=click.IntRange(min=7),
            help=f"ONNX opset (--to onnx; default {DEFAULT_OPSET}).",
        ),
        click.option(
            "--exporter",
            type=click.Choice(["dynamo", "torchscript"]),
            help="torch.onnx.export's exporter (--to onnx; default: dynamo when onnxscript is "
            "installed).",
        ),
        weights_option,
        pretrained_option,
        json_option,
        index_option,
        debug_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command("export")
@click.argument("model_spec", metavar="MODEL")
@click.option(
    "--to",
    "to",
    type=click.Choice(list(EXPORT_FORMATS)),
    default="onnx",
    show_default=True,
    help="onnx (ONNX Runtime and most runtimes) or openvino (IR: .xml + .bin).",
)
@click.option(
    "--precision",
    default="fp32",
    show_default=True,
    help="fp32, fp16 (onnx: a float16 model; openvino: float16 weights and hint) or bf16 "
    "(openvino: the hint in the IR's runtime options).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The file (.onnx or .xml; default: MODEL[-optimized]-PRECISION.onnx|.xml here).",
)
@_export_options
def export_command(model_spec: str, to: str, precision: str, **options: Any) -> None:
    """Write MODEL as a file to deploy (ONNX or OpenVINO IR) with its card's preprocessing
    in the file's metadata, and check it: the runtime that opens it runs a seeded batch, and
    its outputs are held against PyTorch's (timm's eager float32 model, same weights) at the
    bound of the precision it computed in, read back.

    Exit 1 when they disagree (the file is written all the same, to inspect). Needs the extra
    of the format: pip install 'mixbench[onnx]' or 'mixbench[openvino]'. Without --weights or
    --pretrained the weights are random (seeded): fine to measure, useless to deploy.
    """
    _export(model_spec, to, precision, **options)


@cli.command("export-onnx")
@click.argument("model_spec", metavar="MODEL")
@click.option(
    "--dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The .onnx file (default: MODEL[-optimized]-PRECISION.onnx here).",
)
@_export_options
def export_onnx_command(model_spec: str, dtype: str, **options: Any) -> None:
    """The same as ``mixbench export MODEL --to onnx`` (--dtype float16 is --precision fp16)."""
    from mixbench.measure.precision import canonical_precision

    _export(model_spec, "onnx", canonical_precision(dtype), **options)


def _export(
    model_spec: str, to: str, precision: str, json_out: Path | None, **options: Any
) -> None:
    from mixbench.cli.app import EXIT_DIFFERENT
    from mixbench.deploy import export_model, export_runtime

    export_runtime(to)  # the extra, before the model is built
    options["dynamic_batch"] = not options.pop("static_batch")
    made = export_model(model_spec, to, options.pop("out"), precision=precision, **options)
    emit_json(json_out, made.to_dict())
    if made.key.weights.startswith("random"):
        click.echo(
            f"warning: no weights given, the weights are random ({made.key.weights}); "
            "pass --weights FILE or --pretrained",
            err=True,
        )
    if not json_to_stdout(json_out):
        for line in made.summary_lines():
            console.print(line, highlight=False)
    if not made.agree:
        sys.exit(EXIT_DIFFERENT)
