"""``predict`` and ``flops``: one model at a time."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import common_options, image_size_option, weights_options
from mixbench.cli.output import emit, print_table
from mixbench.index import load_index
from mixbench.report.tables import flops_notes, flops_table, prediction_table


@cli.command("predict")
@click.argument("model_spec", metavar="MODEL")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@weights_options
@click.option("--top", "top_k", type=click.IntRange(min=1), default=5, show_default=True)
@common_options(index=True)
def predict(model_spec: str, images: tuple[Path, ...], json_out: Path | None, **given: Any) -> None:
    """Top-k ImageNet classes for IMAGE..., with the card's preprocessing."""
    from mixbench.predict import predict_model

    answer = predict_model(model_spec, images, **given)
    for warning in answer.warnings():  # once the images are read: not before an error about them
        click.echo(f"warning: {warning}", err=True)
    tables = [prediction_table(p, random_weights=answer.random_weights) for p in answer.predictions]
    emit(json_out, answer.to_dict(), lambda: [print_table(table) for table in tables])


@cli.command("flops")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@image_size_option
@common_options(index=True)
def flops(
    model_specs: tuple[str, ...],
    image_size: int | None,
    index_path: Path | None,
    json_out: Path | None,
) -> None:
    """The card's FLOPs against every named counting convention, integer for integer.

    Per model: the convention and input (H×W) that reproduce the published number, what that
    convention counts at the card's own size, fvcore MACs and FLOPs (= 2 × MACs) there, and
    the verdict: pass (reproduced at the card's size), fail (only at another input), info
    (nothing reproduces it). Default: every model of the index.
    """
    from mixbench.measure.complexity import explain_index_flops

    findings = explain_index_flops(model_specs, load_index(index_path), image_size=image_size)
    data = [finding.to_dict() for finding in findings]
    emit(json_out, data, lambda: print_table(flops_table(findings), flops_notes(findings)))
    if any(finding.verdict.status == "fail" for finding in findings):
        sys.exit(EXIT_DIFFERENT)  # as verify does on the same finding
