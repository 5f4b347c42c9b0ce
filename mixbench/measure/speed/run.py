"""``mixbench throughput`` and ``mixbench latency``'s Python API.

>>> from mixbench.measure.speed.run import SpeedSettings, throughput
>>> report = throughput(["mixnet_xl"], SpeedSettings(device="cuda", batch_size=256, amp=True,
...                     channels_last=True), implementations="native,timm,timm+compile")
... # doctest: +SKIP
>>> report.ratio("mixnet_xl", "native", "timm")  # doctest: +SKIP

Every implementation of one model is built, warmed up, and then timed interleaved with the
others, trial by trial (see :mod:`mixbench.measure.speed.timing`), so ratios come from one run.
Models are measured one after another and their memory is given back in between.

``ort`` and ``native+ort`` rows (ONNX Runtime, :mod:`mixbench.measure.speed.onnx`) have their
outputs checked against timm's before timing; a row whose outputs disagree is kept, flagged
(``outputs_agree: false``) and left out of the speed-ups.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from mixbench.environment import collect_environment, device_label, git_sha
from mixbench.errors import InputError
from mixbench.events import OnProgress, StepCounter
from mixbench.index import ModelIndex, load_index
from mixbench.measure.speed import timing as speed
from mixbench.measure.speed.implementations import (
    DTYPES,
    Implementation,
    OutputCheck,
    Precision,
    Runner,
    build_runner,
    compile_options,
    parse_implementations,
    runs_timm_graph,
)
from mixbench.measure.speed.timing import LatencyStats, TimingOptions, Trials, Warmup
from mixbench.measure.speed.traffic import Traffic, copy_bandwidth, count_traffic, spec_bandwidth
from mixbench.records import Measurement, RunRecord
from mixbench.resolve import resolve_model

__all__ = [
    "LatencyReport",
    "SpeedSettings",
    "ThroughputReport",
    "TimingOptions",
    "latency",
    "runtime_notes",
    "throughput",
]

#: Batch size when none is given: timm's benchmark default on GPUs; a CPU would take minutes.
DEFAULT_BATCH = {"cuda": 256, "cpu": 16}


@dataclass(frozen=True)
class SpeedSettings:
    device: str = "cpu"
    batch_size: int | None = None  # None: DEFAULT_BATCH for the device type
    amp: bool = False
    dtype: str | None = None  # "float16" | "bfloat16" | "float32"
    channels_last: bool = False
    image_size: int | None = None  # None: the card's
    compile: bool = False
    cuda_graphs: bool = False
    optimize: bool = True
    timing: TimingOptions = field(default_factory=TimingOptions)
    count_traffic: bool = True
    compile_mode: str = "default"  # torch.compile's mode for +compile (always with freezing)
    opset: int = 18  # ONNX opset of ort exports

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    @property
    def batch(self) -> int:
        return self.batch_size or DEFAULT_BATCH.get(self.torch_device.type, 16)

    @property
    def precision(self) -> Precision:
        if self.dtype is not None and self.dtype not in DTYPES:
            raise InputError(
                f"--dtype {self.dtype!r} is not supported", hint=f"use {', '.join(DTYPES)}"
            )
        return Precision(amp=self.amp, dtype=DTYPES[self.dtype] if self.dtype else None)

    def implementations(self, text: str) -> list[Implementation]:
        return parse_implementations(
            text, compile=self.compile, cuda_graphs=self.cuda_graphs, optimize=self.optimize
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "batch_size": self.batch,
            "precision": self.precision.label(self.torch_device),
            "channels_last": self.channels_last,
            "image_size": self.image_size,
            "compile": self.compile,
            "cuda_graphs": self.cuda_graphs,
            "optimize": self.optimize,
            "timing": self.timing.__dict__,
            "compile_mode": self.compile_mode,  # +compile rows: runtime.options has the rest
            "onnx_opset": self.opset,
        }


@dataclass
class SpeedResult:
    """One implementation of one model: throughput over trials, memory and traffic."""

    model: str
    implementation: str
    batch_size: int
    image_size: int
    precision: str
    layout: str
    trials: Trials
    warmup: Warmup
    weight_bytes: int
    traffic: Traffic | None = None
    provider: str | None = None
    check: OutputCheck | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def outputs_agree(self) -> bool | None:
        return None if self.check is None else self.check.agree

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
            "model": self.model,
            "implementation": self.implementation,
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "precision": self.precision,
            "layout": self.layout,
            **self.metrics(peak_bandwidth),
            "memory_kind": self.warmup.memory_kind,
            "weight_bytes": self.weight_bytes,
            "trials": speed.as_dict(self.trials),
            "warmup": speed.as_dict(self.warmup),
            "traffic": self.traffic.to_dict() if self.traffic else None,
            **_checked(self),
        }


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


@dataclass
class ThroughputReport:
    settings: dict[str, Any]
    results: list[SpeedResult]
    bandwidth: Bandwidth | None
    environment: dict[str, str]
    device: str
    git_sha: str | None = None
    run_ids: list[int] = field(default_factory=list)

    def result(self, model: str, implementation: str) -> SpeedResult:
        for candidate in self.results:
            if candidate.model == model and candidate.implementation == implementation:
                return candidate
        raise KeyError(f"no result for {model} {implementation}")

    def ratio(self, model: str, implementation: str, baseline: str) -> float:
        """How many times faster ``implementation`` ran than ``baseline`` (images/s)."""
        return (
            self.result(model, implementation).images_per_second
            / self.result(model, baseline).images_per_second
        )

    def ratios(self) -> list[Ratio]:
        """Every mixbench implementation against every one that runs timm's graph (timm eager,
        compiled, ``ort``), per model; not a row whose outputs disagree with timm's: it is not
        running the same model."""
        return _ratios(self.results, lambda row: row.images_per_second)

    def fastest(self) -> list[Ratio]:
        """Per model: mixbench's fastest path against timm's fastest path (the headline)."""
        return _fastest(self.results, lambda row: row.images_per_second)

    def ranks(self) -> dict[tuple[str, str], int]:
        """(model, implementation) → 1 for the fastest row of its model (rows whose outputs
        disagree are left out: they are not ranked)."""
        return _ranks(self.results, lambda row: row.images_per_second)

    @property
    def peak_bandwidth(self) -> float | None:
        return self.bandwidth.peak if self.bandwidth else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "throughput",
            "device": self.device,
            "settings": self.settings,
            "bandwidth": self.bandwidth.to_dict() if self.bandwidth else None,
            "results": _with_ranks(
                [r.to_dict(self.peak_bandwidth) for r in self.results], self.ranks()
            ),
            "ratios": [r.__dict__ for r in self.ratios()],
            "fastest": [r.__dict__ for r in self.fastest()],
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
                metrics=self.metrics_for(result),
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
                        if r.model == result.model and r.implementation == result.implementation
                    ],
                },
                measurements=self.measurements_for(result),
            )
            for result in self.results
            if model is None or result.model == model
        ]

    def measurements_for(self, result: SpeedResult) -> list[Measurement]:
        """images/s and what goes with it, under the conditions of that row."""
        conditions = _conditions(result, self.device)
        return [
            Measurement.of(metric, value, **conditions)
            for metric, value in result.metrics(self.peak_bandwidth).items()
            if metric in _SPEED_METRICS and value is not None
        ]

    def measurements(self) -> list[Measurement]:
        return [m for result in self.results for m in self.measurements_for(result)]

    def metrics_for(self, result: SpeedResult) -> dict[str, Any]:
        metrics = {k: v for k, v in result.metrics(self.peak_bandwidth).items() if v is not None}
        if result.check is not None:
            metrics["outputs_agree"] = result.check.agree
            metrics["max_relative_difference"] = result.check.max_relative
        return {"implementation": result.implementation, **metrics}


@dataclass
class LatencyResult:
    model: str
    implementation: str
    batch_size: int
    image_size: int
    precision: str
    layout: str
    stats: LatencyStats
    warmup: Warmup
    provider: str | None = None
    check: OutputCheck | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def outputs_agree(self) -> bool | None:
        return None if self.check is None else self.check.agree

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "implementation": self.implementation,
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "precision": self.precision,
            "layout": self.layout,
            **self.stats.to_dict(),
            "warmup": speed.as_dict(self.warmup),
            **_checked(self),
        }


@dataclass
class LatencyReport:
    settings: dict[str, Any]
    results: list[LatencyResult]
    environment: dict[str, str]
    device: str
    git_sha: str | None = None
    run_ids: list[int] = field(default_factory=list)

    def ratios(self) -> list[Ratio]:
        """p50 of each row that runs timm's graph over each mixbench row's: > 1 means faster
        (not for a row whose outputs disagree with timm's)."""
        return _ratios(self.results, lambda row: 1 / row.stats.p50)

    def fastest(self) -> list[Ratio]:
        """Per model: mixbench's lowest p50 against the lowest p50 of timm's paths."""
        return _fastest(self.results, lambda row: 1 / row.stats.p50)

    def ranks(self) -> dict[tuple[str, str], int]:
        return _ranks(self.results, lambda row: 1 / row.stats.p50)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "latency",
            "device": self.device,
            "settings": self.settings,
            "results": _with_ranks([r.to_dict() for r in self.results], self.ranks()),
            "ratios": [r.__dict__ for r in self.ratios()],
            "fastest": [r.__dict__ for r in self.fastest()],
            "environment": self.environment,
            "git_sha": self.git_sha,
            "run_ids": self.run_ids,
        }

    def measurements_for(self, result: LatencyResult) -> list[Measurement]:
        conditions = _conditions(result, self.device)
        return [
            Measurement.of(f"{key}_ms", getattr(result.stats, key), **conditions)
            for key in ("p50", "p90", "p99", "mean")
        ]

    def measurements(self) -> list[Measurement]:
        return [m for result in self.results for m in self.measurements_for(result)]

    def to_run_records(self, command: str | None = None) -> list[RunRecord]:
        return [
            RunRecord(
                kind="latency",
                model=result.model,
                metrics={
                    "implementation": result.implementation,
                    **result.stats.to_dict(),
                    **(
                        {
                            "outputs_agree": result.check.agree,
                            "max_relative_difference": result.check.max_relative,
                        }
                        if result.check is not None
                        else {}
                    ),
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


Row = SpeedResult | LatencyResult


def _comparable(results: Sequence[Row]) -> dict[str, list[Row]]:
    """Rows per model, without those whose outputs disagree with timm's."""
    by_model: dict[str, list[Row]] = {}
    for row in results:
        if row.outputs_agree is not False:
            by_model.setdefault(row.model, []).append(row)
    return by_model


def _ratios(results: Sequence[Row], score: Callable[[Any], float]) -> list[Ratio]:
    found = []
    for model, rows in _comparable(results).items():
        for row in rows:
            if runs_timm_graph(row.implementation):
                continue
            for base in rows:
                if runs_timm_graph(base.implementation):
                    ratio = score(row) / score(base)
                    found.append(Ratio(model, row.implementation, base.implementation, ratio))
    return found


def _fastest(results: Sequence[Row], score: Callable[[Any], float]) -> list[Ratio]:
    found = []
    for model, rows in _comparable(results).items():
        ours = [row for row in rows if not runs_timm_graph(row.implementation)]
        theirs = [row for row in rows if runs_timm_graph(row.implementation)]
        if ours and theirs:
            best, base = max(ours, key=score), max(theirs, key=score)
            ratio = score(best) / score(base)
            found.append(Ratio(model, best.implementation, base.implementation, ratio))
    return found


def _ranks(results: Sequence[Row], score: Callable[[Any], float]) -> dict[tuple[str, str], int]:
    ranks = {}
    for model, rows in _comparable(results).items():
        for rank, row in enumerate(sorted(rows, key=score, reverse=True), start=1):
            ranks[(model, row.implementation)] = rank
    return ranks


def _with_ranks(
    rows: list[dict[str, Any]], ranks: dict[tuple[str, str], int]
) -> list[dict[str, Any]]:
    return [{**row, "rank": ranks.get((row["model"], row["implementation"]))} for row in rows]


def runtime_notes(results: Sequence[SpeedResult | LatencyResult]) -> list[str]:
    """How compiled and ONNX Runtime rows ran, one line per kind and provider, for under a
    table (``to_dict`` has every row's details)."""
    lines = []
    compiled = [r for r in results if r.details.get("compiler")]
    if compiled:
        details = compiled[0].details
        options = ", ".join(
            f"{key}={value}" for key, value in details["options"].items() if key != "freezing"
        )
        seconds = ", ".join(
            f"{r.implementation} {r.details['compile_seconds']:.0f} s" for r in compiled
        )
        lines.append(
            f"+compile: torch.compile, inductor, mode {details['mode']}, freezing"
            + (f" ({options})" if options else "")
            + f", under no_grad; compiled in {seconds}"
        )
    onnx_rows = [r for r in results if r.details.get("runtime") == "onnxruntime"]
    for provider in dict.fromkeys(r.provider for r in onnx_rows):
        rows = [r for r in onnx_rows if r.provider == provider]
        details = rows[0].details
        checks = ", ".join(
            f"{r.implementation} {r.check.max_relative:.1e}"
            + ("" if r.check.agree else " (DIFFER: not ranked)")
            for r in rows
            if r.check is not None
        )
        lines.append(
            f"onnxruntime {details['onnxruntime']}: {provider}, "
            f"{details['intra_op_threads']} intra-op threads, "
            f"{details['graph_optimization_level']}, opset {details['opset']} "
            f"({details['exporter']} exporter); outputs vs timm, max relative difference: "
            f"{checks} (tolerance {rows[0].check.tolerance:.0e})"
        )
    return lines


_SPEED_METRICS = (
    "images_per_second",
    "ms_per_batch",
    "peak_memory_bytes",
    "bytes_per_image",
    "bandwidth_fraction",
)


def _checked(result: SpeedResult | LatencyResult) -> dict[str, Any]:
    """How a row ran beyond its shape: the ONNX Runtime provider, the output check, settings."""
    return {
        "provider": result.provider,
        "outputs_agree": result.outputs_agree,
        "outputs_check": result.check.to_dict() if result.check else None,
        "runtime": result.details or None,
    }


def _conditions(result: SpeedResult | LatencyResult, device: str) -> dict[str, Any]:
    """What a speed figure depends on: which implementation, where, in what shape."""
    return {
        "implementation": result.implementation,
        "device": device,
        "batch_size": result.batch_size,
        "image_size": result.image_size,
        "precision": result.precision,
        "layout": result.layout,
    }


# ------------------------------------------------------------------------------ the API


def default_models(index: ModelIndex | None = None) -> list[str]:
    """Every model of the index (the packaged cards by default)."""
    return [card.name for card in (index or load_index())]


def throughput(
    models: Sequence[str] | None,
    settings: SpeedSettings,
    implementations: str = "native,timm",
    *,
    index_path: str | None = None,
    on_progress: OnProgress | None = None,
    on_model: Callable[[ThroughputReport, str], None] | None = None,
) -> ThroughputReport:
    """Images/s of every implementation of every model (default: the whole index).

    ``on_model(report, name)`` is called as soon as a model's rows are in ``report`` (the
    pipeline stores them then, so an interrupted run keeps every finished model).
    """
    index = load_index(index_path)
    names = list(models) if models else default_models(index)
    chosen = settings.implementations(implementations)
    _check_before_building(chosen, settings)
    device = settings.torch_device
    trials = settings.timing.trials
    total = len(names) * len(chosen) * (trials + 2) + 1
    progress = StepCounter("throughput", total, on_progress)
    # the roofline first: then each model's rows are complete as soon as they are measured
    progress.advance("memory bandwidth")
    report = ThroughputReport(
        settings=settings.to_dict(),
        results=[],
        bandwidth=measure_bandwidth(device) if settings.count_traffic else None,
        environment=_environment(device, chosen),
        device=device_label(device),
        git_sha=git_sha(),
    )
    for name in names:
        runners = _build_all(name, chosen, settings, index)
        try:
            warmups = [_warm(runner, settings, progress) for runner in runners]
            calls = [speed.calls_for(w.seconds_per_call, settings.timing) for w in warmups]
            measured = speed.interleaved_trials(
                [r.step for r in runners],
                device,
                calls,
                trials,
                on_trial=lambda t, p, rs=runners: progress.advance(
                    f"{rs[p].model} {rs[p].name}: trial {t + 1}/{trials}"
                ),
            )
            done = [
                SpeedResult(
                    **_described(runner, settings.batch),
                    trials=timed,
                    warmup=warmup,
                    weight_bytes=runner.weight_bytes,
                    traffic=_traffic(runner, settings, progress),
                )
                for runner, warmup, timed in zip(runners, warmups, measured, strict=True)
            ]
        finally:
            _release(runners)
        report.results.extend(done)
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
    """Per-call latency percentiles of each implementation of ``model`` (batch 1 unless
    ``settings.batch_size`` says otherwise)."""
    settings = replace(settings, batch_size=settings.batch_size or 1)
    index = load_index(index_path)
    chosen = settings.implementations(implementations)
    _check_before_building(chosen, settings)
    device = settings.torch_device
    rounds = min(10, settings.timing.latency_iterations)
    progress = StepCounter("latency", len(chosen) + rounds, on_progress)
    runners = _build_all(model, chosen, settings, index)
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
            LatencyResult(
                **_described(runner, settings.batch),
                stats=stat,
                warmup=warmup,
            )
            for runner, warmup, stat in zip(runners, warmups, stats, strict=True)
        ]
    finally:
        _release(runners)
    report = LatencyReport(
        settings=settings.to_dict(),
        results=results,
        environment=_environment(device, chosen),
        device=device_label(device),
        git_sha=git_sha(),
    )
    return report


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


def _check_before_building(chosen: list[Implementation], settings: SpeedSettings) -> None:
    """Refuse what cannot run before anything is measured: a bad --dtype or compile mode, and
    ort rows without ONNX Runtime (the error names the extra) or in a dtype it lacks."""
    precision = settings.precision
    if any(i.compile for i in chosen):
        compile_options(settings.compile_mode)
    ort_rows = [i for i in chosen if i.ort]
    if ort_rows:
        from mixbench.measure.speed import onnx

        onnx.require_onnxruntime(f"--impl {ort_rows[0].name}")
        onnx.ort_dtype(precision, settings.torch_device)


def _environment(device: torch.device, chosen: list[Implementation]) -> dict[str, str]:
    environment = collect_environment(device)
    if any(i.ort for i in chosen):
        from mixbench.measure.speed import onnx

        environment.update(onnx.versions())
    return environment


def _build_all(
    name: str,
    implementations: list[Implementation],
    settings: SpeedSettings,
    index: ModelIndex,
) -> list[Runner]:
    resolved = resolve_model(name, index=index)
    runners: list[Runner] = []
    try:
        for implementation in implementations:
            if implementation.ort:
                from mixbench.measure.speed import onnx  # an optional extra: only when asked

                runners.append(
                    onnx.build_ort_runner(
                        resolved,
                        implementation,
                        device=torch.device(settings.device),
                        batch_size=settings.batch,
                        precision=settings.precision,
                        image_size=settings.image_size,
                        opset=settings.opset or onnx.DEFAULT_OPSET,
                    )
                )
                continue
            runners.append(
                build_runner(
                    resolved,
                    implementation,
                    device=settings.device,
                    batch_size=settings.batch,
                    precision=settings.precision,
                    channels_last=settings.channels_last,
                    image_size=settings.image_size,
                    compile_mode=settings.compile_mode,
                )
            )
    except BaseException:
        _release(runners)
        raise
    return runners


def _described(runner: Runner, batch_size: int) -> dict[str, Any]:
    """What a result row says about the runner it measured."""
    return {
        "model": runner.model,
        "implementation": runner.name,
        "batch_size": batch_size,
        "image_size": runner.images.shape[-1],
        "precision": runner.precision,
        "layout": runner.layout,
        "provider": runner.provider,
        "check": runner.check,
        "details": runner.details,
    }


def _warm(runner: Runner, settings: SpeedSettings, progress: StepCounter) -> Warmup:
    progress.advance(f"{runner.model} {runner.name}: warm-up")
    warmup = speed.warm_up(runner.step, settings.torch_device, settings.timing)
    if runner.implementation.ort and settings.torch_device.type == "cuda":
        # ONNX Runtime allocates GPU memory in its own arena, which torch's counters miss
        return replace(warmup, peak_memory_bytes=None, memory_kind="not measured (onnxruntime)")
    return warmup


def _traffic(runner: Runner, settings: SpeedSettings, progress: StepCounter) -> Traffic | None:
    progress.advance(f"{runner.model} {runner.name}: memory traffic")
    if not settings.count_traffic or runner.implementation.compile or runner.implementation.ort:
        return None  # compiled kernels are fused: an eager count would overstate their bytes
    one_image = runner.images[:1]
    return count_traffic(runner.eager, one_image, autocast_dtype=runner.autocast_dtype)


def _release(runners: list[Runner]) -> None:
    for runner in runners:
        runner.close()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
