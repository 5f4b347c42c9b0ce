"""Markdown sections for throughput and latency reports (``speed.md.j2``): the table and the
lines under it come from :func:`mixbench.report.tables.speed_table` and
:func:`~mixbench.report.tables.speed_notes`, the same spec the CLI renders with rich."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixbench.report import render_markdown
from mixbench.report.tables import speed_notes, speed_table


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
    """One table (a ``ThroughputReport`` or ``LatencyReport``) with its notes and targets."""
    data = report.to_dict()
    settings = data["settings"]
    sizes = sorted({row["image_size"] for row in data["results"]})
    precisions = ", ".join(dict.fromkeys(row["precision"] for row in data["results"]))
    bandwidth = data.get("bandwidth")
    return {
        "title": title,
        "kind": data["kind"],
        "batch_size": settings["batch_size"],
        "precisions": precisions,
        "image_size": ", ".join(str(size) for size in sizes),
        "trials": settings["timing"]["trials"],
        "table": speed_table(report).markdown(),
        "notes": speed_notes(report),
        "bandwidth": bandwidth,
        "targets": [target.to_dict() for target in targets or []],
    }


def render_speed(sections: list[dict[str, Any]]) -> str:
    return render_markdown("speed.md.j2", sections=sections)
