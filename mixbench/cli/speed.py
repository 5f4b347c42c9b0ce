"""``throughput``, ``latency`` and ``export-onnx``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

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
    fit_to_console,
    json_to_stdout,
    name_column,
    numeric_column,
    text_column,
)
from mixbench.cli.runtime import command_line, stop_on_sigterm_as_on_ctrl_c
from mixbench.errors import InputError
from mixbench.pipeline import Pipeline
from mixbench.progress import StepProgress
from mixbench.store import ResultsStore

if TYPE_CHECKING:
    pass

# the names only: importing mixbench.measure.speed.onnx itself needs no onnxruntime either
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs", "max-autotune", "reduce-overhead")
DEFAULT_OPSET = 18


speed_options = [
    device_option,
    click.option("--amp", is_flag=True, help="Autocast (float16 on GPU, bfloat16 on CPU)."),
    click.option(
        "--dtype",
        type=click.Choice(["float16", "bfloat16", "float32"]),
        help="With --amp: the autocast dtype. Without: cast model and input (pure precision).",
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
        help="Comma list of native|timm|ort|native+ort, each with optional +compile +graphs "
        "+nhwc +nchw +noopt (PyTorch) or +trt (ONNX Runtime's TensorRT provider).",
    ),
    click.option(
        "--opset",
        type=click.IntRange(min=7),
        default=DEFAULT_OPSET,
        show_default=True,
        help="ONNX opset of ort / native+ort exports.",
    ),
    click.option(
        "--optimize/--no-optimize",
        default=True,
        show_default=True,
        help="Run native through mixbench.optimize (BN folded, MixConv merged ...).",
    ),
    click.option("--image-size", type=click.IntRange(min=32), help="Default: the card's."),
    click.option("--warmup-seconds", type=click.FloatRange(min=0), default=1.0, show_default=True),
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
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    optimize: bool,
    image_size: int | None,
    cuda_graphs: bool = False,
    compile_mode: str = "default",
    opset: int = DEFAULT_OPSET,
    timing: Any,
) -> Any:
    from mixbench.measure.device import pick_device
    from mixbench.measure.speed.run import SpeedSettings

    return SpeedSettings(
        device=pick_device(device),
        batch_size=batch_size,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        image_size=image_size,
        compile=compile_,
        cuda_graphs=cuda_graphs,
        optimize=optimize,
        timing=timing,
        compile_mode=compile_mode,
        opset=opset,
    )


def _flag_text(result: Any) -> str | None:
    """What the speed-up column says of a row whose outputs disagree with timm's."""
    check = getattr(result, "check", None)
    if check is None or check.agree:
        return None
    return "outputs differ"  # by how much: the line under the table


def _ratio_text(ratios: list[Any], model: str, implementation: str) -> str:
    return ", ".join(
        f"{r.ratio:.2f}× {r.baseline}"
        for r in ratios
        if r.model == model and r.implementation == implementation
    )


def _in_rank_order(report: Any) -> list[tuple[str, Any]]:
    """(rank text, row) per row: models in the order run, each model's rows fastest first;
    a row whose outputs disagree with timm's comes last, unranked ("—")."""
    ranks = report.ranks()
    models = list(dict.fromkeys(row.model for row in report.results))
    unranked = len(report.results) + 1

    def order(row: Any) -> tuple[int, int]:
        return models.index(row.model), ranks.get((row.model, row.implementation), unranked)

    rows = sorted(report.results, key=order)
    return [(str(ranks.get((row.model, row.implementation), "—")), row) for row in rows]


def _fastest_lines(report: Any, measure: str) -> list[str]:
    return [
        f"{ratio.model}: mixbench's fastest path, {ratio.implementation}, is "
        f"{ratio.ratio:.2f}× timm's fastest, {ratio.baseline} ({measure})"
        for ratio in report.fastest()
    ]


