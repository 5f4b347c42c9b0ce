"""``mixbench throughput`` and ``mixbench latency``'s Python API.

>>> from mixbench.measure.speed.run import SpeedSettings, throughput
>>> report = throughput(["mixnet_s"], SpeedSettings(device="cpu", precision="fp32,bf16"),
...                     implementations="native,timm,ort,native+openvino")  # doctest: +SKIP
>>> report.fastest()  # mixbench's fastest ÷ timm's fastest, per precision  # doctest: +SKIP

Every row is an implementation (a graph through a runtime, :mod:`mixbench.runtimes`) at a
precision. All rows of one model run the same weights on the same seeded batch; before
anything is timed each row's logits are compared with timm's eager float32 logits, held to
the bound of the precision the row *computed* in (read back from the runtime), and a row
outside it is flagged and never ranked. Rows are then built, warmed up and timed
interleaved, trial by trial (:mod:`mixbench.measure.speed.timing`), so ratios come from one
run. Rows are ranked only against rows of the same model and computed precision. Models are
measured one after another and their memory is given back in between.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from mixbench.environment import collect_environment, device_label, git_sha
from mixbench.errors import InputError, NotSupportedHere
from mixbench.events import OnProgress, StepCounter
from mixbench.index import ModelIndex, load_index
from mixbench.measure.options import SpeedSettings, TimingOptions
from mixbench.measure.precision import (
    COMPUTED,
    ComputedPrecision,
    PrecisionRequest,
)
from mixbench.measure.speed import timing as speed
from mixbench.measure.speed.timing import LatencyStats, Trials, Warmup
from mixbench.measure.speed.traffic import Traffic, copy_bandwidth, count_traffic, spec_bandwidth
from mixbench.models.factory import resolve_config
from mixbench.records import Measurement, RunRecord
from mixbench.resolve import resolve_model
from mixbench.runtimes import (
    DEFAULT_OPSET,
    Implementation,
    OutputCheck,
    Request,
    Session,
    compare_outputs,
    runtime_named,
)
from mixbench.runtimes.subject import Subject

__all__ = [
    "LatencyReport",
    "SpeedSettings",
    "ThroughputReport",
    "TimingOptions",
    "latency",
    "runtime_notes",
    "throughput",
]

#: A throughput row whose fastest trial is this many times its slowest, or a latency row whose
#: p99 is this many times its p50, is flagged as noisy: its rank may be the machine's.
NOISY_SPREAD, NOISY_TAIL = 1.5, 3.0


@dataclass(kw_only=True)
class Row:
    """What every speed row says about how it ran: which model, graph and runtime, in what
    precision (computed, read back), shape and layout, and its outputs against timm's."""

    model: str
    implementation: str
    runtime: str
    batch_size: int
    image_size: int
    precision: ComputedPrecision
    layout: str
    warmup: Warmup
    provider: str | None = None
    check: OutputCheck | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def outputs_agree(self) -> bool | None:
        return None if self.check is None else self.check.agree

    @property
    def group(self) -> tuple[str, str]:
        """Rows are ranked within their model and computed precision."""
        return self.model, self.precision.name

    @property
    def key(self) -> tuple[str, str, str]:
        """What names a row in its report: model, implementation, asked precision."""
        return self.model, self.implementation, self.precision.asked

    def described(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "implementation": self.implementation,
            "runtime": self.runtime,
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "precision": self.precision.name,
            "precision_asked": self.precision.asked,
            "precision_how": self.precision.how,
            "precision_read_back": self.precision.read_back,
            "layout": self.layout,
            "provider": self.provider,
            "outputs_agree": self.outputs_agree,
            "outputs_check": self.check.to_dict() if self.check else None,
            "warmup": speed.as_dict(self.warmup),
            "runtime_details": _jsonable(self.details) or None,
        }

    def conditions(self, device: str) -> dict[str, Any]:
        """What a speed figure depends on: which implementation, where, in what shape."""
        return {
            "implementation": self.implementation,
            "runtime": self.runtime,
            "device": device,
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "precision": self.precision.name,
            "layout": self.layout,
        }


