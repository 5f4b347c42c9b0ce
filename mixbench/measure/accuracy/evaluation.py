"""``mixbench eval``'s Python API: a model and a data source in, a scored :class:`EvalReport` out.

>>> from mixbench.measure.accuracy.evaluation import evaluate, EvalOptions
>>> report = evaluate("mixnet_s", "/data/imagenet/val", pretrained=True,
...                   options=EvalOptions(device="cuda", batch_size=256))  # doctest: +SKIP
>>> report.metrics.top1  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch

from mixbench.data.sources import EvalSource, open_source
from mixbench.data.sources.imagenet import NUM_CLASSES, imagenet_synsets
from mixbench.errors import InputError
from mixbench.events import OnProgress, ProgressEvent
from mixbench.measure.accuracy.agreement import Agreement
from mixbench.measure.accuracy.distributed import close_distributed, init_distributed
from mixbench.measure.accuracy.loop import EvalOutcome, LoopStatus, run_predictions
from mixbench.measure.accuracy.resume_log import ResumeLog
from mixbench.measure.accuracy.scoring import (
    ClassAccuracy,
    TopK,
    real_index,
    score,
    score_per_class,
    score_real,
)
from mixbench.measure.options import EvalOptions, default_workers
from mixbench.measure.precision import PrecisionRequest, dtype_name, exact_float32
from mixbench.records import Measurement
from mixbench.resolve import ResolvedModel, resolve_model
from mixbench.runtimes import (
    Implementation,
    OutputCheck,
    Request,
    Session,
    compare_outputs,
    parse_implementation,
    runtime_named,
)
from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION
from mixbench.runtimes.subject import Subject
from mixbench.store import RunRecord, sha256_file

__all__ = ["EvalOptions", "EvalReport", "LoopStatus", "evaluate"]

#: What a deployed path's predictions are paired with.
REFERENCE_PATH = f"{DEFAULT_IMPLEMENTATION} (PyTorch eager, float32)"


@dataclass
class EvalReport:
    """One evaluation: what ran, on what, and what it scored."""

    model: str
    weights: str | None
    weights_sha256: str | None
    data: dict[str, Any]
    preprocessing: dict[str, Any]
    settings: dict[str, Any]
    metrics: TopK
    real: TopK | None
    per_class: list[ClassAccuracy]
    bad_images: list[dict[str, str]]
    timing: dict[str, float | int]
    environment: dict[str, str] = field(default_factory=dict)
    git_sha: str | None = None
    run_id: int | None = None  # its id in the results store, once recorded
    #: the resume log behind this run: removed by whoever stores the result, once it is safe
    resume_log: ResumeLog | None = field(default=None, repr=False, compare=False)
    #: each evaluated image's top-1 class, by its index in the source (kept in memory only:
    #: paired with another path's by :mod:`mixbench.measure.accuracy.agreement`)
    top1: dict[int, int] = field(default_factory=dict, repr=False, compare=False)
    #: against eager float32 on the same images, when that reference was run
    agreement: Agreement | None = None
    #: the reference evaluation behind ``agreement`` (stored as a run of its own)
    reference: EvalReport | None = field(default=None, repr=False, compare=False)

    def finish(self) -> None:
        """The result is stored: its resume log is no longer needed."""
        if self.resume_log is not None:
            self.resume_log.remove()
            self.resume_log = None

    def headline(self) -> dict[str, Any]:
        """The figures a table shows: top-1/top-5 (and ReaL), counts."""
        numbers: dict[str, Any] = self.metrics.to_dict()
        numbers["bad_images"] = len(self.bad_images)
        if self.real is not None:
            numbers["real_top1"] = self.real.top1
            numbers["real_top5"] = self.real.top5
            numbers["real_count"] = self.real.count
        return numbers

    def summary(self) -> dict[str, Any]:
        """What a stored run says beside its measurements (top-1, top-5, images, ReaL's):
        the images left out as unreadable, and ReaL's image count."""
        found: dict[str, Any] = {"bad_images": len(self.bad_images)}
        if self.real is not None:
            found["real_count"] = self.real.count
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "weights": self.weights,
            "weights_sha256": self.weights_sha256,
            "data": self.data,
            "preprocessing": self.preprocessing,
            "settings": self.settings,
            "metrics": self.headline(),
            "real": self.real.to_dict() if self.real else None,
            "per_class": {row.synset: asdict(row) for row in self.per_class},
            "bad_images": self.bad_images,
            "timing": self.timing,
            "environment": self.environment,
            "git_sha": self.git_sha,
            "run_id": self.run_id,
            "agreement": self.agreement_dict(),
        }

    def agreement_dict(self) -> dict[str, Any] | None:
        if self.agreement is None:
            return None
        reference = self.reference
        return {
            **self.agreement.to_dict(),
            "reference": REFERENCE_PATH,
            "reference_top1": reference.metrics.top1 if reference else None,
            "reference_run_id": reference.run_id if reference else None,
        }

    def measurements(self) -> list[Measurement]:
        """Top-1/top-5 (and ReaL) with the data, images and settings they were scored under."""
        conditions = {
            "data": self.data.get("spec"),
            "fingerprint": self.data.get("fingerprint"),
            "images": self.metrics.count,
            "device": self.settings.get("device"),
            "amp": self.settings.get("amp"),
            "implementation": self.settings.get("implementation"),
            "precision": self.settings.get("precision_computed") or self.settings.get("precision"),
        }
        found = [
            Measurement.of("top1", self.metrics.top1, **conditions),
            Measurement.of("top5", self.metrics.top5, **conditions),
            Measurement.of("images", self.metrics.count, **conditions),
        ]
        if self.real is not None:
            real = {**conditions, "images": self.real.count, "labels": "imagenet-real"}
            found += [
                Measurement.of("real_top1", self.real.top1, **real),
                Measurement.of("real_top5", self.real.top5, **real),
            ]
        return found

    def to_run_record(self, command: str | None = None) -> RunRecord:
        return RunRecord(
            kind="eval",
            model=self.model,
            summary=self.summary(),
            weights=self.weights,
            weights_sha256=self.weights_sha256,
            dataset=self.data.get("spec"),
            dataset_fingerprint=self.data.get("fingerprint"),
            preprocessing=self.preprocessing,
            device=self.environment.get("device"),
            versions=self.environment,
            git_sha=self.git_sha,
            command=command,
            details={
                "settings": self.settings,
                "agreement": self.agreement_dict(),
                "timing": self.timing,
                "real": self.real.to_dict() if self.real else None,
                "per_class": {row.synset: asdict(row) for row in self.per_class},
                "bad_images": self.bad_images,
            },
            measurements=self.measurements(),
        )


