"""``predict`` and ``flops``: one model at a time."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mixbench.cli.app import EXIT_DIFFERENT, cli
from mixbench.cli.options import (
    debug_option,
    image_size_option,
    index_option,
    json_option,
    pretrained_option,
    weights_option,
)
from mixbench.cli.output import console, emit, rich_table
from mixbench.index import load_index
from mixbench.report.tables import flops_notes, flops_table, prediction_table


@cli.command("predict")
@click.argument("model_spec", metavar="MODEL")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@weights_option
@pretrained_option
@click.option("--top", "top_k", type=click.IntRange(min=1), default=5, show_default=True)
@index_option
@json_option
@debug_option
def predict(
    model_spec: str,
    images: tuple[Path, ...],
    weights: Path | None,
    pretrained: bool,
    top_k: int,
    index_path: Path | None,
    json_out: Path | None,
) -> None:
    """Top-k ImageNet classes for IMAGE..., with the card's preprocessing."""
    from mixbench.predict import predict_images
    from mixbench.resolve import resolve_model

    resolved = resolve_model(
        model_spec, weights=weights, pretrained=pretrained, index_path=index_path
    )
    predictions = predict_images(resolved.model, images, resolved.preprocessing, top_k=top_k)
    random = not resolved.has_weights
    if random:  # said once the images are read: not before an error about them
        click.echo(
            "warning: no weights given, the model is randomly initialised "
            "(pass --weights FILE or --pretrained)",
            err=True,
        )
    data = {
        "model": resolved.name,
        "weights": resolved.weights,
        "random_weights": random,
        "preprocessing": resolved.preprocessing.__dict__,
        "predictions": [p.to_dict() for p in predictions],
    }
    emit(
        json_out,
        data,
        lambda: [
            console.print(rich_table(prediction_table(p, random_weights=random)))
            for p in predictions
        ],
    )


@cli.command("flops")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@image_size_option
@index_option
@json_option
@debug_option
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

    def render() -> None:
        console.print(rich_table(flops_table(findings)))
        for line in flops_notes(findings):
            console.print(line, highlight=False)

    emit(json_out, [finding.to_dict() for finding in findings], render)
    if any(finding.verdict.status == "fail" for finding in findings):
        sys.exit(EXIT_DIFFERENT)  # as verify does on the same finding