@dataclass(kw_only=True)
class SpeedResult(Row):
    """One implementation of one model at one precision: throughput over trials, memory,
    traffic."""

    trials: Trials
    weight_bytes: int
    traffic: Traffic | None = None

    @property
    def images_per_second(self) -> float:
        return self.batch_size / self.trials.median

    @property
    def ms_per_batch(self) -> float:
        return self.trials.median * 1000

    @property
    def peak_memory_bytes(self) -> int | None:
        grown = self.warmup.peak_memory_bytes
        return None if grown is None else grown + self.weight_bytes

    @property
    def bytes_per_image(self) -> float | None:
        return self.traffic.bytes_per_image(self.batch_size) if self.traffic else None

    @property
    def achieved_bandwidth(self) -> float | None:
        if self.traffic is None:
            return None
        return self.traffic.achieved_bandwidth(self.images_per_second, self.batch_size)

    def score(self) -> float:
        return self.images_per_second

    def score_range(self) -> tuple[float, float]:
        """Images/s of the slowest and the fastest trial."""
        return self.batch_size / self.trials.slowest, self.batch_size / self.trials.fastest

    @property
    def noisy(self) -> str | None:
        """Why this row's trials spread too widely to rank it reliably, or None."""
        low, high = self.score_range()
        if low > 0 and high / low > NOISY_SPREAD:
            return f"trials {low:.1f}–{high:.1f} images/s ({high / low:.1f}× apart)"
        return None

    def metrics(self, peak_bandwidth: float | None) -> dict[str, float | int | None]:
        achieved = self.achieved_bandwidth
        return {
            "images_per_second": self.images_per_second,
            "images_per_second_min": self.batch_size / self.trials.slowest,
            "images_per_second_max": self.batch_size / self.trials.fastest,
            "ms_per_batch": self.ms_per_batch,
            "peak_memory_bytes": self.peak_memory_bytes,
            "bytes_per_image": self.bytes_per_image,
            "bandwidth_bytes_per_second": achieved,
            "bandwidth_fraction": achieved / peak_bandwidth
            if achieved and peak_bandwidth
            else None,
        }

    def to_dict(self, peak_bandwidth: float | None) -> dict[str, Any]:
        return {
            **self.described(),
            **self.metrics(peak_bandwidth),
            "memory_kind": self.warmup.memory_kind,
            "weight_bytes": self.weight_bytes,
            "trials": speed.as_dict(self.trials),
            "traffic": self.traffic.to_dict() if self.traffic else None,
        }


@dataclass(kw_only=True)
class LatencyResult(Row):
    stats: LatencyStats

    def score(self) -> float:
        return 1 / self.stats.p50

    def score_range(self) -> tuple[float, float]:
        """1/p90 and 1/p10: the middle of the calls, as a speed."""
        return 1 / self.stats.p90, 1 / max(self.stats.percentile(10), 1e-12)

    @property
    def noisy(self) -> str | None:
        tail = self.stats.p99 / self.stats.p50 if self.stats.p50 > 0 else 0
        if tail > NOISY_TAIL:
            return f"p99 {self.stats.p99:.1f} ms is {tail:.1f}× p50 {self.stats.p50:.1f} ms"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {**self.described(), **self.stats.to_dict()}


@dataclass(frozen=True)
class MachineLoad:
    """How busy the machine was around a run: the 1-minute load average when it started (other
    processes' work: this run had not begun) and the share of CPU time the hypervisor stole
    while it ran. Either may be unknown (``None``) off Linux."""

    load_before: float | None
    cpus: int
    steal_share: float | None

    @property
    def busy(self) -> str | None:
        """Why the figures may be the machine's, or None."""
        reasons = []
        if self.load_before is not None and self.load_before > 0.5 * self.cpus:
            reasons.append(
                f"the load average was {self.load_before:.1f} on {self.cpus} CPUs when it started"
            )
        if self.steal_share is not None and self.steal_share > 0.05:
            reasons.append(f"the hypervisor took {100 * self.steal_share:.0f}% of the CPU time")
        return "; ".join(reasons) or None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "busy": self.busy}


