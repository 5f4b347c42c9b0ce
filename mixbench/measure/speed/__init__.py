"""Throughput and latency, implementations side by side in one process.

``run`` is the API (``throughput``, ``latency``): each row is a session of a runtime
(:mod:`mixbench.runtimes`: what is timed), ``timing`` times it (interleaved trials, warm-up,
memory), ``traffic`` counts the bytes each layer moves.
"""

from mixbench.measure.options import TimingOptions
from mixbench.measure.speed.run import (
    LatencyReport,
    SpeedSettings,
    ThroughputReport,
    latency,
    throughput,
)

__all__ = [
    "LatencyReport",
    "SpeedSettings",
    "ThroughputReport",
    "TimingOptions",
    "latency",
    "throughput",
]
