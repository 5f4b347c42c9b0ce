"""Markdown sections for throughput and latency reports (``speed.md.j2``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixbench.report import render_markdown


@dataclass(frozen=True)
class Target:
    """A speed-up the project promises: ``value`` (× faster) against ``goal``."""

    name: str
    value: float
    goal: float

    @property
    def met(self) -> bool:
        return self.value >= self.goal

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "goal": self.goal, "met": self.met}


def speed_section(title: str, report: Any, targets: list[Target] | None = None) -> dict[str, Any]:
    """One table (a :class:`~mixbench.benchmark.ThroughputReport` or ``LatencyReport``)."""
    data = report.to_dict()
    speedups: dict[tuple[str, str], list[str]] = {}
    for ratio in data["ratios"]:
        key = (ratio["model"], ratio["implementation"])
        speedups.setdefault(key, []).append(f"{ratio['ratio']:.2f}× {ratio['baseline']}")
    models = list(dict.fromkeys(row["model"] for row in data["results"]))
    unranked = len(data["results"]) + 1
    in_rank_order = sorted(
        data["results"],
        key=lambda row: (models.index(row["model"]), row.get("rank") or unranked),
    )
    rows = [
        {
            **row,
            "speedup": ", ".join(speedups.get((row["model"], row["implementation"]), [])),
            "checked": _checked_text(row),
        }
        for row in in_rank_order
    ]
    sizes = sorted({row["image_size"] for row in rows})
    return {
        "title": title,
        "kind": data["kind"],
        "report": data,
        "rows": rows,
        "image_size": ", ".join(str(size) for size in sizes),
        "targets": [target.to_dict() for target in targets or []],
        "fastest": data.get("fastest", []),
    }


def _checked_text(row: dict[str, Any]) -> str:
    """The outputs column: how far a row's logits are from timm's ("—" when not checked)."""
    check = row.get("outputs_check")
    if not check:
        return "—"
    verdict = "agree" if row.get("outputs_agree") else "**differ**"
    return f"{verdict} ({check['max_relative_difference']:.1e})"


def render_speed(sections: list[dict[str, Any]]) -> str:
    return render_markdown("speed.md.j2", sections=sections)