class _LoadWatch:
    """Samples the load average and steal ticks before a run; :meth:`done` gives the load."""

    def __init__(self) -> None:
        try:
            self.load = os.getloadavg()[0]
        except (OSError, AttributeError):
            self.load = None
        self.ticks = _cpu_ticks()

    def done(self) -> MachineLoad:
        end = _cpu_ticks()
        share = None
        if self.ticks is not None and end is not None:
            total = sum(end) - sum(self.ticks)
            share = (end[7] - self.ticks[7]) / total if total > 0 and len(end) > 7 else None
        return MachineLoad(self.load, os.cpu_count() or 1, share)


def _cpu_ticks() -> list[int] | None:
    """``/proc/stat``'s aggregate CPU line (user, nice, system, idle, iowait, irq, softirq,
    steal, ...), or None where there is none."""
    try:
        with open("/proc/stat") as stream:
            fields = stream.readline().split()
        return [int(value) for value in fields[1:]]
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Bandwidth:
    """The roofline: the device's memory bandwidth, from its spec sheet or measured."""

    peak: float  # bytes/s used for the fraction
    source: str  # "spec: NVIDIA H100 ..." | "measured copy"
    measured_copy: float

    def to_dict(self) -> dict[str, Any]:
        return {"peak": self.peak, "source": self.source, "measured_copy": self.measured_copy}


@dataclass(frozen=True)
class Ratio:
    model: str
    implementation: str
    baseline: str
    ratio: float  # > 1: implementation is faster
    precision: str = "fp32"  # the computed precision both rows ran in
    #: the two rows' measured ranges overlap (the slowest trial of the faster row is no faster
    #: than the fastest trial of the other): the ratio is within the noise, like an
    #: inconclusive check
    within_noise: bool = False


