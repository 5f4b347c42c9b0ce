"""The one kind of progress event every long stage emits (eval batches, speed trials, verify
checks), so one progress bar, or any caller, can follow all of them.

>>> ProgressEvent("verify", "mixnet_s: flops", 2, 7).fraction
0.2857142857142857
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProgressEvent:
    """``done`` of ``total`` steps of ``stage`` are finished; ``description`` says what runs now.

    ``metrics`` carries running figures worth showing beside the bar (an eval's running top-1
    and images/s).
    """

    stage: str  # "eval" | "throughput" | "latency" | "verify"
    description: str
    done: int
    total: int
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


OnProgress = Callable[[ProgressEvent], None]


class StepCounter:
    """Counts steps towards a known total and reports each one as a :class:`ProgressEvent`."""

    def __init__(self, stage: str, total: int, on_progress: OnProgress | None) -> None:
        self.stage = stage
        self.total = total
        self.done = 0
        self._on_progress = on_progress

    def advance(self, description: str) -> None:
        self.done += 1
        if self._on_progress is not None:
            self._on_progress(ProgressEvent(self.stage, description, self.done, self.total))