def evaluate(
    model_spec: str | os.PathLike[str],
    data: str | EvalSource,
    *,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    labels: str | os.PathLike[str] | None = None,
    real_labels: bool = False,
    options: EvalOptions | None = None,
    index_path: str | Path | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    on_progress: OnProgress | None = None,
    warn: Callable[[str], None] | None = None,
    compare_fp32: bool | None = None,
) -> EvalReport | None:
    """Top-1/top-5 of a model on ImageNet-val data, with its card's exact preprocessing.

    ``options.implementation`` and ``options.precision`` choose the runtime path (default:
    the model as built, PyTorch eager, float32). ``compare_fp32`` also evaluates that default
    path in float32 on the same images and pairs the predictions image by image
    (``report.agreement``); by default it does so when the path computed in another precision.

    ``data`` is an ImageNet-val folder (synset folders, or flat with ``labels``),
    ``hf:NAME[:SPLIT]`` or ``synthetic[:N]`` (or a source already opened with
    :func:`mixbench.data.sources.open_source`). Under torchrun, ranks other than 0 return
    ``None``; rank 0 returns the report for all of them.

    The resume log stays until :meth:`EvalReport.finish` (the pipeline calls it once the
    result is stored), so a failure to record loses nothing. Measuring touches no store.
    """
    options = options or EvalOptions()
    if isinstance(data, EvalSource):
        source = data
    else:
        source = open_source(data, labels=labels, cache_dir=cache_dir)
    real_rows = _real_rows(source) if real_labels else None
    skipped = getattr(source, "skipped", [])
    if skipped and warn is not None:
        shown = "; ".join(skipped[:3]) + (
            f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        )
        warn(f"{source.spec}: {len(skipped)} folder(s) not read: {shown}")
    resolved = resolve_model(
        model_spec, weights=weights, pretrained=pretrained, index_path=index_path
    )
    _check_classifier(resolved)
    if not resolved.has_weights and warn is not None:
        # said once every input has been checked: not before an error about something else
        warn(
            "no weights given, the model is randomly initialised "
            "(pass --weights FILE or --pretrained)"
        )
    weights_file = _weights_file(resolved)
    weights_sha = sha256_file(weights_file) if weights_file else None
    fingerprint = source.fingerprint()
    if not resolved.has_weights and options.resume:
        # a rerun would build a different random model: nothing to resume
        options = replace(options, resume=False)
    path = DeployedPath.of(resolved, options, warn)
    compare = path.compares_with_fp32(compare_fp32)
    # both runs of a pairing share one torchrun process group (joining twice races)
    group = init_distributed(options.device) if compare else None
    try:
        return _evaluate_and_pair(
            model_spec,
            source,
            resolved,
            path,
            compare,
            options=options,
            weights=weights,
            pretrained=pretrained,
            weights_sha=weights_sha,
            fingerprint=fingerprint,
            real_rows=real_rows,
            index_path=index_path,
            on_progress=on_progress,
            warn=warn,
        )
    finally:
        if group is not None:
            close_distributed(group)