class _Ranked:
    """Ranks, speed-ups and the headline ratio, per model and computed precision."""

    results: list[Any]

    def ratios(self) -> list[Ratio]:
        """Every mixbench row against every row that runs timm's graph (timm eager,
        compiled, through ONNX Runtime or OpenVINO) of the same model and computed precision;
        never a row whose outputs disagree with timm's: it is not running the same model."""
        found = []
        for (model, precision), rows in _comparable(self.results).items():
            for row in rows:
                if _is_timm(row):
                    continue
                for base in rows:
                    if _is_timm(base):
                        ratio = row.score() / base.score()
                        found.append(
                            Ratio(model, row.implementation, base.implementation, ratio, precision)
                        )
        return found

    def fastest(self) -> list[Ratio]:
        """Per model and computed precision: mixbench's fastest path against timm's fastest
        path (the headline)."""
        found = []
        for (model, precision), rows in _comparable(self.results).items():
            ours = [row for row in rows if not _is_timm(row)]
            theirs = [row for row in rows if _is_timm(row)]
            if ours and theirs:
                best = max(ours, key=lambda row: row.score())
                base = max(theirs, key=lambda row: row.score())
                faster, slower = (best, base) if best.score() >= base.score() else (base, best)
                found.append(
                    Ratio(
                        model,
                        best.implementation,
                        base.implementation,
                        best.score() / base.score(),
                        precision,
                        within_noise=faster.score_range()[0] <= slower.score_range()[1],
                    )
                )
        return found

    def ranks(self) -> dict[tuple[str, str, str], int]:
        """(model, implementation, asked precision) → 1 for the fastest row of its model and
        computed precision (rows whose outputs disagree are left out: they are not ranked)."""
        ranks = {}
        for rows in _comparable(self.results).values():
            ordered = sorted(rows, key=lambda row: row.score(), reverse=True)
            for rank, row in enumerate(ordered, start=1):
                ranks[row.key] = rank
        return ranks

    def rank_of(self, row: Row) -> int | None:
        return self.ranks().get(row.key)

    def in_rank_order(self) -> list[Row]:
        """Models in the order run; within each, computed precisions in table order, rows
        fastest first; a row whose outputs disagree comes last in its precision, unranked."""
        ranks = self.ranks()
        models = list(dict.fromkeys(row.model for row in self.results))
        unranked = len(self.results) + 1

        def order(row: Row) -> tuple[int, int, int]:
            precision = row.precision.name
            return (
                models.index(row.model),
                COMPUTED.index(precision) if precision in COMPUTED else len(COMPUTED),
                ranks.get(row.key, unranked),
            )

        return sorted(self.results, key=order)

    def result(self, model: str, implementation: str, precision: str | None = None) -> Any:
        """The row of ``model`` and ``implementation`` (computed or asked in ``precision``,
        when given)."""
        for candidate in self.results:
            if (
                candidate.model == model
                and candidate.implementation == implementation
                and precision in (None, candidate.precision.name, candidate.precision.asked)
            ):
                return candidate
        raise KeyError(f"no result for {model} {implementation} {precision or ''}".strip())

    def _ranked_dicts(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ranks = self.ranks()
        return [
            {
                **row,
                "rank": ranks.get((row["model"], row["implementation"], row["precision_asked"])),
            }
            for row in rows
        ]


@dataclass
class ThroughputReport(_Ranked):
    settings: dict[str, Any]
    results: list[SpeedResult]
    bandwidth: Bandwidth | None
    environment: dict[str, str]
    device: str
    git_sha: str | None = None
    run_ids: list[int] = field(default_factory=list)
    #: rows asked for that cannot run here (a precision or device their runtime lacks)
    not_run: list[NotRun] = field(default_factory=list)
    #: how busy the machine was (a busy one is said under the table)
    machine: MachineLoad | None = None

    def ratio(
        self, model: str, implementation: str, baseline: str, precision: str | None = None
    ) -> float:
        """How many times faster ``implementation`` ran than ``baseline`` (images/s)."""
        return (
            self.result(model, implementation, precision).images_per_second
            / self.result(model, baseline, precision).images_per_second
        )

    @property
    def peak_bandwidth(self) -> float | None:
        return self.bandwidth.peak if self.bandwidth else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "throughput",
            "device": self.device,
            "settings": self.settings,
            "bandwidth": self.bandwidth.to_dict() if self.bandwidth else None,
            "results": self._ranked_dicts([r.to_dict(self.peak_bandwidth) for r in self.results]),
            "ratios": [r.__dict__ for r in self.ratios()],
            "fastest": [r.__dict__ for r in self.fastest()],
            "not_run": [note.to_dict() for note in self.not_run],
            "machine": self.machine.to_dict() if self.machine else None,
            "environment": self.environment,
            "git_sha": self.git_sha,
            "run_ids": self.run_ids,
        }

    def to_run_records(
        self, command: str | None = None, *, model: str | None = None
    ) -> list[RunRecord]:
        """One record per result (of ``model`` only, when given)."""
        ratios = self.ratios()
        return [
            RunRecord(
                kind="throughput",
                model=result.model,
                summary=self.summary_for(result),
                device=self.device,
                versions=self.environment,
                git_sha=self.git_sha,
                command=command,
                details={
                    **result.to_dict(self.peak_bandwidth),
                    "settings": self.settings,
                    "bandwidth": self.bandwidth.to_dict() if self.bandwidth else None,
                    "ratios": [
                        r.__dict__
                        for r in ratios
                        if r.model == result.model
                        and r.implementation == result.implementation
                        and r.precision == result.precision.name
                    ],
                },
                measurements=self.measurements_for(result),
            )
            for result in self.results
            if model is None or result.model == model
        ]

    def measurements_for(self, result: SpeedResult) -> list[Measurement]:
        """images/s and what goes with it, under the conditions of that row."""
        conditions = result.conditions(self.device)
        return [
            Measurement.of(metric, value, **conditions)
            for metric, value in result.metrics(self.peak_bandwidth).items()
            if metric in _SPEED_METRICS and value is not None
        ]

    def measurements(self) -> list[Measurement]:
        return [m for result in self.results for m in self.measurements_for(result)]

    def summary_for(self, result: SpeedResult) -> dict[str, Any]:
        """What a stored row says beside its measurements: how it ran, its other figures (the
        trials' spread, bandwidth achieved) and its output check."""
        figures = result.metrics(self.peak_bandwidth).items()
        others = {k: v for k, v in figures if k not in _SPEED_METRICS and v is not None}
        return {
            "implementation": result.implementation,
            "precision": result.precision.name,
            **others,
            **_check_metrics(result),
        }


