"""``eval``: ImageNet top-1/top-5 with a card's preprocessing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import cli
from mixbench.cli.options import common_options, data_options, options_of, weights_options
from mixbench.cli.output import emit, print_table
from mixbench.cli.runtime import command_line, is_main_rank, stop_on_sigterm_as_on_ctrl_c
from mixbench.measure.options import EvalOptions
from mixbench.pipeline import Pipeline
from mixbench.progress import EvalProgress
from mixbench.verify.options import VerifyOptions

#: what ``eval`` passes to the evaluation beside its loop's options (EvalOptions)
_RUN_ARGUMENTS = ("weights", "pretrained", "labels", "real_labels", "cache_dir", "compare_fp32")


@cli.command("eval")
@click.argument("model_spec", metavar="MODEL")
@data_options
@weights_options
@options_of(EvalOptions)
@click.option(
    "--compare-fp32/--no-compare-fp32",
    default=None,
    help="Also evaluate the model as built in eager float32 on the same images and pair the "
    "predictions: the share of unchanged top-1 classes and the top-1 difference, with 95% "
    "intervals. Default: on when bf16 or fp16 is asked (--precision, --amp).",
)
@click.option("--real-labels", is_flag=True, help="Also score against ImageNet-ReaL labels.")
@options_of(VerifyOptions, "cache_dir")
@common_options(db=True, index=True)
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
    from mixbench.report.evaluation import eval_table, path_lines

    if data is None:
        raise click.UsageError("Missing option '--data'.")
    stop_on_sigterm_as_on_ctrl_c()
    arguments = {name: given.pop(name) for name in _RUN_ARGUMENTS}
    options = EvalOptions.from_cli(**given)
    main_rank = is_main_rank()
    with EvalProgress(enabled=main_rank) as progress:
        pipeline = Pipeline.of_command(db_path, progress, command=command_line(), store=main_rank)
        report = pipeline.evaluate(
            model_spec, data, options=options, index_path=index_path, **arguments
        )
    if report is None:  # a torchrun rank other than 0: rank 0 reports for all
        return

    emit(json_out, report.to_dict(), lambda: print_table(eval_table(report), path_lines(report)))
    pipeline.raise_if_unsaved()  # after the results were shown: they are never lost
