"""One check of a card: the published figure, what was measured, and the verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Status = Literal["pass", "fail", "skipped", "info", "inconclusive"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "skipped", "info", "inconclusive")


@dataclass
class Check:
    """One check of a card: the published figure, what was measured, and the verdict."""

    name: str  # stable key: params, flops, file_size, crop_pct, ..., top1, throughput
    label: str  # what a person reads in the table
    status: Status
    published: Any = None
    measured: Any = None
    delta: float | None = None
    tolerance: str | None = None  # how close counts as agreeing, in words
    reason: str | None = None  # why skipped, what info means, or a note on the verdict
    #: structured findings behind the verdict (e.g. the FLOPs convention and input size), so
    #: export and reports read data, never the reason text
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ran(self) -> bool:
        """False for a skipped check, also one that ``--require`` turned into a failure."""
        return self.status != "skipped" and self.details.get("ran", True) is not False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
