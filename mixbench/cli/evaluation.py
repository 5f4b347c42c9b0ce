"""``eval``: ImageNet top-1/top-5 with a card's preprocessing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import cli
from mixbench.cli.options import (
    amp_option,
    cache_dir_option,
    channels_last_option,
    data_option,
    db_option,
    debug_option,
    device_option,
    index_option,
    json_option,
    labels_option,
    pretrained_option,
    weights_option,
    workers_option,
)
from mixbench.cli.output import console, emit, rich_table
from mixbench.cli.runtime import is_main_rank, pipeline_for, stop_on_sigterm_as_on_ctrl_c
from mixbench.progress import EvalProgress

#: what ``eval`` passes to the evaluation beside its loop's options (EvalOptions)
_RUN_ARGUMENTS = ("weights", "pretrained", "labels", "real_labels", "cache_dir", "compare_fp32")


@cli.command("eval")
@click.argument("model_spec", metavar="MODEL")
@data_option
@labels_option
@weights_option
@pretrained_option
@click.option("--batch", "batch_size", type=click.IntRange(min=1), default=64, show_default=True)
@workers_option
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
@amp_option
@click.option(
    "--compare-fp32/--no-compare-fp32",
    default=None,
    help="Also evaluate the model as built in eager float32 on the same images and pair the "
    "predictions: the share of unchanged top-1 classes and the top-1 difference, with 95% "
    "intervals. Default: on when bf16 or fp16 is asked (--precision, --amp).",
)
@channels_last_option
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
@cache_dir_option
@json_option
@db_option
@index_option
@debug_option
def eval_command(
    model_spec: str,
    data: str | None,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
    **given: Any,
) -> None:
    """ImageNet top-1/top-5 of MODEL on --data, with its card's exact preprocessing.

    --json has the full result: per-class breakdown, settings, timing, versions, weights sha256.
    Several processes or GPUs: torchrun --nproc-per-node N -m mixbench eval ...
    """
    from mixbench.measure.accuracy.evaluation import EvalOptions
    from mixbench.report.evaluation import eval_table, path_lines

    if data is None:
        raise click.UsageError("Missing option '--data'.")
    stop_on_sigterm_as_on_ctrl_c()
    arguments = {name: given.pop(name) for name in _RUN_ARGUMENTS}
    options = EvalOptions.from_cli(**given)
    main_rank = is_main_rank()
    with EvalProgress(enabled=main_rank) as progress:
        pipeline = pipeline_for(db_path, progress, store=main_rank)
        report = pipeline.evaluate(
            model_spec, data, options=options, index_path=index_path, **arguments
        )
    if report is None:  # a torchrun rank other than 0: rank 0 reports for all
        return

    def render() -> None:
        console.print(rich_table(eval_table(report)))
        for line in path_lines(report):
            console.print(line, highlight=False)

    emit(json_out, report.to_dict(), render)
    pipeline.raise_if_unsaved()  # after the results were shown: they are never lost
