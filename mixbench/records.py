"""The one language every stage speaks: a :class:`Measurement` and the :class:`RunRecord` that
holds a run's measurements with where, how and on what they were made.

Measuring code returns measurements; verify reads them to judge a card, the results store keeps
them, ``export-index`` writes them back as model-index YAML, and reports render them. A figure
that matters is a measurement with its unit and conditions, never text to be parsed again.

>>> m = Measurement("top1", 75.99, "%", {"images": 50_000, "dataset": "imagenet-val"})
>>> Measurement.from_dict(m.to_dict()) == m
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from mixbench.index.fields import FIELDS

#: The unit of each metric mixbench measures, so no caller has to know it: the card figures'
#: (flops: what the named convention counts, see conditions["convention"]), then the rest.
UNITS: Mapping[str, str] = {
    **{name: card_field.unit for name, card_field in FIELDS.items()},
    "macs": "MACs",
    "top1": "%",
    "top5": "%",
    "real_top1": "%",
    "real_top5": "%",
    "images": "count",
    "images_per_second": "images/s",
    "ms_per_batch": "ms",
    "peak_memory_bytes": "bytes",
    "bytes_per_image": "bytes",
    "bandwidth_fraction": "fraction",
    "throughput": "images/s",
    "latency": "ms",
    "p50_ms": "ms",
    "p90_ms": "ms",
    "p99_ms": "ms",
    "mean_ms": "ms",
}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Measurement:
    """One measured figure: what (metric), how much (value, unit), and under what conditions
    (device, precision, batch, image size, implementation, counting convention, images ...)."""

    metric: str
    value: float | int | str
    unit: str
    conditions: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, metric: str, value: float | int | str, **conditions: Any) -> Measurement:
        """A measurement in the metric's standard unit (:data:`UNITS`)."""
        return cls(metric, value, UNITS.get(metric, ""), dict(conditions))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "conditions": dict(self.conditions)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        return cls(
            metric=str(data["metric"]),
            value=data["value"],
            unit=str(data.get("unit", "")),
            conditions=dict(data.get("conditions") or {}),
        )


def find(measurements: Iterable[Measurement], metric: str) -> Measurement | None:
    """The first measurement of ``metric``, if any."""
    return next((m for m in measurements if m.metric == metric), None)


def as_metrics(measurements: Iterable[Measurement]) -> dict[str, Any]:
    """metric → value: the flat view the store's ``metrics`` column and ``mixbench runs`` use."""
    return {m.metric: m.value for m in measurements}


@dataclass
class RunRecord:
    """One measurement run: what was measured, on what, with what, and the numbers.

    The measured figures are ``measurements`` (each with its unit and conditions) and only
    there; ``summary`` holds what describes the run without being a measurement (a verify
    run's status and counts, a speed row's implementation and precision, an evaluation's
    unreadable images). :attr:`metrics`, the flat view ``mixbench runs`` and the store's
    ``metrics`` column show, derives from both. A run stored before measurements were kept
    has its figures in ``summary`` alone.
    """

    kind: str
    model: str
    summary: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    weights_sha256: str | None = None
    dataset: str | None = None
    dataset_fingerprint: str | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    device: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    git_sha: str | None = None
    command: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=utc_now)
    id: int | None = None
    measurements: list[Measurement] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, Any]:
        """metric → value: the summary, then every measurement by its metric name."""
        return {**self.summary, **as_metrics(self.measurements)}

    def measurement(self, metric: str) -> Measurement | None:
        return find(self.measurements, metric)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["measurements"] = [m.to_dict() for m in self.measurements]
        data["metrics"] = self.metrics  # derived: for readers of the flat view
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """The inverse of :meth:`to_dict`; an older record's ``metrics`` (before the summary
        and measurements were kept apart) becomes its summary."""
        values = dict(data)
        metrics = values.pop("metrics", None)
        if "summary" not in values and metrics is not None:
            values["summary"] = metrics
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown run record field(s): {', '.join(unknown)}")
        values["measurements"] = [
            m if isinstance(m, Measurement) else Measurement.from_dict(m)
            for m in values.get("measurements") or []
        ]
        return cls(**values)