@dataclass
class LatencyReport(_Ranked):
    settings: dict[str, Any]
    results: list[LatencyResult]
    environment: dict[str, str]
    device: str
    git_sha: str | None = None
    run_ids: list[int] = field(default_factory=list)
    not_run: list[NotRun] = field(default_factory=list)
    machine: MachineLoad | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "latency",
            "device": self.device,
            "settings": self.settings,
            "results": self._ranked_dicts([r.to_dict() for r in self.results]),
            "ratios": [r.__dict__ for r in self.ratios()],
            "fastest": [r.__dict__ for r in self.fastest()],
            "not_run": [note.to_dict() for note in self.not_run],
            "machine": self.machine.to_dict() if self.machine else None,
            "environment": self.environment,
            "git_sha": self.git_sha,
            "run_ids": self.run_ids,
        }

    def measurements_for(self, result: LatencyResult) -> list[Measurement]:
        conditions = result.conditions(self.device)
        stats = result.stats.to_dict()
        return [Measurement.of(key, stats[key], **conditions) for key in _LATENCY_METRICS]

    def measurements(self) -> list[Measurement]:
        return [m for result in self.results for m in self.measurements_for(result)]

    def to_run_records(self, command: str | None = None) -> list[RunRecord]:
        return [
            RunRecord(
                kind="latency",
                model=result.model,
                summary={
                    "implementation": result.implementation,
                    "precision": result.precision.name,
                    **{
                        k: v for k, v in result.stats.to_dict().items() if k not in _LATENCY_METRICS
                    },
                    **_check_metrics(result),
                },
                device=self.device,
                versions=self.environment,
                git_sha=self.git_sha,
                command=command,
                details={**result.to_dict(), "settings": self.settings},
                measurements=self.measurements_for(result),
            )
            for result in self.results
        ]


def _check_metrics(row: Row) -> dict[str, Any]:
    if row.check is None:
        return {}
    return {
        "outputs_agree": row.check.agree,
        "max_relative_difference": row.check.max_relative,
        "top1_same": row.check.top1_same,
    }


def _is_timm(row: Row) -> bool:
    from mixbench.runtimes import runs_timm_graph

    return runs_timm_graph(row.implementation)


def _comparable(results: Sequence[Row]) -> dict[tuple[str, str], list[Any]]:
    """Rows per model and computed precision, without those whose outputs disagree."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in results:
        if row.outputs_agree is not False:
            groups.setdefault(row.group, []).append(row)
    return groups


def runtime_notes(results: Sequence[Row]) -> list[str]:
    """How each runtime's rows ran, a line or two per runtime (its own words), and every row
    whose runtime computed in another precision than asked."""
    lines = []
    by_runtime: dict[str, list[Row]] = {}
    for row in results:
        by_runtime.setdefault(row.runtime, []).append(row)
    for name, rows in by_runtime.items():
        lines += runtime_named(name).notes(rows)
    lowered = [row for row in results if row.precision.lowered]
    for row in lowered:
        lines.append(
            f"{row.model} {row.implementation}: asked {row.precision.asked}, computed "
            f"{row.precision.name} ({row.precision.how}); ranked with the "
            f"{row.precision.name} rows"
        )
    return lines


#: a latency row's figures kept as measurements (its other statistics stay in its summary)
_LATENCY_METRICS = ("p50_ms", "p90_ms", "p99_ms", "mean_ms")
_SPEED_METRICS = (
    "images_per_second",
    "ms_per_batch",
    "peak_memory_bytes",
    "bytes_per_image",
    "bandwidth_fraction",
)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    """A row's runtime details without in-memory objects (an export key becomes its dict)."""
    found = {}
    for key, value in details.items():
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        found[key] = value
    return found