def _throughput_table(report: Any) -> Table:
    from mixbench.formatting import fmt_bytes

    settings = report.settings
    table = Table(
        title=f"throughput, batch {settings['batch_size']}, {settings['precision']}, "
        f"on {report.device}",
        title_justify="left",
        caption=_bandwidth_caption(report),
        caption_justify="left",
    )
    numeric_column(table, "#")
    for header in ("model", "impl", "layout"):
        name_column(table, header)
    for header in ("img/s", "min–max", "ms/batch", "peak mem", "traffic/img", "% bw"):
        numeric_column(table, header)
    text_column(table, "speed-up", justify="right")
    ratios = report.ratios()
    for rank, result in _in_rank_order(report):
        metrics = result.metrics(report.peak_bandwidth)
        fraction = metrics["bandwidth_fraction"]
        table.add_row(
            rank,
            result.model,
            result.implementation,
            result.layout,
            f"{metrics['images_per_second']:.1f}",
            f"{metrics['images_per_second_min']:.1f}–{metrics['images_per_second_max']:.1f}",
            f"{metrics['ms_per_batch']:.2f}",
            fmt_bytes(metrics["peak_memory_bytes"]),
            fmt_bytes(metrics["bytes_per_image"]),
            "—" if fraction is None else f"{100 * fraction:.1f}",
            _flag_text(result) or _ratio_text(ratios, result.model, result.implementation) or "—",
        )
    fit_to_console(table, "min–max", "layout", "% bw", "traffic/img")
    if not any(column.header == "% bw" for column in table.columns):
        table.caption = _bandwidth_caption(report, explain_bandwidth=False)
    return table


def _bandwidth_caption(report: Any, *, explain_bandwidth: bool = True) -> str | None:
    from mixbench.formatting import fmt_bytes

    if report.bandwidth is None:
        return None
    trials = report.settings["timing"]["trials"]
    if not explain_bandwidth:  # the % bw column did not fit
        return f"median of {trials} interleaved trials"
    return (
        f"median of {trials} interleaved trials; % bw: traffic/img × img/s over "
        f"{fmt_bytes(report.bandwidth.peak)}/s ({report.bandwidth.source})"
    )


