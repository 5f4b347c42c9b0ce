"""``predict`` and ``flops``: one model at a time."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from mixbench.cli.app import cli
from mixbench.cli.options import debug_option, index_option, json_option
from mixbench.cli.output import (
    console,
    emit_json,
    json_to_stdout,
    numeric_column,
    rich_table,
    text_column,
)
from mixbench.index import load_index
from mixbench.report.tables import flops_table

if TYPE_CHECKING:
    pass


@cli.command("predict")
@click.argument("model_spec", metavar="MODEL")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
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
    if not resolved.has_weights:  # said once the images are read: not before an error about them
        click.echo(
            "warning: no weights given, the model is randomly initialised "
            "(pass --weights FILE or --pretrained)",
            err=True,
        )
    emit_json(
        json_out,
        {
            "model": resolved.name,
            "weights": resolved.weights,
            "random_weights": not resolved.has_weights,
            "preprocessing": resolved.preprocessing.__dict__,
            "predictions": [p.to_dict() for p in predictions],
        },
    )
    if json_to_stdout(json_out):
        return
    random = "" if resolved.has_weights else " — RANDOM WEIGHTS: not a trained model's answer"
    for prediction in predictions:
        table = Table(title=prediction.image + random, title_justify="left")
        numeric_column(table, "#")
        text_column(table, "class")
        numeric_column(table, "probability")
        for rank, score in enumerate(prediction.top, start=1):
            table.add_row(str(rank), f"{score.name} ({score.label})", f"{score.probability:.4f}")
        console.print(table)


@cli.command("flops")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@click.option("--image-size", type=click.IntRange(min=32), help="Default: the card's image size.")
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
    from mixbench.measure.complexity import CONVENTIONS, explain_index_flops

    findings = explain_index_flops(model_specs, load_index(index_path), image_size=image_size)
    emit_json(json_out, [finding.to_dict() for finding in findings])
    if json_to_stdout(json_out):
        _exit_on_failed_verdict(findings)
        return
    console.print(rich_table(flops_table(findings)))
    for finding in findings:
        if finding.verdict.status != "pass":
            console.print(f"{finding.model}: {finding.verdict.reason}", highlight=False)
    used = {f.verdict.convention for f in findings if f.verdict.convention}
    for key in (key for key in CONVENTIONS if key in used):
        console.print(f"{CONVENTIONS[key].label}: {CONVENTIONS[key].description}.", highlight=False)
    _exit_on_failed_verdict(findings)


def _exit_on_failed_verdict(findings: list[Any]) -> None:
    """Exit 1 when a card's FLOPs fail, as ``verify`` does on the same finding."""
    if any(finding.verdict.status == "fail" for finding in findings):
        from mixbench.cli.app import EXIT_DIFFERENT

        sys.exit(EXIT_DIFFERENT)