# ------------------------------------------------------------------------------ the API


def default_models(index: ModelIndex | None = None) -> list[str]:
    """Every model of the index (the packaged cards by default)."""
    return [card.name for card in (index or load_index())]


@dataclass
class Runner:
    """One row made ready to time: its session's bound step on the model's batch, and the
    output check done on that very call."""

    implementation: Implementation
    model: str
    session: Session
    step: Callable[[], torch.Tensor]
    images: torch.Tensor
    check: OutputCheck

    @property
    def name(self) -> str:
        return self.implementation.name

    def described(self, batch_size: int, warmup: Warmup) -> dict[str, Any]:
        return {
            "model": self.model,
            "implementation": self.name,
            "runtime": self.implementation.runtime,
            "batch_size": batch_size,
            "image_size": int(self.images.shape[-1]),
            "precision": self.session.precision,
            "layout": self.session.layout,
            "provider": self.session.provider,
            "check": self.check,
            "details": self.session.details,
            "warmup": warmup,
        }

    def close(self) -> None:
        self.session.close()
        self.step = _closed


def _closed() -> torch.Tensor:
    raise RuntimeError("this runner was closed")


def throughput(
    models: Sequence[str] | None,
    settings: SpeedSettings,
    implementations: str = "native,timm",
    *,
    index_path: str | None = None,
    on_progress: OnProgress | None = None,
    on_model: Callable[[ThroughputReport, str], None] | None = None,
) -> ThroughputReport:
    """Images/s of every implementation at every precision of every model (default: the whole
    index).

    ``on_model(report, name)`` is called as soon as a model's rows are in ``report`` (the
    pipeline stores them then, so an interrupted run keeps every finished model).
    """
    index = load_index(index_path)
    names = list(models) if models else default_models(index)
    plan, not_run = _plan(settings, implementations)
    for name in names:  # an unknown name or a bad config: said before anything is measured
        resolve_config(name)
    device = settings.torch_device
    watch = _LoadWatch()
    trials = settings.timing.trials
    total = len(names) * len(plan) * (trials + 3) + 1
    progress = StepCounter("throughput", total, on_progress)
    # the roofline first: then each model's rows are complete as soon as they are measured
    progress.advance("memory bandwidth")
    report = ThroughputReport(
        settings=settings.to_dict(),
        results=[],
        bandwidth=measure_bandwidth(device) if settings.count_traffic else None,
        environment=_environment(device, plan),
        device=device_label(device),
        git_sha=git_sha(),
        not_run=not_run,
    )
    for name in names:
        runners = _build_all(name, plan, settings, index, progress)
        try:
            warmups = [_warm(runner, settings, progress) for runner in runners]
            calls = [speed.calls_for(w.seconds_per_call, settings.timing) for w in warmups]
            # what the warm-up says the timing will take: shown while it runs
            seconds = trials * sum(
                count * w.seconds_per_call for count, w in zip(calls, warmups, strict=True)
            )
            started = time.perf_counter()

            def left(seconds: float = seconds, started: float = started, name: str = name) -> str:
                remaining = max(0.0, seconds - (time.perf_counter() - started))
                return f" (about {remaining:.0f} s of timing left for {name})"

            measured = speed.interleaved_trials(
                [r.step for r in runners],
                device,
                calls,
                trials,
                on_trial=lambda t, p, rs=runners: progress.advance(
                    f"{rs[p].model} {rs[p].name}: trial {t + 1}/{trials}{left()}"
                ),
            )
            done = [
                SpeedResult(
                    **runner.described(settings.batch, warmup),
                    trials=timed,
                    weight_bytes=runner.session.weight_bytes,
                    traffic=_traffic(runner, settings, progress),
                )
                for runner, warmup, timed in zip(runners, warmups, measured, strict=True)
            ]
        finally:
            _release(runners)
        report.results.extend(done)
        report.machine = watch.done()
        if on_model is not None:
            on_model(report, name)
    return report


