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


def speed_caption(report: Any, *, explain_bandwidth: bool = True) -> str:
    """How the figures were taken, under the table (the % bw column explained when shown)."""
    from mixbench.formatting import fmt_bytes

    if report.to_dict()["kind"] == "latency":
        calls = report.settings["timing"]["latency_iterations"]
        return f"{calls} calls per row, each timed until the device is done, rows alternating"
    caption = f"median of {report.settings['timing']['trials']} interleaved trials"
    if report.bandwidth is not None and explain_bandwidth:
        caption += (
            f"; % bw: traffic/img × img/s over {fmt_bytes(report.bandwidth.peak)}/s "
            f"({report.bandwidth.source})"
        )
    return caption


_ENVIRONMENT_LINE = (
    ("gpu", "GPU"),
    ("driver", "driver"),
    ("cpu", "CPU"),
    ("torch", "torch"),
    ("timm", "timm"),
    ("cuda", "CUDA"),
    ("cudnn", "cuDNN"),
    ("onnxruntime", "onnxruntime"),
    ("openvino", "openvino"),
    ("tensorrt", "TensorRT"),
)
_CUDA_ONLY = ("cuda", "cudnn")


def environment_line(environment: dict[str, str], *, on_cuda: bool = True) -> str:
    """What a speed figure depends on, in one line under its table (the CUDA and cuDNN
    versions torch was built with only when the run was on CUDA; the JSON has them all)."""
    return " · ".join(
        f"{label} {environment[key]}"
        for key, label in _ENVIRONMENT_LINE
        if key in environment and (on_cuda or key not in _CUDA_ONLY)
    )


def ran_on_cuda(report: Any) -> bool:
    return str(report.settings.get("device") or report.device or "").startswith("cuda")


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
