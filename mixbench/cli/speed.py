"""``throughput``, ``latency`` and ``export-onnx``."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import cli
from mixbench.cli.options import (
    db_option,
    debug_option,
    device_option,
    index_option,
    json_option,
)
from mixbench.cli.output import (
    console,
    emit_json,
    json_to_stdout,
    rich_table,
)
from mixbench.cli.runtime import command_line, stop_on_sigterm_as_on_ctrl_c
from mixbench.pipeline import Pipeline
from mixbench.progress import StepProgress

# the names only: the CLI imports no torch before a command runs
from mixbench.runtimes.constants import COMPILE_MODES, DEFAULT_OPSET, EXPORT_FORMATS
from mixbench.store import ResultsStore

IMPL_HELP = (
    "Comma list of implementations: native (mixbench's optimised MixNet; +noopt as built) or "
    "timm, through PyTorch eager (default), +compile (torch.compile), +ort (ONNX Runtime), "
    "+openvino (OpenVINO), +tensorrt (TensorRT, GPU); ort, openvino and tensorrt alone run "
    "timm's graph. Modifiers: +nhwc +nchw "
    "+graphs (PyTorch), +trt (ONNX Runtime's TensorRT provider), +gpu +defaults (OpenVINO's "
    "GPU plugin; its own default precision)."
)
PRECISION_HELP = (
    "fp32, bf16, fp16 or a comma list (every implementation at each; rows are ranked within "
    "the precision they computed in, read back from the runtime). PyTorch autocasts; "
    "OpenVINO gets INFERENCE_PRECISION_HINT; ONNX Runtime and TensorRT a model in it."
)


speed_options = [
    device_option,
    click.option("--precision", "precision", help=PRECISION_HELP),
    click.option(
        "--amp", is_flag=True, help="timm's spelling: --precision fp16 on GPU, bf16 on CPU."
    ),
    click.option(
        "--dtype",
        type=click.Choice(["float16", "bfloat16", "float32"]),
        help="With --amp: the autocast dtype. Without: cast PyTorch model and input (pure).",
    ),
    click.option("--channels-last", is_flag=True, help="NHWC layout (unless +nchw/+nhwc)."),
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
        help=IMPL_HELP,
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
    click.option("--image-size", type=click.IntRange(min=32), help="Default: the card's."),
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


def _with_speed_options(command: Any) -> Any:
    for option in reversed(speed_options):
        command = option(command)
    return command


def _speed_settings(
    *,
    device: str | None,
    batch_size: int | None,
    precision: str | None,
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    optimize: bool,
    image_size: int | None,
    cuda_graphs: bool = False,
    compile_mode: str = "default",
    opset: int = DEFAULT_OPSET,
    timing: Any = None,
) -> Any:
    from mixbench.measure.device import pick_device
    from mixbench.measure.speed.run import SpeedSettings

    return SpeedSettings(
        device=pick_device(device),
        batch_size=batch_size,
        precision=precision,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        image_size=image_size,
        compile=compile_,
        cuda_graphs=cuda_graphs,
        optimize=optimize,
        **({} if timing is None else {"timing": timing}),
        compile_mode=compile_mode,
        opset=opset,
    )


def _speed_caption(report: Any, *, explain_bandwidth: bool = True) -> str:
    """How the figures were taken, under the table (the % bw column explained when it is
    shown)."""
    from mixbench.formatting import fmt_bytes

    if report.to_dict()["kind"] == "latency":
        calls = report.settings["timing"]["latency_iterations"]
        return f"{calls} calls per row, each timed until the device is done, rows alternating"
    trials = report.settings["timing"]["trials"]
    caption = f"median of {trials} interleaved trials"
    if report.bandwidth is not None and explain_bandwidth:
        caption += (
            f"; % bw: traffic/img × img/s over {fmt_bytes(report.bandwidth.peak)}/s "
            f"({report.bandwidth.source})"
        )
    return caption


_ENVIRONMENT_LINE = (
    ("gpu", "GPU"),
    ("driver", "driver"),
    ("cpu", "CPU"),
    ("torch", "torch"),
    ("timm", "timm"),
    ("cuda", "CUDA"),
    ("cudnn", "cuDNN"),
    ("onnxruntime", "onnxruntime"),
    ("openvino", "openvino"),
    ("tensorrt", "TensorRT"),
)


_CUDA_ONLY = ("cuda", "cudnn")


def _environment_line(environment: dict[str, str], *, on_cuda: bool = True) -> str:
    """What a speed figure depends on, in one line under its table (the CUDA and cuDNN
    versions torch was built with only when the run was on CUDA; the JSON has them all)."""
    return " · ".join(
        f"{label} {environment[key]}"
        for key, label in _ENVIRONMENT_LINE
        if key in environment and (on_cuda or key not in _CUDA_ONLY)
    )


def _ran_on_cuda(report: Any) -> bool:
    device = str(report.settings.get("device") or report.device or "")
    return device.startswith("cuda")


def _emit(report: Any, json_out: Path | None) -> None:
    """The table (one spec: :func:`mixbench.report.tables.speed_table`), then the lines under
    it, or the JSON."""
    from mixbench.report.tables import speed_notes, speed_table

    emit_json(json_out, report.to_dict())
    if json_to_stdout(json_out):
        return
    table = rich_table(speed_table(report))
    shown = any(column.header == "% bw" for column in table.columns)
    table.caption = _speed_caption(report, explain_bandwidth=shown)
    table.caption_justify = "left"
    console.print(table)
    for line in speed_notes(report):
        console.print(line, highlight=False)
    console.print(_environment_line(report.environment, on_cuda=_ran_on_cuda(report)))


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
@_with_speed_options
def throughput_command(
    model_specs: tuple[str, ...],
    batch_size: int | None,
    trials: int,
    trial_seconds: float | None,
    device: str | None,
    precision: str | None,
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    compile_mode: str,
    implementations: str,
    opset: int,
    optimize: bool,
    image_size: int | None,
    warmup_seconds: float | None,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """Images/s of each MODEL (default: every card) per implementation, side by side.

    Every row (an implementation at a precision) is timed interleaved, trial by trial, in one
    process. Before timing, each row's outputs are checked against timm's eager float32 at the
    bound of the precision it computed in (read back from its runtime); a row outside it is
    flagged and never ranked. Rows are ranked within their model and computed precision, and
    the speed-up column compares each mixbench row with each row on timm's graph. Exports
    (ONNX Runtime, OpenVINO, TensorRT) are made once and cached.
    """
    from mixbench.measure.speed.timing import timing_for

    stop_on_sigterm_as_on_ctrl_c()
    settings = _speed_settings(
        device=device,
        batch_size=batch_size,
        precision=precision,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        compile_=compile_,
        optimize=optimize,
        image_size=image_size,
        compile_mode=compile_mode,
        opset=opset,
    )
    settings = replace(
        settings,
        timing=timing_for(
            settings.torch_device,
            trials=trials,
            trial_seconds=trial_seconds,
            warmup_seconds=warmup_seconds,
        ),
    )
    with StepProgress("throughput") as progress:
        pipeline = Pipeline(
            ResultsStore(db_path), command=command_line(), on_progress=progress.update
        )
        report = pipeline.throughput(
            list(model_specs) or None, settings, implementations, index_path=index_path
        )
    _emit(report, json_out)
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
@_with_speed_options
def latency_command(
    model_spec: str,
    batch_size: int,
    iterations: int,
    cuda_graphs: bool,
    device: str | None,
    precision: str | None,
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    compile_mode: str,
    implementations: str,
    opset: int,
    optimize: bool,
    image_size: int | None,
    warmup_seconds: float | None,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """p50/p90/p99 milliseconds per call of MODEL, per implementation, after warm-up.

    Each call is timed from the call until the device is done (launch overhead included).
    """
    from mixbench.measure.speed.timing import timing_for

    stop_on_sigterm_as_on_ctrl_c()
    settings = _speed_settings(
        device=device,
        batch_size=batch_size,
        precision=precision,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        compile_=compile_,
        optimize=optimize,
        image_size=image_size,
        cuda_graphs=cuda_graphs,
        compile_mode=compile_mode,
        opset=opset,
    )
    settings = replace(
        settings,
        timing=timing_for(
            settings.torch_device, latency_iterations=iterations, warmup_seconds=warmup_seconds
        ),
    )
    with StepProgress("latency") as progress:
        pipeline = Pipeline(
            ResultsStore(db_path), command=command_line(), on_progress=progress.update
        )
        report = pipeline.latency(model_spec, settings, implementations, index_path=index_path)
    _emit(report, json_out)
    pipeline.raise_if_unsaved()


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
        click.option("--image-size", type=click.IntRange(min=32), help="Default: the card's."),
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
        click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file."),
        click.option(
            "--pretrained", is_flag=True, help="The card's published weights (Hugging Face)."
        ),
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
    model_spec: str,
    to: str,
    precision: str,
    *,
    optimized: bool,
    batch: int,
    static_batch: bool,
    image_size: int | None,
    opset: int | None,
    exporter: str | None,
    out: Path | None,
    weights: Path | None,
    pretrained: bool,
    json_out: Path | None,
    index_path: Path | None,
) -> None:
    from mixbench.cli.app import EXIT_DIFFERENT
    from mixbench.deploy import export_model, export_runtime

    export_runtime(to)  # the extra, before the model is built
    made = export_model(
        model_spec,
        to,
        out,
        precision=precision,
        optimized=optimized,
        batch=batch,
        dynamic_batch=not static_batch,
        image_size=image_size,
        opset=opset,
        weights=weights,
        pretrained=pretrained,
        exporter=exporter,
        index_path=index_path,
    )
    emit_json(json_out, made.to_dict())
    key, check = made.key, made.check
    if key.weights.startswith("random"):
        click.echo(
            f"warning: no weights given, the weights are random ({key.weights}); "
            "pass --weights FILE or --pretrained",
            err=True,
        )
    if not json_to_stdout(json_out):
        shape = "dynamic batch" if key.batch is None else f"batch {key.batch}"
        files = " + ".join(str(path) for path in made.files)
        console.print(
            f"wrote {files} ({made.bytes / 1e6:.1f} MB): {key.model} "
            f"({'optimised' if made.optimized else 'as built'}), {made.precision.asked}, "
            f"{shape}, {key.image_size}×{key.image_size}, opset {key.opset}, "
            f"{key.exporter} exporter; the card's preprocessing is in its metadata",
            highlight=False,
        )
        verdict = "agree" if check.agree else "DIFFER"
        console.print(
            f"outputs {verdict}: max relative difference {check.max_relative:.2e} "
            f"(bound {check.tolerance:.0e} for {made.precision.label}, "
            f"{made.precision.how}), top-1 {check.top1_same}/{check.images}, against "
            f"{check.reference}, batch {made.check_batch} on {made.provider}",
            highlight=False,
        )
    if not made.agree:
        sys.exit(EXIT_DIFFERENT)