def _evaluate_and_pair(
    model_spec: str | os.PathLike[str],
    source: EvalSource,
    resolved: ResolvedModel,
    path: DeployedPath,
    compare: bool,
    *,
    options: EvalOptions,
    weights: str | os.PathLike[str] | None,
    pretrained: bool,
    weights_sha: str | None,
    fingerprint: str,
    real_rows: dict[int, int] | None,
    index_path: str | Path | None,
    on_progress: OnProgress | None,
    warn: Callable[[str], None] | None,
) -> EvalReport | None:
    identity = {
        "model": resolved.name,
        "config": resolved.model.config.to_dict(),
        "weights_sha256": weights_sha,
        "data": fingerprint,
        "preprocessing": resolved.preprocessing.to_dict(),
        "device": torch.device(options.device).type,
        "amp": options.amp,
        "channels_last": options.channels_last,
        "implementation": path.implementation.name,
        "precision": path.precision.to_dict(),
    }
    outcome = run_predictions(
        path.predictor,
        source,
        resolved.preprocessing,
        options,
        identity,
        on_status=None if on_progress is None else _as_events(resolved.name, on_progress),
        warn=warn,
    )
    report = None
    if outcome is not None:
        report = _report(resolved, source, fingerprint, weights_sha, options, outcome, real_rows)
        report.settings.update(path.describe())
        report.resume_log = outcome.checkpoint
    if compare:
        # every torchrun rank takes part in the reference run too (rank 0 gathers it)
        reference = evaluate(
            model_spec,
            source,
            weights=weights,
            pretrained=pretrained,
            options=replace(
                options,
                implementation=DEFAULT_IMPLEMENTATION,
                precision="fp32",
                amp=False,
                channels_last=False,
            ),
            index_path=index_path,
            on_progress=on_progress,
            warn=warn,
            compare_fp32=False,
        )
        if report is not None:
            assert reference is not None  # rank 0 gets both reports
            report.reference = reference
            report.agreement = Agreement.of(
                reference.top1, report.top1, [source.label(i) for i in range(len(source))]
            )
    return report