_ENVIRONMENT_LINE = (
    ("gpu", "GPU"),
    ("driver", "driver"),
    ("cpu", "CPU"),
    ("torch", "torch"),
    ("timm", "timm"),
    ("cuda", "CUDA"),
    ("cudnn", "cuDNN"),
    ("onnxruntime", "onnxruntime"),
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


def _emit(report: Any, json_out: Path | None, table: Table) -> None:
    data = report.to_dict()
    emit_json(json_out, data)
    if not json_to_stdout(json_out):
        console.print(table)
        measure = "p50" if data["kind"] == "latency" else "images/s"
        for line in _fastest_lines(report, measure):
            console.print(line, highlight=False)
        console.print(_environment_line(report.environment, on_cuda=_ran_on_cuda(report)))
        from mixbench.measure.speed.run import runtime_notes

        for line in runtime_notes(report.results):
            console.print(line, highlight=False)


@cli.command("throughput")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    help="Images per batch (default: 256 on GPU, 16 on CPU).",
)
@click.option("--trials", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--trial-seconds", type=click.FloatRange(min=0.01), default=1.0, show_default=True)
@_with_speed_options
def throughput_command(
    model_specs: tuple[str, ...],
    batch_size: int | None,
    trials: int,
    trial_seconds: float,
    device: str | None,
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    compile_mode: str,
    implementations: str,
    opset: int,
    optimize: bool,
    image_size: int | None,
    warmup_seconds: float,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """Images/s of each MODEL (default: every card) per implementation, side by side.

    Implementations are timed interleaved, trial by trial, in one process; the speed-up column
    compares each native and ort implementation with each timm one. ort rows (ONNX Runtime, the
    onnx extra) are exported once and cached; their outputs are checked against timm's first,
    and a row whose outputs differ is flagged instead of ranked.
    """
    from mixbench.measure.speed.timing import TimingOptions

    stop_on_sigterm_as_on_ctrl_c()
    settings = _speed_settings(
        device=device,
        batch_size=batch_size,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        compile_=compile_,
        optimize=optimize,
        image_size=image_size,
        compile_mode=compile_mode,
        opset=opset,
        timing=TimingOptions(
            trials=trials, trial_seconds=trial_seconds, warmup_seconds=warmup_seconds
        ),
    )
    with StepProgress("throughput") as progress:
        pipeline = Pipeline(
            ResultsStore(db_path), command=command_line(), on_progress=progress.update
        )
        report = pipeline.throughput(
            list(model_specs) or None, settings, implementations, index_path=index_path
        )
    _emit(report, json_out, _throughput_table(report))


def _latency_table(report: Any) -> Table:
    settings = report.settings
    table = Table(
        title=f"latency, batch {settings['batch_size']}, {settings['precision']}, "
        f"on {report.device}",
        title_justify="left",
    )
    numeric_column(table, "#")
    for header in ("model", "impl", "layout"):
        name_column(table, header)
    for header in ("p50 ms", "p90 ms", "p99 ms", "mean ms", "calls"):
        numeric_column(table, header)
    text_column(table, "speed-up (p50)", justify="right")
    ratios = report.ratios()
    for rank, result in _in_rank_order(report):
        stats = result.stats
        table.add_row(
            rank,
            result.model,
            result.implementation,
            result.layout,
            f"{stats.p50:.3f}",
            f"{stats.p90:.3f}",
            f"{stats.p99:.3f}",
            f"{stats.mean:.3f}",
            str(len(stats.samples_ms)),
            _flag_text(result) or _ratio_text(ratios, result.model, result.implementation) or "—",
        )
    return fit_to_console(table, "mean ms", "p90 ms", "layout", "calls")


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
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    compile_mode: str,
    implementations: str,
    opset: int,
    optimize: bool,
    image_size: int | None,
    warmup_seconds: float,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """p50/p90/p99 milliseconds per call of MODEL, per implementation, after warm-up.

    Each call is timed from the call until the device is done (launch overhead included).
    """
    from mixbench.measure.speed.timing import TimingOptions

    stop_on_sigterm_as_on_ctrl_c()
    settings = _speed_settings(
        device=device,
        batch_size=batch_size,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        compile_=compile_,
        optimize=optimize,
        image_size=image_size,
        cuda_graphs=cuda_graphs,
        compile_mode=compile_mode,
        opset=opset,
        timing=TimingOptions(latency_iterations=iterations, warmup_seconds=warmup_seconds),
    )
    with StepProgress("latency") as progress:
        pipeline = Pipeline(
            ResultsStore(db_path), command=command_line(), on_progress=progress.update
        )
        report = pipeline.latency(model_spec, settings, implementations, index_path=index_path)
    _emit(report, json_out, _latency_table(report))


@cli.command("export-onnx")
@click.argument("model_spec", metavar="MODEL")
@click.option(
    "--optimized",
    is_flag=True,
    help="Export mixbench.optimize's model (BN folded, MixConv merged).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Batch of the check (and of the file, with --static-batch).",
)
@click.option(
    "--static-batch", is_flag=True, help="Fix the batch axis to --batch (default: dynamic)."
)
@click.option(
    "--dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True
)
@click.option("--image-size", type=click.IntRange(min=32), help="Default: the card's.")
@click.option("--opset", type=click.IntRange(min=7), default=DEFAULT_OPSET, show_default=True)
@click.option(
    "--exporter",
    type=click.Choice(["dynamo", "torchscript"]),
    help="torch.onnx.export's exporter (default: dynamo when onnxscript is installed).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The .onnx file (default: MODEL-...-opsetN.onnx here).",
)
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
@json_option
@index_option
@debug_option
def export_onnx_command(
    model_spec: str,
    optimized: bool,
    batch: int,
    static_batch: bool,
    dtype: str,
    image_size: int | None,
    opset: int,
    exporter: str | None,
    out: Path | None,
    weights: Path | None,
    pretrained: bool,
    json_out: Path | None,
    index_path: Path | None,
) -> None:
    """Write MODEL as an ONNX file to deploy, and check it: ONNX Runtime's outputs (CPU) on a
    random batch against the PyTorch model's in float32, as a max relative difference.

    Exit 1 when they disagree (the file is written all the same, to inspect). Needs the onnx
    extra: pip install 'mixbench[onnx]'. Without --weights or --pretrained the weights are
    random (seeded): fine to measure, useless to deploy.
    """
    from mixbench.cli.app import EXIT_DIFFERENT
    from mixbench.measure.speed.onnx import export_onnx, require_onnxruntime

    require_onnxruntime("export-onnx")  # before the model is built
    if out is not None and not out.parent.is_dir():
        raise InputError(
            f"--out {out}: the folder {out.parent} does not exist",
            hint="create it first, or pass another path",
        )
    made = export_onnx(
        model_spec,
        out,
        optimized=optimized,
        batch=batch,
        dtype=dtype,
        image_size=image_size,
        opset=opset,
        dynamic_batch=not static_batch,
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
        console.print(
            f"wrote {made.path} ({made.bytes / 1e6:.1f} MB): {key.model} "
            f"({'optimised' if optimized else 'as built'}), {key.dtype}, {shape}, "
            f"{key.image_size}×{key.image_size}, opset {key.opset}, {key.exporter} exporter",
            highlight=False,
        )
        verdict = "agree" if check.agree else "DIFFER"
        console.print(
            f"outputs {verdict}: max relative difference {check.max_relative:.2e} "
            f"(tolerance {check.tolerance:.0e}) against {check.reference}, "
            f"batch {made.check_batch} on {made.provider}",
            highlight=False,
        )
    if not made.agree:
        sys.exit(EXIT_DIFFERENT)
