"""``eval``: ImageNet top-1/top-5 with a card's preprocessing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
    numeric_column,
)
from mixbench.cli.runtime import command_line, is_main_rank, stop_on_sigterm_as_on_ctrl_c
from mixbench.formatting import fmt_count, fmt_percent
from mixbench.pipeline import Pipeline
from mixbench.progress import EvalProgress
from mixbench.store import ResultsStore

if TYPE_CHECKING:
    from mixbench.measure.accuracy.evaluation import EvalReport


def _eval_table(report: EvalReport) -> Table:
    settings = report.settings
    computed = settings.get("precision_computed") or settings.get("precision")
    asked = settings.get("precision")
    precision = computed if computed == asked else f"{computed} (asked {asked})"
    title = (
        f"{report.model} on {report.data['spec']}, through {settings.get('implementation')} "
        f"in {precision}"
        + ("" if report.weights else " — RANDOM WEIGHTS: these scores say nothing of a model")
    )
    table = Table(title=title, title_justify="left")
    for header in ("images", "top-1", "top-5"):
        numeric_column(table, header)
    row = [
        fmt_count(report.metrics.count),
        fmt_percent(report.metrics.top1),
        fmt_percent(report.metrics.top5),
    ]
    if report.real is not None:
        numeric_column(table, "ReaL top-1")
        numeric_column(table, "ReaL top-5")
        row += [fmt_percent(report.real.top1), fmt_percent(report.real.top5)]
    numeric_column(table, "unreadable")
    numeric_column(table, "images/s")
    numeric_column(table, "run")
    row += [
        str(len(report.bad_images)),
        f"{report.timing['images_per_second']:.1f}",
        str(report.run_id) if report.run_id is not None else "—",
    ]
    table.add_row(*row)
    return fit_to_console(table, "run", "unreadable")


def path_lines(report: EvalReport) -> list[str]:
    """Under the table: how the path's outputs compare with the float32 reference, and its
    pairing with eager float32 on these images (or that it was not paired)."""
    from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION

    settings = report.settings
    lines = []
    check = settings.get("outputs_check")
    if check:
        verdict = "agree" if check["agree"] else "DIFFER"
        lines.append(
            f"outputs of the first {check['images']} images vs {check['reference']}: {verdict}, "
            f"max relative difference {check['max_relative_difference']:.1e} (bound "
            f"{check['tolerance']:.0e} for {check['precision']}), top-1 "
            f"{check['top1_same']}/{check['images']}"
        )
    if report.agreement is not None:
        lines.append(agreement_line(report))
    elif (settings.get("implementation"), settings.get("precision")) != (
        DEFAULT_IMPLEMENTATION,
        "fp32",
    ):
        lines.append(
            "not paired with eager float32 on these images (pass --compare-fp32 to measure "
            "the share of unchanged top-1 classes)"
        )
    return lines


def agreement_line(report: EvalReport) -> str:
    """``top-1 unchanged on 99.3% of 50,000 images (95% CI ...) against ...``."""
    from mixbench.measure.accuracy.evaluation import REFERENCE_PATH

    pairs = report.agreement
    assert pairs is not None
    low, high = pairs.share_interval
    d_low, d_high = pairs.difference_interval
    return (
        f"against {REFERENCE_PATH} on the same images: top-1 unchanged on "
        f"{pairs.share:.2f}% of {pairs.images:,} (95% CI {low:.2f}–{high:.2f}); top-1 "
        f"{pairs.top1_difference:+.2f} points (95% CI {d_low:+.2f} to {d_high:+.2f}): "
        f"{pairs.lost} images lost, {pairs.gained} gained"
    )


@cli.command("eval")
@click.argument("model_spec", metavar="MODEL")
@click.option(
    "--data",
    required=True,
    help="ImageNet-val folder (synset folders, or flat with --labels), hf:NAME[:SPLIT] or "
    "synthetic[:N].",
)
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="Ground truth for a flat val folder: val.txt, LOC_val_solution.csv or TF's synset labels.",
)
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
@click.option("--batch", "batch_size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--workers", type=click.IntRange(min=0), help="DataLoader processes (default: min(4, cores))."
)
@device_option
@click.option(
    "--impl",
    "implementation",
    default="native+noopt",
    show_default=True,
    help="The runtime path the images go through: one name as for throughput (native, timm, "
    "native+compile, ort, native+ort, openvino, native+openvino, ...); native+noopt is the "
    "model as built, in PyTorch eager.",
)
@click.option(
    "--precision",
    help="fp32 (default), bf16 or fp16: autocast in PyTorch, INFERENCE_PRECISION_HINT in "
    "OpenVINO, a float16 model in ONNX Runtime; the precision computed is read back.",
)
@click.option("--amp", is_flag=True, help="Mixed precision (float16 on GPU, bfloat16 on CPU).")
@click.option(
    "--compare-fp32/--no-compare-fp32",
    default=None,
    help="Also evaluate the model as built in eager float32 on the same images and pair the "
    "predictions: the share of unchanged top-1 classes and the top-1 difference, with 95% "
    "intervals. Default: on when bf16 or fp16 is asked (--precision, --amp).",
)
@click.option("--channels-last", is_flag=True, help="NHWC memory layout.")
@click.option("--real-labels", is_flag=True, help="Also score against ImageNet-ReaL labels.")
@click.option(
    "--on-bad-image",
    type=click.Choice(["skip", "fail"]),
    default="skip",
    show_default=True,
    help="Unreadable images: exclude them with a warning, or stop the run.",
)
@click.option(
    "--checkpoint-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where interrupted runs keep their progress (default: ~/.cache/mixbench/eval).",
)
@click.option("--no-resume", is_flag=True, help="Start afresh and keep no resume log.")
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Hugging Face datasets cache (hf:)."
)
@json_option
@db_option
@index_option
@debug_option
def eval_command(
    model_spec: str,
    data: str,
    labels: Path | None,
    weights: Path | None,
    pretrained: bool,
    batch_size: int,
    workers: int | None,
    device: str | None,
    implementation: str,
    precision: str | None,
    amp: bool,
    compare_fp32: bool | None,
    channels_last: bool,
    real_labels: bool,
    on_bad_image: str,
    checkpoint_dir: Path | None,
    no_resume: bool,
    cache_dir: Path | None,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """ImageNet top-1/top-5 of MODEL on --data, with its card's exact preprocessing.

    --json has the full result: per-class breakdown, settings, timing, versions, weights sha256.
    Several processes or GPUs: torchrun --nproc-per-node N -m mixbench eval ...
    """
    from mixbench.measure.accuracy.evaluation import EvalOptions
    from mixbench.measure.device import pick_device

    stop_on_sigterm_as_on_ctrl_c()
    main_rank = is_main_rank()
    options = EvalOptions(
        batch_size=batch_size,
        workers=workers,
        device=pick_device(device),
        amp=amp,
        channels_last=channels_last,
        on_bad_image=on_bad_image,  # type: ignore[arg-type]
        resume=not no_resume,
        checkpoint_dir=checkpoint_dir,
        implementation=implementation,
        precision=precision,
    )
    with EvalProgress(enabled=main_rank) as progress:
        pipeline = Pipeline(
            ResultsStore(db_path) if main_rank else None,
            command=command_line(),
            on_progress=progress.update,
            warn=progress.warn,
        )
        report = pipeline.evaluate(
            model_spec,
            data,
            weights=weights,
            pretrained=pretrained,
            labels=labels,
            real_labels=real_labels,
            options=options,
            index_path=index_path,
            cache_dir=cache_dir,
            compare_fp32=compare_fp32,
        )
    if report is None:  # a torchrun rank other than 0: rank 0 reports for all
        return
    emit_json(json_out, report.to_dict())
    if not json_to_stdout(json_out):
        console.print(_eval_table(report))
        for line in path_lines(report):
            console.print(line, highlight=False)
    pipeline.raise_if_unsaved()  # after the results were shown: they are never lost
