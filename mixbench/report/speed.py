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
    rows = [
        {**row, "speedup": ", ".join(speedups.get((row["model"], row["implementation"]), []))}
        for row in data["results"]
    ]
    sizes = sorted({row["image_size"] for row in rows})
    return {
        "title": title,
        "kind": data["kind"],
        "report": data,
        "rows": rows,
        "image_size": ", ".join(str(size) for size in sizes),
        "targets": [target.to_dict() for target in targets or []],
    }


def render_speed(sections: list[dict[str, Any]]) -> str:
    return render_markdown("speed.md.j2", sections=sections)