def latency(
    model: str,
    settings: SpeedSettings,
    implementations: str = "native,timm",
    *,
    index_path: str | None = None,
    on_progress: OnProgress | None = None,
) -> LatencyReport:
    """Per-call latency percentiles of each implementation at each precision of ``model``
    (batch 1 unless ``settings.batch_size`` says otherwise)."""
    settings = replace(settings, batch_size=settings.batch_size or 1)
    index = load_index(index_path)
    plan, not_run = _plan(settings, implementations)
    device = settings.torch_device
    watch = _LoadWatch()
    rounds = min(10, settings.timing.latency_iterations)
    progress = StepCounter("latency", 2 * len(plan) + rounds, on_progress)
    runners = _build_all(model, plan, settings, index, progress)
    try:
        warmups = [_warm(runner, settings, progress) for runner in runners]
        stats = speed.interleaved_latency(
            [r.step for r in runners],
            device,
            settings.timing.latency_iterations,
            rounds,
            on_round=lambda r: progress.advance(f"{model}: round {r + 1}/{rounds}"),
        )
        results = [
            LatencyResult(**runner.described(settings.batch, warmup), stats=stat)
            for runner, warmup, stat in zip(runners, warmups, stats, strict=True)
        ]
    finally:
        _release(runners)
    return LatencyReport(
        settings=settings.to_dict(),
        results=results,
        environment=_environment(device, plan),
        device=device_label(device),
        git_sha=git_sha(),
        not_run=not_run,
        machine=watch.done(),
    )


