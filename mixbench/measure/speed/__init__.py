"""Throughput and latency, implementations side by side in one process.

``run`` is the API (``throughput``, ``latency``): each row is a session of a runtime
(:mod:`mixbench.runtimes`: what is timed), ``timing`` times it (interleaved trials, warm-up,
memory), ``traffic`` counts the bytes each layer moves.
"""

from mixbench.measure.speed.run import (
    LatencyReport,
    SpeedSettings,
    ThroughputReport,
    latency,
    throughput,
)
from mixbench.measure.speed.timing import TimingOptions

__all__ = [
    "LatencyReport",
    "SpeedSettings",
    "ThroughputReport",
    "TimingOptions",
    "latency",
    "throughput",
]
