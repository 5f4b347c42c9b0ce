"""What an evaluation shows: its table (:func:`eval_table`) and the lines under it
(:func:`path_lines`): how the runtime path's outputs compare with float32, and its pairing with
eager float32 on the same images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixbench.formatting import fmt_count, fmt_percent
from mixbench.report.tables import FIGURE, Column, Row, TableSpec

if TYPE_CHECKING:
    from mixbench.measure.accuracy.evaluation import EvalReport


def eval_table(report: EvalReport) -> TableSpec:
    """One row: images, top-1/top-5 (and ReaL's when scored), unreadable images, speed, run."""
    settings = report.settings
    computed = settings.get("precision_computed") or settings.get("precision")
    asked = settings.get("precision")
    precision = computed if computed == asked else f"{computed} (asked {asked})"
    title = (
        f"{report.model} on {report.data['spec']}, through {settings.get('implementation')} "
        f"in {precision}"
        + ("" if report.weights else " — RANDOM WEIGHTS: these scores say nothing of a model")
    )
    metrics = report.metrics
    cells = {
        "images": fmt_count(metrics.count),
        "top-1": fmt_percent(metrics.top1),
        "top-5": fmt_percent(metrics.top5),
    }
    if report.real is not None:
        cells["ReaL top-1"] = fmt_percent(report.real.top1)
        cells["ReaL top-5"] = fmt_percent(report.real.top5)
    cells["unreadable"] = str(len(report.bad_images))
    cells["images/s"] = f"{report.timing['images_per_second']:.1f}"
    cells["run"] = str(report.run_id) if report.run_id is not None else "—"
    drop = {"run": 1, "unreadable": 2}
    columns = tuple(Column(header, FIGURE, drop.get(header, 0)) for header in cells)
    return TableSpec(title, columns, [Row(list(cells.values()))])


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