@dataclass
class DeployedPath:
    """The runtime path an evaluation's images go through (``--impl``, ``--precision``):
    checked against its runtime before any image is read, its session built on the rank's
    device when the loop starts, what it computed in read back from the first batch, and that
    batch's logits held to the float32 reference's (timm's eager model on the same weights)."""

    implementation: Implementation
    precision: PrecisionRequest
    subject: Subject
    channels_last: bool
    warn: Callable[[str], None] | None = None
    session: Session | None = None
    check: OutputCheck | None = None

    #: images of the first batch whose logits are held to the reference's
    CHECKED_IMAGES: ClassVar[int] = 8

    @classmethod
    def of(
        cls,
        resolved: ResolvedModel,
        options: EvalOptions,
        warn: Callable[[str], None] | None = None,
    ) -> DeployedPath:
        implementation = parse_implementation(options.implementation)
        precision = options.precision_request
        device = torch.device(options.device)
        runtime_named(implementation.runtime).check_request(implementation, precision, device)
        # the model's own weights; without any, the seeded ones every runtime shares
        subject = Subject(resolved)
        return cls(implementation, precision, subject, options.channels_last, warn)

    @property
    def is_reference(self) -> bool:
        """The path other paths are paired with: the model as built, eager, float32."""
        return (
            self.implementation.name == DEFAULT_IMPLEMENTATION
            and self.precision.name == "fp32"
            and not self.channels_last
        )

    def compares_with_fp32(self, asked: bool | None) -> bool:
        """Whether the run is paired with the reference: as asked, else when it computes in a
        lower precision. Asked of the reference itself, it is refused (nothing to compare)."""
        if asked and self.is_reference:
            raise InputError(
                f"--compare-fp32: {DEFAULT_IMPLEMENTATION} at fp32 is the reference itself, "
                "so it would be compared with itself",
                hint="pass --impl or --precision for the path to compare",
            )
        if asked is None:
            return not self.is_reference and self.precision.name != "fp32"
        return asked

    def predictor(self, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
        runtime = runtime_named(self.implementation.runtime)
        request = Request(
            implementation=self.implementation,
            precision=self.precision,
            device=device,
            batch=None,  # any batch: the last one is short
            image_size=self.subject.image_size,
            channels_last=self.channels_last,
        )
        session = runtime.build(self.subject, request)
        self.session = session
        # the reference is float32: on a GPU, no TF32 in its convolutions
        exact = self.is_reference and device.type == "cuda"
        first: list[bool] = []

        def predict(images: torch.Tensor) -> torch.Tensor:
            with exact_float32() if exact else contextlib.nullcontext():
                logits = session.run(images)
            if not first:
                first.append(True)
                session.observe(logits)  # what it computed in, read back
                if not self.is_reference:
                    self._check_outputs(images, logits)
            return logits

        return predict

    def _check_outputs(self, images: torch.Tensor, logits: torch.Tensor) -> None:
        count = min(self.CHECKED_IMAGES, int(images.shape[0]))
        _module, label = self.subject.reference()
        want = self.subject.reference_logits(images[:count].detach().float().cpu())
        assert self.session is not None
        self.check = compare_outputs(
            logits[:count], want, self.session.precision.bound, reference=label
        )
        if not self.check.agree and self.warn is not None:
            self.warn(
                f"{self.implementation.name}: its outputs differ from {label} on the first "
                f"images ({self.check.text}): the accuracy measured is of a different model"
            )

    def describe(self) -> dict[str, Any]:
        """What the report's settings say of the path."""
        computed = self.session.precision if self.session is not None else None
        return {
            "implementation": self.implementation.name,
            "runtime": self.implementation.runtime,
            "precision": self.precision.name,
            "precision_computed": computed.name if computed else None,
            "precision_how": computed.how if computed else None,
            "precision_read_back": computed.read_back if computed else None,
            "provider": self.session.provider if self.session is not None else None,
            "outputs_check": self.check.to_dict() if self.check is not None else None,
        }


def _as_events(model: str, on_progress: OnProgress) -> Callable[[LoopStatus], None]:
    def emit(status: LoopStatus) -> None:
        metrics = {"top1": status.top1, "images_per_second": status.images_per_second}
        on_progress(ProgressEvent("eval", model, status.done, status.total, metrics))

    return emit


def _report(
    resolved: ResolvedModel,
    source: EvalSource,
    fingerprint: str,
    weights_sha: str | None,
    options: EvalOptions,
    outcome: EvalOutcome,
    real_rows: dict[int, int] | None,
) -> EvalReport:
    from mixbench.environment import collect_environment, device_label, git_sha

    predictions = outcome.progress.predictions
    if not predictions:
        first = next(iter(outcome.progress.bad.values()), ("", "no images"))
        raise InputError(
            f"{source.spec}: no image could be read (first: {first[0]}: {first[1]})",
            hint="check the data source; every file failed to decode",
        )
    synsets = imagenet_synsets()
    bad = [
        {"name": name, "reason": reason}
        for _, (name, reason) in sorted(outcome.progress.bad.items())
    ]
    settings = {
        "batch_size": options.batch_size,
        "final_batch_size": outcome.batch_size,
        "workers": default_workers() if options.workers is None else options.workers,
        "device": options.device,
        "amp": options.amp,
        "amp_dtype": dtype_name(options.amp_dtype) if options.amp else None,
        "channels_last": options.channels_last,
        "world_size": outcome.world_size,
        "on_bad_image": options.on_bad_image,
        "real_labels": real_rows is not None,
    }
    return EvalReport(
        top1={index: ranked[0] for index, ranked in predictions.items() if ranked},
        model=resolved.name,
        weights=resolved.weights,
        weights_sha256=weights_sha,
        data={**source.describe(), "spec": source.spec, "fingerprint": fingerprint},
        preprocessing=resolved.preprocessing.to_dict(),
        settings=settings,
        metrics=score(predictions, source.label),
        real=score_real(predictions, real_rows) if real_rows is not None else None,
        per_class=score_per_class(predictions, source.label, synsets.__getitem__),
        bad_images=bad,
        timing={
            "seconds": round(outcome.seconds, 3),
            "images_per_second": round(outcome.images_per_second, 2),
            "evaluated": outcome.evaluated,
            "resumed": outcome.resumed,
        },
        environment={"device": device_label(options.device), **collect_environment(options.device)},
        git_sha=git_sha(),
    )


def _check_classifier(resolved: ResolvedModel) -> None:
    classes = resolved.model.config.num_classes
    if classes != NUM_CLASSES:
        raise InputError(
            f"{resolved.name} has a {classes}-class head; ImageNet evaluation needs 1000",
            hint="evaluate an ImageNet-1k checkpoint (the presets' weights)",
        )


def _real_rows(source: EvalSource) -> dict[int, int]:
    """Each image's row in the ReaL table, checked before any work is done."""
    rows: dict[int, int] = {}
    for index in range(len(source)):
        row = real_index(source.val_filename(index))
        if row is None:
            raise InputError(
                f"{source.spec}: --real-labels needs ImageNet val file names "
                f"(ILSVRC2012_val_NNNNNNNN.JPEG); {source.name(index)} is not one",
                hint="ReaL labels exist for the 50,000 ImageNet-1k validation images only",
            )
        rows[index] = row
    return rows


def _weights_file(resolved: ResolvedModel) -> Path | None:
    if resolved.weights is None:
        return None
    path = Path(resolved.weights)
    if path.is_file():
        return path
    from mixbench.models.weights import download_pretrained

    return download_pretrained(resolved.weights)  # a hub id: already in the cache by now