def measure_bandwidth(device: torch.device) -> Bandwidth:
    """The spec-sheet bandwidth of a known GPU, else the measured copy bandwidth."""
    measured = copy_bandwidth(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        spec = spec_bandwidth(name)
        if spec is not None:
            return Bandwidth(peak=spec, source=f"spec: {name}", measured_copy=measured)
    return Bandwidth(peak=measured, source="measured copy", measured_copy=measured)


# ------------------------------------------------------------------------------ internals

Plan = list[tuple[Implementation, PrecisionRequest]]


@dataclass(frozen=True)
class NotRun:
    """A row that was asked for but cannot run here (a precision or device its runtime does
    not have): left out before anything runs, and said under the table and in the JSON."""

    implementation: str
    precision: str
    reason: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def text(self) -> str:
        return f"not run: {self.reason}"


def _plan(settings: SpeedSettings, implementations: str) -> tuple[Plan, list[NotRun]]:
    """Every (implementation, precision) row, each checked against its runtime before
    anything is built. A missing extra or a bad compile mode stops the run; a precision or
    device the runtime does not have leaves that row out (named in ``NotRun``), and stops the
    run only when no row is left."""
    from mixbench.runtimes.compiled import compile_options

    chosen = settings.implementations(implementations)
    precisions = settings.precisions
    device = settings.torch_device
    if any(i.runtime == "compile" for i in chosen):
        compile_options(settings.compile_mode)
    plan: Plan = []
    left_out: list[tuple[NotRun, InputError]] = []
    for implementation in chosen:
        runtime = runtime_named(implementation.runtime)
        runtime.require(f"--impl {implementation.name}")  # a missing extra: install it first
        # a row whose runtime picks its own precision runs once, asked for float32 (what a
        # user who sets nothing expects), so its read-back shows what the runtime did
        own = runtime.ignores_precision(implementation)
        for precision in (PrecisionRequest("fp32"),) if own else precisions:
            try:
                runtime.check_request(implementation, precision, device)
            except NotSupportedHere as error:
                note = NotRun(implementation.name, precision.name, error.message, error.hint)
                left_out.append((note, error))
                continue
            plan.append((implementation, precision))
    if not plan:
        raise left_out[0][1]
    return plan, [note for note, _ in left_out]


def _environment(device: torch.device, plan: Plan) -> dict[str, str]:
    environment = collect_environment(device)
    for name in dict.fromkeys(implementation.runtime for implementation, _ in plan):
        environment.update(runtime_named(name).versions())
    return environment


def _build_all(
    name: str,
    plan: Plan,
    settings: SpeedSettings,
    index: ModelIndex,
    progress: StepCounter,
) -> list[Runner]:
    """Each row of ``plan`` built for ``name`` on one shared seeded batch, and checked."""
    subject = Subject(resolve_model(name, index=index), settings.image_size)
    images = subject.images(settings.batch)
    _label_module, label = subject.reference()
    want = subject.reference_logits(images)
    runners: list[Runner] = []
    try:
        for implementation, precision in plan:
            progress.advance(f"{subject.name} {implementation.name} {precision.name}: build")
            runtime = runtime_named(implementation.runtime)
            request = Request(
                implementation=implementation,
                precision=precision,
                device=settings.torch_device,
                batch=settings.batch,
                image_size=subject.image_size,
                channels_last=settings.channels_last,
                compile_mode=settings.compile_mode,
                opset=settings.opset or DEFAULT_OPSET,
            )
            session = runtime.build(subject, request)
            step = session.bind(images)
            first = step()  # the check runs the very call that is timed, on the very batch
            session.observe(first)
            check = compare_outputs(first, want, session.precision.bound, reference=label)
            if not check.agree:
                _forget_exports(session)
            runners.append(Runner(implementation, subject.name, session, step, images, check))
    except BaseException:
        _release(runners)
        raise
    return runners


def _forget_exports(session: Session) -> None:
    """Files whose outputs are wrong are not kept in the cache for the next run."""
    from mixbench.runtimes.exports import forget

    for path in session.cached_files:
        forget(path)


def _warm(runner: Runner, settings: SpeedSettings, progress: StepCounter) -> Warmup:
    progress.advance(f"{runner.model} {runner.name}: warm-up")
    warmup = speed.warm_up(runner.step, settings.torch_device, settings.timing)
    runtime = runtime_named(runner.implementation.runtime)
    if not runtime.memory_visible(settings.torch_device):
        # ONNX Runtime and OpenVINO allocate GPU memory in their own arenas: torch's
        # counters miss it
        return replace(
            warmup, peak_memory_bytes=None, memory_kind=f"not measured ({runtime.label})"
        )
    return warmup


def _traffic(runner: Runner, settings: SpeedSettings, progress: StepCounter) -> Traffic | None:
    progress.advance(f"{runner.model} {runner.name}: memory traffic")
    runtime = runtime_named(runner.implementation.runtime)
    eager = runner.session.eager
    if not settings.count_traffic or "traffic" not in runtime.measures or eager is None:
        return None
    one_image = runner.images[:1].to(settings.torch_device, _dtype_of(eager))
    if runner.session.layout == "channels_last":
        one_image = one_image.contiguous(memory_format=torch.channels_last)
    return count_traffic(eager, one_image, autocast_dtype=runner.session.autocast_dtype)


def _dtype_of(module: torch.nn.Module) -> torch.dtype:
    for parameter in module.parameters():
        return parameter.dtype
    return torch.float32


def _release(runners: list[Runner]) -> None:
    for runner in runners:
        runner.close()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
