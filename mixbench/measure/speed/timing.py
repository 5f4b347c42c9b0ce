"""Timing a forward pass the way a performance engineer would: warm up, synchronize, repeat.

Throughput is a distribution over trials (each trial many back-to-back batches); latency is a
distribution over single calls. Several runners are timed *interleaved*, trial by trial, so
that a noisy neighbour, a clock change or thermal throttling hits every runner alike and their
ratio stays honest.

On CUDA a trial is timed with CUDA events around the whole trial (the GPU's own clock, no
host-side gaps counted twice); a latency sample is wall time from the call until the GPU is
done, because launch overhead is part of what a caller waits for.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch

from mixbench.measure.options import TimingOptions

#: One forward pass of a prepared model on its fixed input.
Step = Callable[[], object]


@dataclass(frozen=True)
class Warmup:
    iterations: int
    seconds: float
    seconds_per_call: float  # the last warm-up calls' mean: sizes the trials
    peak_memory_bytes: int | None
    memory_kind: str


@dataclass(frozen=True)
class Trials:
    """Seconds per call, one value per trial, and how many calls each trial made."""

    seconds_per_call: tuple[float, ...]
    calls_per_trial: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds_per_call)

    @property
    def fastest(self) -> float:
        return min(self.seconds_per_call)

    @property
    def slowest(self) -> float:
        return max(self.seconds_per_call)


@dataclass(frozen=True)
class LatencyStats:
    """Milliseconds per call over many single calls."""

    samples_ms: tuple[float, ...] = field(repr=False)

    def percentile(self, q: float) -> float:
        """Linear interpolation between closest ranks (numpy's default), ``q`` in 0–100."""
        ordered = sorted(self.samples_ms)
        position = (len(ordered) - 1) * q / 100
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p90(self) -> float:
        return self.percentile(90)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms)

    def to_dict(self) -> dict[str, float | int]:
        return {
            "iterations": len(self.samples_ms),
            "p50_ms": self.p50,
            "p90_ms": self.p90,
            "p99_ms": self.p99,
            "mean_ms": self.mean,
            "min_ms": min(self.samples_ms),
            "max_ms": max(self.samples_ms),
        }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def warm_up(step: Step, device: torch.device, options: TimingOptions) -> Warmup:
    """Call ``step`` until both warm-up minimums are met; report the peak memory it reached."""
    memory = MemoryWatch(device)
    with memory:
        started = time.perf_counter()
        recent: list[float] = []
        iterations = 0
        while iterations < options.warmup_iterations or (
            time.perf_counter() - started < options.warmup_seconds
        ):
            call_started = time.perf_counter()
            step()
            synchronize(device)
            recent = [*recent[-2:], time.perf_counter() - call_started]
            iterations += 1
    return Warmup(
        iterations=iterations,
        seconds=time.perf_counter() - started,
        seconds_per_call=statistics.fmean(recent),
        peak_memory_bytes=memory.peak_bytes,
        memory_kind=memory.kind,
    )


def calls_for(seconds_per_call: float, options: TimingOptions) -> int:
    """Calls per trial so that a trial lasts about ``options.trial_seconds``."""
    return max(1, round(options.trial_seconds / max(seconds_per_call, 1e-9)))


def time_calls(step: Step, device: torch.device, calls: int) -> float:
    """Seconds per call over ``calls`` back-to-back calls."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        synchronize(device)
        start.record()
        for _ in range(calls):
            step()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000 / calls
    started = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - started) / calls


def interleaved_trials(
    steps: Sequence[Step],
    device: torch.device,
    calls: Sequence[int],
    trials: int,
    on_trial: Callable[[int, int], None] | None = None,
) -> list[Trials]:
    """``trials`` rounds; in each, every step runs its ``calls`` once, in turn."""
    measured: list[list[float]] = [[] for _ in steps]
    for trial in range(trials):
        for position, (step, count) in enumerate(zip(steps, calls, strict=True)):
            measured[position].append(time_calls(step, device, count))
            if on_trial is not None:
                on_trial(trial, position)
    return [Trials(tuple(values), count) for values, count in zip(measured, calls, strict=True)]


def interleaved_latency(
    steps: Sequence[Step],
    device: torch.device,
    iterations: int,
    rounds: int = 10,
    on_round: Callable[[int], None] | None = None,
) -> list[LatencyStats]:
    """``iterations`` single timed calls per step, in ``rounds`` alternating blocks."""
    samples: list[list[float]] = [[] for _ in steps]
    per_round = [
        iterations // rounds + (1 if r < iterations % rounds else 0) for r in range(rounds)
    ]
    for round_index, count in enumerate(per_round):
        for position, step in enumerate(steps):
            for _ in range(count):
                synchronize(device)
                started = time.perf_counter()
                step()
                synchronize(device)
                samples[position].append((time.perf_counter() - started) * 1000)
        if on_round is not None:
            on_round(round_index)
    return [LatencyStats(tuple(values)) for values in samples]


class MemoryWatch:
    """Peak memory while the block runs, above what was in use when it began.

    CUDA: the caching allocator's exact peak of allocated bytes. CPU: the process's resident
    set (Linux ``/proc``); large tensors are mmap-ed and given back on free, so RSS growth tracks
    the activations' footprint. The kernel's own high-water mark (``VmHWM``, reset through
    ``clear_refs``) gives the exact peak; where it cannot be reset, RSS is sampled every few
    milliseconds, which a busy machine can make miss a short peak. Elsewhere: unknown (None).
    """

    SAMPLE_EVERY_S = 0.002

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak_bytes: int | None = None
        self.kind = "cuda allocated" if device.type == "cuda" else "process RSS"
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._baseline = 0
        self._peak_rss = 0
        self._kernel_peak = False

    def __enter__(self) -> MemoryWatch:
        if self.device.type == "cuda":
            synchronize(self.device)
            self._baseline = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        elif _reset_high_water_mark():
            self._baseline = _rss_bytes() or 0
            self._kernel_peak = True
        elif _rss_bytes() is not None:
            self._baseline = self._peak_rss = _rss_bytes() or 0
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.device.type == "cuda":
            synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._baseline
        elif self._kernel_peak:
            self.peak_bytes = max(0, (_high_water_mark() or 0) - self._baseline)
        elif self._sampler is not None:
            self._stop.set()
            self._sampler.join()
            self._peak_rss = max(self._peak_rss, _rss_bytes() or 0)
            self.peak_bytes = max(0, self._peak_rss - self._baseline)

    def _sample(self) -> None:
        while not self._stop.wait(self.SAMPLE_EVERY_S):
            self._peak_rss = max(self._peak_rss, _rss_bytes() or 0)


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as stream:
            return int(stream.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _reset_high_water_mark() -> bool:
    """Start the kernel's peak-RSS counter afresh (Linux >= 4.0); False where it cannot be."""
    if _high_water_mark() is None:
        return False
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
    except OSError:
        return False
    return True


def _high_water_mark() -> int | None:
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def as_dict(value: Warmup | Trials) -> dict[str, object]:
    data = asdict(value)
    if isinstance(value, Trials):
        data.update(median=value.median, fastest=value.fastest, slowest=value.slowest)
    return data
