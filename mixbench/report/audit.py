"""The audit report (``audit.md.j2``): what an index's maintainers should fix, and the plot of
each card's FLOPs over the model's MACs at the card's own size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixbench.audit.findings import AliasFix, AuditFindings, ModelFinding
from mixbench.io import write_atomically
from mixbench.measure.complexity import PHOTO_2021_HEIGHT, PHOTO_2021_WIDTH
from mixbench.report import render_markdown

#: The plot's colour per FLOPs finding (colour-blind-safe Okabe–Ito hues).
RULE_COLOURS = {
    "square": "#009E73",
    "photo": "#E69F00",
    "other input": "#56B4E9",
    "unexplained": "#CC79A7",
}


def render_audit(
    findings: AuditFindings,
    *,
    title: str,
    source: str,
    plot: str | None,
    environment: dict[str, str],
    command: str | None,
    elapsed_seconds: float | None = None,
    alias_fixes: list[AliasFix] | None = None,
) -> str:
    """The Markdown text of the audit (the plot, when given, is linked by file name)."""
    fixes = {fix.model: fix for fix in alias_fixes or []}
    return render_markdown(
        "audit.md.j2",
        title=title,
        source=source,
        plot=plot,
        environment=environment,
        command=command,
        elapsed=elapsed_seconds,
        total=len(findings.models),
        statuses=findings.statuses,
        rules=findings.flops_rules,
        by_convention=findings.by_convention,
        photo=findings.where("photo"),
        square=findings.where("square"),
        other=findings.where("other input"),
        unexplained=findings.where("unexplained"),
        blind=findings.blind,
        params=findings.params_mismatches,
        preprocessing=[_preprocessing_row(f) for f in findings.preprocessing_mismatches],
        renamed=[(f, fixes.get(f.model)) for f in findings.renamed_to_another_model],
        not_built=findings.not_built,
        photo_ratio=PHOTO_2021_WIDTH / PHOTO_2021_HEIGHT,
        models=sorted(findings.models, key=lambda f: (f.collection or "", f.model)),
    )


def _preprocessing_row(finding: ModelFinding) -> dict[str, Any]:
    return {
        "model": finding.model,
        "compared_with": finding.timm_name or "the model's eval config",
        "tag_source": finding.tag_source or "",
        "fields": [
            {"field": key, "card": card, "model": model}
            for key, (card, model) in finding.preprocessing_mismatches.items()
        ],
    }


def write_audit(
    findings: AuditFindings,
    out: Path,
    *,
    title: str,
    source: str,
    environment: dict[str, str],
    command: str | None,
    stem: str = "audit",
    elapsed_seconds: float | None = None,
    alias_fixes: list[AliasFix] | None = None,
) -> Path:
    """``out/<stem>.md`` with ``out/<stem>.png`` beside it (no plot without a counted card)."""
    out.mkdir(parents=True, exist_ok=True)
    plot = plot_card_over_macs(findings, out / f"{stem}.png")
    text = render_audit(
        findings,
        title=title,
        source=source,
        plot=plot.name if plot else None,
        environment=environment,
        command=command,
        elapsed_seconds=elapsed_seconds,
        alias_fixes=alias_fixes,
    )
    page = out / f"{stem}.md"
    write_atomically(page, text.encode("utf-8"))
    return page


def plot_card_over_macs(findings: AuditFindings, path: Path) -> Path | None:
    """Card FLOPs ÷ fvcore MACs at the card's S×S, one point per model, coloured by where the
    figure was found (log scale: the BiT cards sit four decades below 1)."""
    points = [f for f in findings.models if f.card_over_macs]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points.sort(key=lambda f: (f.collection or "", f.model))
    figure, axis = plt.subplots(figsize=(14, 5.2))
    for rule, colour in RULE_COLOURS.items():
        chosen = [(i, f) for i, f in enumerate(points) if f.flops_rule == rule]
        if chosen:
            axis.scatter(
                [i for i, _ in chosen],
                [f.card_over_macs for _, f in chosen],
                s=14,
                color=colour,
                label=_legend(rule, len(chosen)),
            )
    axis.set_yscale("log")
    axis.axhline(1.0, color="black", linewidth=0.8)
    axis.axhline(PHOTO_2021_WIDTH / PHOTO_2021_HEIGHT, color="#E69F00", linewidth=0.6, ls="--")
    axis.axhline(2.0, color="grey", linewidth=0.6, ls=":")
    axis.set_xlim(-1, len(points))
    axis.set_xticks(_collection_ticks(points), _collection_labels(points), rotation=90, fontsize=6)
    axis.set_ylabel("card FLOPs ÷ MACs at the card's size")
    ratios = [f.card_over_macs for f in points if f.card_over_macs]
    axis.set_ylim(min(0.5, min(ratios) / 2), max(3.0, max(ratios) * 1.5))
    axis.set_title(
        f"{len(points)} cards: the published figure over fvcore's MACs at S×S "
        "(1: MACs at the card's size; 1.27: the uncropped 2021 photo; 2: FLOPs as 2×MACs)",
        fontsize=9,
    )
    axis.legend(fontsize=7, loc="lower right")
    axis.grid(axis="y", alpha=0.3, which="both")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _legend(rule: str, count: int) -> str:
    names = {
        "square": "reproduced at the card's S×S",
        "photo": "reproduced on the uncropped photo (S×W)",
        "other input": "reproduced at another input",
        "unexplained": "not reproduced",
    }
    return f"{names[rule]} ({count})"


def _collection_ticks(points: list[ModelFinding]) -> list[float]:
    starts: dict[str, list[int]] = {}
    for position, finding in enumerate(points):
        starts.setdefault(finding.collection or "", []).append(position)
    return [sum(p) / len(p) for p in starts.values()]


def _collection_labels(points: list[ModelFinding]) -> list[str]:
    return list(dict.fromkeys(f.collection or "(none)" for f in points))
