"""``mixbench verify``: every check a card allows, each ending pass, fail, skipped or info.

>>> from mixbench.verify import VerifyOptions, verify
>>> report = verify("mixnet_xl", VerifyOptions(data="/data/imagenet/val", pretrained=True))
... # doctest: +SKIP
>>> report.status, [(c.name, c.status) for c in report.checks]  # doctest: +SKIP

A check that cannot run is *skipped* with the reason and what to pass to run it; skipped is
never counted as passed. *info* is a measurement with no published figure to hold it to (or one
nothing explains). *inconclusive* ran, but its evidence cannot decide (a sample too small for
the tolerance, a subset of the classes). A report fails when any check failed, is inconclusive
when any was, and passes otherwise; its :meth:`VerifyReport.coverage` says which checks ran, so
a pass where little ran never reads like a verified card. ``require`` names checks that must
reach pass: a required check that was skipped, inconclusive or info is turned into a failure.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import torch
from torch import nn

from mixbench.diff import compare_values
from mixbench.environment import collect_environment, device_label, git_sha
from mixbench.errors import InputError, ModelBuildError
from mixbench.events import StepCounter
from mixbench.index import ModelCard, ModelIndex, load_index
from mixbench.measure.accuracy.agreement import (
    DEPLOYED_TOLERANCE,
    MIN_AGREEMENT,
    Agreement,
    judge_agreement,
    judge_difference,
)
from mixbench.measure.speed.timing import TimingOptions
from mixbench.measure.statistics import (
    AccuracyEvidence,
    Selection,
    judge_accuracy,
    sample_selection,
)
from mixbench.models import ModelFamily
from mixbench.models.factory import resolve_config
from mixbench.models.seeded import RANDOM_SEED, seeded_weights
from mixbench.models.timm_family import TimmConfig, tag_for_weights
from mixbench.records import Measurement
from mixbench.resolve import ResolvedModel, find_card, resolve_model
from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION
from mixbench.store import RunRecord, sha256_file, utc_now

if TYPE_CHECKING:
    from mixbench.data.sources import EvalSource
    from mixbench.measure.accuracy.evaluation import EvalReport

Status = Literal["pass", "fail", "skipped", "info", "inconclusive"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "skipped", "info", "inconclusive")
#: How the coverage line names a check that did not run.
SHORT_NAMES = {
    "deployed_agreement": "deployed top-1 agreement",
    "deployed_top1": "deployed top-1 change",
    "file_size": "file size",
    "weights_hash": "weights hash",
    "crop_pct": "crop pct",
    "image_size": "image size",
    "native_vs_timm": "native = timm",
    "top1": "top-1",
    "top5": "top-5",
}
#: Accuracy tolerances in percentage points, per metric, unless the user says otherwise;
#: ``deployed``: how far the deployed path's top-1 may move from eager float32's.
DEFAULT_TOLERANCE = {"top1": 0.1, "top5": 0.1, "deployed": DEPLOYED_TOLERANCE}
#: Native and timm outputs on the same weights agree to this max relative difference (fp32).
EQUIVALENCE_RTOL = 1e-4
#: ImageNet-val: a card's accuracy is on all of it; on fewer images a measurement is a sample.
IMAGENET_VAL_IMAGES = 50_000
#: Images per batch of verify's evaluations unless --batch says otherwise.
EVAL_BATCH = 64
#: Random images the native = timm check compares on.
EQUIVALENCE_IMAGES = 8
#: Below this spread of the logits across those images (relative to their size) the outputs
#: barely follow the input, and agreement proves nothing: inconclusive, never pass.
EQUIVALENCE_MIN_SPREAD = 1e-3


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


@dataclass
class VerifyReport:
    model: str
    checks: list[Check]
    card_source: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    git_sha: str | None = None
    command: str | None = None
    created: str = field(default_factory=utc_now)
    weights: str | None = None
    run_id: int | None = None
    #: what the card's source said that may be wrong (misspelled keys ...), one line each
    warnings: list[str] = field(default_factory=list)
    #: why the card's model could not be built (every check is then skipped with this reason);
    #: ``None`` when it was built
    not_built: str | None = None
    #: what was built for the card: its family and config (a timm model's ``timm_name``, the
    #: deprecation target, how the weights tag was chosen); ``None`` when nothing was
    built_as: dict[str, Any] | None = None
    #: the accuracy runs behind the top-1/top-5 checks (stored beside the report, not in it)
    evaluations: list[EvalReport] = field(default_factory=list, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        return {status: sum(c.status == status for c in self.checks) for status in STATUSES}

    @property
    def status(self) -> Literal["pass", "fail", "inconclusive"]:
        """``fail`` when any check failed, ``inconclusive`` when any could not decide,
        otherwise ``pass`` (skipped and info never count as passed: see :meth:`coverage`)."""
        if any(c.status == "fail" for c in self.checks):
            return "fail"
        if any(c.status == "inconclusive" for c in self.checks):
            return "inconclusive"
        return "pass"

    def coverage(self) -> dict[str, Any]:
        """Which checks ran (any status but skipped) and which did not."""
        not_run = [c for c in self.checks if not c.ran]
        return {
            "ran": len(self.checks) - len(not_run),
            "total": len(self.checks),
            "not_run": [c.name for c in not_run],
            "not_run_labels": [SHORT_NAMES.get(c.name, c.name) for c in not_run],
        }

    @property
    def verdict(self) -> str:
        """The headline's first word: the status, except ``NOT BUILT`` where nothing failed
        because no model was built (that is no pass, whatever the exit code)."""
        if self.not_built is not None and self.status == "pass":
            return "NOT BUILT"
        return self.status.upper()

    def headline(self) -> str:
        """``PASS — 6 of 9 checks ran (not run: top-1, top-5, file size)``; a model that was
        not built says why: ``NOT BUILT — 0 of 9 checks ran: timm cannot build ...``."""
        coverage = self.coverage()
        text = f"{self.verdict} — {coverage['ran']} of {coverage['total']} checks ran"
        if self.not_built is not None:
            return f"{text}: {self.not_built}"
        if coverage["not_run"]:
            text += f" (not run: {', '.join(coverage['not_run_labels'])})"
        return text

    def check(self, name: str) -> Check:
        for candidate in self.checks:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "status": self.status,
            "headline": self.headline(),
            "counts": self.counts(),
            "coverage": self.coverage(),
            "warnings": list(self.warnings),
            "not_built": self.not_built,
            "built_as": self.built_as,
            "checks": [c.to_dict() for c in self.checks],
            "card_source": self.card_source,
            "settings": self.settings,
            "environment": self.environment,
            "device": self.device,
            "git_sha": self.git_sha,
            "command": self.command,
            "created": self.created,
            "weights": self.weights,
            "run_id": self.run_id,
        }

    def measurements(self) -> list[Measurement]:
        """What the checks that ran measured, with the conditions that figure depends on."""
        return [
            Measurement.of(check.name, check.measured, **_measured_under(check, self.settings))
            for check in self.checks
            if check.ran and isinstance(check.measured, int | float | str)
        ]

    def to_run_record(self) -> RunRecord:
        metrics: dict[str, Any] = {
            "status": self.status,
            **self.counts(),
            "checks_ran": self.coverage()["ran"],
        }
        for check in self.checks:
            if isinstance(check.measured, (int, float)) and not isinstance(check.measured, bool):
                metrics[check.name] = check.measured
        return RunRecord(
            kind="verify",
            model=self.model,
            metrics=metrics,
            weights=self.weights,
            device=self.device,
            versions=self.environment,
            git_sha=self.git_sha,
            command=self.command,
            created=self.created,
            details={
                "checks": [c.to_dict() for c in self.checks],
                "settings": self.settings,
                "card_source": self.card_source,
                "warnings": list(self.warnings),
                "not_built": self.not_built,
                "built_as": self.built_as,
            },
            measurements=self.measurements(),
        )

    @classmethod
    def from_run_record(cls, record: RunRecord) -> VerifyReport:
        if record.kind != "verify":
            raise ValueError(f"run {record.id} is a {record.kind} run, not a verify run")
        details = record.details
        return cls(
            model=record.model,
            checks=[Check.from_dict(c) for c in details.get("checks", [])],
            card_source=details.get("card_source"),
            settings=details.get("settings", {}),
            environment=record.versions,
            device=record.device,
            git_sha=record.git_sha,
            command=record.command,
            created=record.created,
            weights=record.weights,
            run_id=record.id,
            warnings=list(details.get("warnings", [])),
            not_built=details.get("not_built"),
            built_as=details.get("built_as"),
        )


@dataclass(frozen=True)
class VerifyOptions:
    data: str | None = None
    labels: str | None = None
    weights: str | None = None
    pretrained: bool = False
    device: str = "cpu"
    #: images per batch: the evaluations' (default 64) and the speed checks' (default: the
    #: throughput default of the device, 16 on a CPU: a CPU at 64 would take minutes)
    batch_size: int | None = None
    workers: int | None = None
    amp: bool = False
    throughput: bool = False
    tolerance: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TOLERANCE))
    cache_dir: str | None = None
    speed_timing: TimingOptions = field(default_factory=TimingOptions)
    #: checks that must pass: skipped, inconclusive or info becomes fail (a CI gate)
    require: tuple[str, ...] = ()
    #: every unknown key of the card is an error, not a warning
    strict: bool = False
    #: the path people deploy (``--impl``, ``--precision``): the deployed checks evaluate
    #: through it and pair its predictions with eager float32's
    implementation: str | None = None
    precision: str | None = None

    @property
    def deploys(self) -> bool:
        return self.implementation is not None or self.precision is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["speed_timing"] = asdict(self.speed_timing)
        data["require"] = list(self.require)  # JSON has lists: a stored run reads back equal
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}


def parse_tolerance(text: str | None) -> dict[str, float]:
    """``"top1=0.1,top5=0.2"`` → ``{"top1": 0.1, "top5": 0.2}`` over the defaults."""
    tolerance = dict(DEFAULT_TOLERANCE)
    if not text:
        return tolerance
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in DEFAULT_TOLERANCE:
            raise InputError(
                f"--tolerance: {item.strip()!r} is not METRIC=POINTS",
                hint="e.g. --tolerance top1=0.1,top5=0.1 (percentage points)",
            )
        try:
            points = float(value)
        except ValueError:
            points = float("nan")
        if not points >= 0 or points == float("inf"):
            raise InputError(
                f"--tolerance {key}: {value.strip()!r} is not a number of points >= 0",
                hint="e.g. --tolerance top1=0.1",
            )
        tolerance[key] = points
    return tolerance


def parse_require(text: str | None) -> tuple[str, ...]:
    """``"top1,top5"`` → ``("top1", "top5")``; an unknown check name is bad input."""
    if not text:
        return ()
    names = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    unknown = [name for name in names if name not in CHECK_NAMES]
    if unknown or not names:
        raise InputError(
            f"--require: {', '.join(map(repr, unknown)) or repr(text)} is not a check name",
            hint=f"checks: {', '.join(CHECK_NAMES)}",
        )
    return names


def validate_options(options: VerifyOptions) -> None:
    """Refuse, before anything runs, options that contradict each other or would be ignored."""
    problems: list[tuple[str, str]] = []
    if options.weights is not None and options.pretrained:
        problems.append(("pass either --weights FILE or --pretrained, not both", ""))
    if options.data is None:
        for given, option in (
            (options.labels is not None, "--labels"),
            (options.workers is not None, "--workers"),
            (options.cache_dir is not None, "--cache-dir"),
        ):
            if given:
                problems.append(
                    (f"{option} is for the accuracy check, which needs --data", "add --data")
                )
        if options.amp and not options.throughput:
            problems.append(
                ("--amp applies to the accuracy and speed checks: pass --data or --throughput", "")
            )
    elif options.cache_dir is not None and not options.data.startswith("hf:"):
        problems.append(
            (f"--cache-dir is for hf: datasets; --data {options.data} is not one", "drop it")
        )
    parse_require(",".join(options.require))
    if options.deploys:
        if options.data is None:
            problems.append(
                (
                    "--impl/--precision name the path to check against eager float32 on "
                    "images: pass --data",
                    "add --data IMAGENET_VAL_DIR (or hf:NAME)",
                )
            )
        if options.amp:
            problems.append(
                (
                    "--amp is the accuracy check's precision; the deployed path takes "
                    "--precision: pass one or the other",
                    "e.g. --impl openvino --precision bf16",
                )
            )
        implementation, precision = deployed_path(options)  # unknown name, missing precision
        if implementation.name == DEFAULT_IMPLEMENTATION and precision.name == "fp32":
            problems.append(
                (
                    f"--impl/--precision: {DEFAULT_IMPLEMENTATION} at fp32 is the reference "
                    "the deployed path is checked against, so it would be compared with itself",
                    "pass the path you deploy, e.g. --impl openvino or --precision bf16",
                )
            )
    if problems:
        message, hint = problems[0]
        raise InputError(message, hint=hint or "see mixbench verify --help")


def open_evaluation_data(options: VerifyOptions) -> EvalSource | None:
    """``--data`` opened (and so checked) before any model is built; None without it."""
    if options.data is None:
        return None
    from mixbench.data.sources import open_source

    return open_source(options.data, labels=options.labels, cache_dir=options.cache_dir)


@dataclass
class CheckContext:
    """What every check function may read: the card, the model, the options and the inputs."""

    card: ModelCard
    resolved: ResolvedModel
    options: VerifyOptions
    source: EvalSource | None
    weights: WeightsAtHand
    warn: Callable[[str], None] | None = None
    #: the accuracy evaluations run for the checks; the pipeline stores them
    evaluations: list[EvalReport] = field(default_factory=list)


@dataclass(frozen=True)
class CheckGroup:
    """One row of :data:`CHECKS`: a function making one or more checks, and when it runs."""

    key: str  # what the progress bar shows while it runs
    produces: tuple[str, ...]  # the checks it makes, in table order
    run: Callable[[CheckContext], list[Check]]
    when: Callable[[VerifyOptions], bool] = lambda _options: True
    #: whether its checks compute with the model (a forward pass, real images); a group that
    #: reads only shapes and configs (parameter counts, FLOPs, eval metadata) works on a model
    #: built on the meta device, which allocates nothing
    needs_real_model: Callable[[VerifyOptions, ModelFamily], bool] = lambda _o, _family: False


def enabled_checks(options: VerifyOptions) -> list[CheckGroup]:
    return [group for group in CHECKS if group.when(options)]


def needs_real_model(options: VerifyOptions, family: ModelFamily) -> bool:
    """Whether this run needs the model built for real: weights need storage to load into,
    and some enabled check computes with it. Otherwise it is built on the meta device."""
    if options.weights is not None or options.pretrained:
        return True
    return any(group.needs_real_model(options, family) for group in enabled_checks(options))


def verify(
    model_spec: str,
    options: VerifyOptions | None = None,
    *,
    index: ModelIndex | None = None,
    index_path: str | os.PathLike[str] | None = None,
    progress: StepCounter | None = None,
    warn: Callable[[str], None] | None = None,
    source: EvalSource | None = None,
    command: str | None = None,
    keep_resume_logs: bool = False,
) -> VerifyReport:
    """Run every check of ``model_spec``'s card (the rows of :data:`CHECKS`).

    ``source`` is the ``--data`` already opened (``verify_many`` opens it once for all models);
    ``progress`` counts one step per check group. Nothing is stored here: the accuracy runs
    are in ``report.evaluations`` for :mod:`mixbench.pipeline` to store with the report
    (which passes ``keep_resume_logs`` and drops each resume log once its run is stored).

    The model is built on the meta device when no enabled check needs the real one
    (:func:`needs_real_model`). A card whose model cannot be built gives a report all of whose
    checks are skipped with the reason (:attr:`VerifyReport.not_built`), not an error.
    """
    options = options or VerifyOptions()
    validate_options(options)
    index = index if index is not None else load_index(index_path, strict=options.strict)
    if source is None:
        source = open_evaluation_data(options)
    card = card_to_verify(model_spec, index)
    context: CheckContext | None = None
    not_built: str | None = None
    try:
        resolved = resolve_for_checks(model_spec, options, index, card)
    except ModelBuildError as error:  # one unbuildable card must not stop `verify all`
        not_built = error.message
    else:
        weights = WeightsAtHand.of(resolved, options)
        context = CheckContext(card, resolved, options, source, weights, warn=warn)
    checks: list[Check] = []
    for group in enabled_checks(options):
        if progress is not None:
            progress.advance(f"{card.name}: {group.key}")
        if context is None:
            checks.extend(not_built_checks(card, group, not_built or "not built"))
        else:
            checks.extend(group.run(context))
    checks = apply_requirements(checks, options.require)
    evaluations = context.evaluations if context is not None else []
    if not keep_resume_logs:
        for evaluation in evaluations:
            evaluation.finish()
    device = torch.device(options.device)
    return VerifyReport(
        model=card.name,
        checks=checks,
        card_source=str(card.source) if card.source else None,
        settings=options.to_dict(),
        environment=collect_environment(device),
        device=device_label(device),
        git_sha=git_sha(),
        command=command,
        weights=context.resolved.weights if context is not None else options.weights,
        warnings=card_warnings(card),
        not_built=not_built,
        built_as=built_description(context.resolved) if context is not None else None,
        evaluations=evaluations,
    )


def built_description(resolved: ResolvedModel) -> dict[str, Any]:
    """The family and the identity of the model built (not every config field: a MixNet
    config's stages are its preset's)."""
    config = resolved.model.config
    described: dict[str, Any] = {"family": resolved.family.name, "name": config.name}
    if isinstance(config, TimmConfig):
        keep = ("timm_name", "deprecated_for", "tag_source")
        described.update({key: value for key, value in config.to_dict().items() if key in keep})
    return described


def card_to_verify(model_spec: str, index: ModelIndex) -> ModelCard:
    """The published card of ``model_spec``; bad input without one (an unknown name or a
    broken YAML says what is wrong with it first)."""
    card = find_card(model_spec, index)
    if card is not None:
        return card
    resolve_config(model_spec)
    raise InputError(
        f"{model_spec}: no published card to verify against",
        hint="`mixbench list` shows the cards; pass --index for your own model index",
    )


def resolve_for_checks(
    model_spec: str, options: VerifyOptions, index: ModelIndex, card: ModelCard | None = None
) -> ResolvedModel:
    """The card's model, built on the meta device unless a check needs the real one.

    A timm model whose name says no weights tag gets the tag whose file the card's weights URL
    names, when timm has one (``resnet18`` → ``resnet18.tv_in1k``): the card is held to the
    preprocessing of the weights it describes, not to today's default weights of the name.

    Raises :class:`ModelBuildError` when no family can build it (an unknown name or pretrained
    tag, or timm refusing it); any other bad input (a ``--weights`` file ...) stays an error.
    """
    try:
        family, config = resolve_config(model_spec)
    except ModelBuildError:
        raise
    except InputError as error:
        raise ModelBuildError(f"cannot build {model_spec}: {error.message}") from error
    tagged = None
    if isinstance(config, TimmConfig) and card is not None:
        tagged = tag_for_weights(model_spec, card.weights_url)
    spec = tagged or model_spec
    resolved = None
    if not needs_real_model(options, family):
        # an __init__ that computes with its tensors builds only for real: the meta device
        # is a saving, never a reason to report a buildable model as unbuildable
        with contextlib.suppress(ModelBuildError):
            resolved = resolve_model(spec, index=index, meta=True)
    if resolved is None:
        resolved = resolve_model(
            spec, weights=options.weights, pretrained=options.pretrained, index=index
        )
    if tagged is not None:
        built = resolved.model.config
        resolved.model.config = replace(built, tag_source="card weights")  # type: ignore[assignment]
    return resolved


def not_built_checks(card: ModelCard, group: CheckGroup, reason: str) -> list[Check]:
    """A group's checks, each skipped with why the model is missing (the card's figure kept,
    so the table still shows what went unchecked)."""
    return [
        Check(
            name,
            SHORT_NAMES.get(name, name),
            "skipped",
            published=getattr(card, name) if name in _CARD_FIGURES else None,
            reason=reason,
            details={"not_built": True},
        )
        for name in group.produces
    ]


#: Checks named after the card field holding their published figure.
_CARD_FIGURES = frozenset(
    ("params", "flops", "file_size", "crop_pct", "image_size", "interpolation", "top1", "top5")
)


def verify_targets(specs: Sequence[str], options: VerifyOptions, index: ModelIndex) -> list[str]:
    """The model names ``specs`` stand for (``all``: every card), checked against the options."""
    names = [card.name for card in index] if "all" in specs else list(specs)
    if len(names) > 1 and options.weights is not None:
        raise InputError(
            "--weights names one file, but several models are verified",
            hint="verify one model with --weights, or use --pretrained for all",
        )
    return names


def verify_many(
    specs: Sequence[str],
    options: VerifyOptions | None = None,
    **kwargs: Any,
) -> list[VerifyReport]:
    """``verify`` each model; ``["all"]`` means every card of the index (nothing stored:
    :meth:`mixbench.pipeline.Pipeline.verify` stores each report as it finishes)."""
    options = options or VerifyOptions()
    validate_options(options)
    index = kwargs.pop("index", None) or load_index(
        kwargs.pop("index_path", None), strict=options.strict
    )
    names = verify_targets(specs, options, index)
    source = kwargs.pop("source", None) or open_evaluation_data(options)
    return [verify(name, options, index=index, source=source, **kwargs) for name in names]


def apply_requirements(checks: list[Check], required: Sequence[str]) -> list[Check]:
    """A required check that did not pass or fail, or did not run at all, becomes a fail."""
    by_name = {check.name: check for check in checks}
    gated: list[Check] = []
    for check in checks:
        if check.name in required and check.status not in ("pass", "fail"):
            why = check.reason or check.status
            check = replace(
                check,
                status="fail",
                reason=f"required (--require {check.name}) but {check.status}: {why}",
                details={**check.details, "required": True, "was": check.status}
                | ({"ran": False} if check.status == "skipped" else {}),
            )
        gated.append(check)
    for name in required:
        if name not in by_name:
            hint = " (pass --throughput)" if name in ("throughput", "latency") else ""
            gated.append(
                Check(
                    name,
                    SHORT_NAMES.get(name, name),
                    "fail",
                    reason=f"required (--require {name}) but not run{hint}",
                    details={"required": True, "ran": False},
                )
            )
    return gated


def card_warnings(card: ModelCard) -> list[str]:
    """What the card's source says that may be a mistake, one line each."""
    return [str(warning) for warning in card.warnings]


# ------------------------------------------------------------------------------ checks


def check_params(card: ModelCard, model: nn.Module) -> Check:
    measured = sum(p.numel() for p in model.parameters())
    if card.params is None:
        return Check(
            "params",
            "parameters",
            "info",
            measured=measured,
            reason="the card publishes no parameter count",
        )
    resolution = card.resolution.get("params")
    agree, delta = compare_values(card.params, measured, resolution=resolution, tolerance=0)
    return Check(
        "params",
        "parameters",
        "pass" if agree else "fail",
        published=card.params,
        measured=measured,
        delta=delta,
        tolerance=f"card rounds to {resolution:,.0f}" if resolution else "exact",
    )


def check_flops(card: ModelCard, resolved: ResolvedModel) -> Check:
    """The card's FLOPs against every named counting convention, integer for integer.

    pass: reproduced at the card's image size; fail: reproduced only at another input (the
    card misstates the cost at its resolution); info: nothing reproduces it, or no figure.
    ``measured`` is the count at the card's size in the convention that explains the card
    (fvcore FLOPs = 2 × MACs when none does); ``details`` holds the whole finding.
    """
    from mixbench.measure.complexity import CountingFailed, explain_flops

    size = card.image_size or resolved.preprocessing.image_size
    try:
        finding = explain_flops(resolved.model, card.name, image_size=size, published=card.flops)
    except CountingFailed as error:  # e.g. a card whose size the model cannot take
        return Check("flops", "FLOPs", "skipped", published=card.flops, reason=error.message)
    published = card.flops
    return Check(
        "flops",
        "FLOPs",
        finding.verdict.status,
        published=published,
        measured=finding.measured,
        delta=None if published is None else finding.measured - published,
        tolerance=None if published is None else "exact, under a named counting convention",
        reason=finding.verdict.reason,
        details=finding.to_dict(),
    )


#: torch.hub's convention: ``name-<first hex digits of the file's sha256>.ext``
_HASH_PREFIX = re.compile(r"-([a-f0-9]{6,})\.")


def card_weights_file(card: ModelCard) -> tuple[str | None, str | None]:
    """The card's weights file name and the sha256 prefix it carries (torch.hub style)."""
    if not card.weights_url:
        return None, None
    name = PurePosixPath(urlparse(card.weights_url).path).name or None
    match = _HASH_PREFIX.search(name or "")
    return name, match.group(1) if match else None


@dataclass(frozen=True)
class WeightsAtHand:
    """The checkpoint file this run uses (``--weights`` or the cached ``--pretrained`` file)."""

    path: Path | None

    @classmethod
    def of(cls, resolved: ResolvedModel, options: VerifyOptions) -> WeightsAtHand:
        return cls(_weights_path(resolved, options))

    @functools.cached_property
    def sha256(self) -> str | None:
        return None if self.path is None else sha256_file(self.path)

    def is_cards_file(self, card: ModelCard) -> bool | None:
        """True/False when the card's hash prefix decides it, else by file name (None: no
        file or no name to go by)."""
        name, prefix = card_weights_file(card)
        if self.path is None:
            return None
        if prefix is not None:
            return bool(self.sha256 and self.sha256.startswith(prefix))
        return None if name is None else self.path.name == name


def check_weights_file(card: ModelCard, weights: WeightsAtHand) -> list[Check]:
    """File size and the torch.hub hash prefix of the card's weights URL."""
    return [check_file_size(card, weights), check_weights_hash(card, weights)]


def check_file_size(card: ModelCard, weights: WeightsAtHand) -> Check:
    name, label = "file_size", "weights file size"
    if card.file_size is None:
        return Check(name, label, "skipped", reason="the card publishes no file size")
    path = weights.path
    if path is None:
        return Check(
            name,
            label,
            "skipped",
            published=card.file_size,
            reason="no weights file: pass --weights FILE or --pretrained",
        )
    measured = path.stat().st_size
    published_file, _prefix = card_weights_file(card)
    resolution = card.resolution.get("file_size")
    agree, delta = compare_values(card.file_size, measured, resolution=resolution, tolerance=0)
    if weights.is_cards_file(card) is False:
        return Check(
            name,
            label,
            "info",
            published=card.file_size,
            measured=measured,
            delta=delta,
            reason=f"the card's size is of {published_file}; the file at hand is {path.name}"
            + (", another file (its sha256 differs)" if _prefix else ""),
        )
    return Check(
        name,
        label,
        "pass" if agree else "fail",
        published=card.file_size,
        measured=measured,
        delta=delta,
        tolerance=f"card rounds to {resolution:,.0f} bytes" if resolution else "exact",
    )


def check_weights_hash(card: ModelCard, weights: WeightsAtHand) -> Check:
    """The card's ``name-<hash>.pth`` against the first hex digits of the file's sha256."""
    name, label = "weights_hash", "weights sha256 prefix"
    published_file, prefix = card_weights_file(card)
    if prefix is None:
        why = (
            "the card publishes no weights URL"
            if published_file is None
            else f"the card's weights file {published_file} carries no hash prefix"
        )
        return Check(name, label, "skipped", reason=why)
    if weights.path is None or weights.sha256 is None:
        return Check(
            name,
            label,
            "skipped",
            published=prefix,
            reason="no weights file: pass --weights FILE or --pretrained",
        )
    measured = weights.sha256[: len(prefix)]
    details = {"file": str(weights.path), "sha256": weights.sha256, "card_file": published_file}
    if measured == prefix:
        return Check(
            name,
            label,
            "pass",
            published=prefix,
            measured=measured,
            tolerance="exact",
            reason=f"{weights.path.name} is the card's {published_file}",
            details=details,
        )
    if weights.path.name == published_file:
        return Check(
            name,
            label,
            "fail",
            published=prefix,
            measured=measured,
            tolerance="exact",
            reason=f"{weights.path.name} has the card's name but not its content "
            f"(sha256 {weights.sha256[:16]}…)",
            details=details,
        )
    return Check(
        name,
        label,
        "info",
        published=prefix,
        measured=measured,
        tolerance="exact",
        reason=f"the file at hand ({weights.path.name}) is not the card's {published_file}; "
        "pass that file as --weights to check it",
        details=details,
    )


def check_preprocessing(card: ModelCard, resolved: ResolvedModel) -> list[Check]:
    """The card's eval metadata against the model's own default config (for a timm model,
    timm's ``pretrained_cfg`` of the tag it resolves to)."""
    defaults = resolved.model.eval_config  # type: ignore[union-attr]
    against = eval_defaults_origin(resolved)
    own = {
        "crop_pct": ("crop pct", defaults.crop_pct),
        "image_size": ("image size", defaults.image_size),
        "interpolation": ("interpolation", defaults.interpolation),
    }
    checks = []
    for key, (label, value) in own.items():
        published = getattr(card, key)
        if published is None:
            checks.append(
                Check(
                    key, label, "skipped", measured=value, reason=f"the card publishes no {label}"
                )
            )
            continue
        # exact: a published crop pct of 0.9 is 0.9, not 0.875 rounded to one decimal
        agree, delta = compare_values(published, value, resolution=None, tolerance=0)
        reason, tolerance = against, "exact"
        if key == "crop_pct" and not agree:
            size = card.image_size or defaults.image_size
            same = _resize_side(size, published) == _resize_side(size, value)
            if same:  # 0.897 for 0.8975: what the eval transform does is the same
                agree, tolerance = True, "the same resize before the centre crop"
                reason = (
                    f"{against}; both resize to {_resize_side(size, value)} px before the "
                    f"{size} px crop (timm: floor(size / crop pct)), so they preprocess alike"
                )
        checks.append(
            Check(
                key,
                label,
                "pass" if agree else "fail",
                published=published,
                measured=value,
                delta=delta,
                tolerance=tolerance,
                reason=reason,
            )
        )
    return checks


def _resize_side(image_size: int, crop_pct: float) -> int:
    """The short side timm resizes to before the centre crop (``transforms_factory``)."""
    return math.floor(image_size / crop_pct)


def eval_defaults_origin(resolved: ResolvedModel) -> str:
    """Where the eval defaults the card is held to come from, for the reason text: a timm
    tag's defaults change with the tag, so the reason names it."""
    config = getattr(resolved.model, "config", None)
    if isinstance(config, TimmConfig):
        return f"against timm's pretrained_cfg for {config.timm_name} ({config.tag_origin})"
    return "against the model's default eval config"


def check_equivalence(card: ModelCard, resolved: ResolvedModel, options: VerifyOptions) -> Check:
    """Native and timm on the same weights give the same outputs on the same images."""
    import timm

    name, label = "native_vs_timm", "native = timm outputs"
    native_to_timm = resolved.family.native_to_timm
    if native_to_timm is None:
        return Check(name, label, "skipped", reason=no_native_reason(resolved))
    if card.name not in timm.list_models():
        return Check(name, label, "skipped", reason=f"timm has no model named {card.name}")
    native = resolved.model
    random_weights = not resolved.has_weights
    size = card.image_size or resolved.preprocessing.image_size
    if random_weights:  # drawn so the logits follow the input, or the check proves little
        native = seeded_weights(native, size, RANDOM_SEED)
    reference = timm.create_model(card.name, pretrained=False, num_classes=_classes(native))
    reference.load_state_dict(native_to_timm(native.state_dict(), native))
    reference.eval()
    count = EQUIVALENCE_IMAGES
    images = torch.randn(count, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = native.eval()(images), reference(images)
    difference = float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-12))
    top1_differs = int((ours.argmax(1) != theirs.argmax(1)).sum())
    # how much the outputs follow the input: if they hardly do, a wrong layer would not show
    spread = float((theirs - theirs.mean(0)).abs().max() / theirs.abs().max().clamp_min(1e-12))
    agree = difference <= EQUIVALENCE_RTOL and top1_differs == 0
    weights = "random weights (seeded)" if random_weights else "the given weights"
    status: Status = "pass" if agree else "fail"
    sensitivity = ""
    if agree and spread < EQUIVALENCE_MIN_SPREAD:
        status = "inconclusive"
        sensitivity = (
            f"; the outputs hardly depend on the input (spread {spread:.1e}), so a mismatch "
            "would not show"
        )
    return Check(
        name,
        label,
        status,
        published="timm " + timm.__version__,
        measured=difference,
        tolerance=f"max relative difference ≤ {EQUIVALENCE_RTOL:g}, same top-1",
        reason=f"{top1_differs} of {count} images' top-1 differ; {count} random {size}×{size} "
        f"images, {weights}, float32 on CPU{sensitivity}",
        details={
            "images": count,
            "top1_differs": top1_differs,
            "max_relative": difference,
            "output_spread": spread,
        },
    )


def no_native_reason(resolved: ResolvedModel) -> str:
    """Why a family without a timm key mapping has nothing to compare with timm."""
    if isinstance(getattr(resolved.model, "config", None), TimmConfig):
        return "the card runs on timm's own model (no native implementation to compare)"
    return f"model family {resolved.family.name!r} has no native implementation to compare"


_ACCURACY_LABELS = {"top1": "ImageNet top-1 (%)", "top5": "ImageNet top-5 (%)"}


def check_accuracy(context: CheckContext) -> list[Check]:
    card, options = context.card, context.options
    published = {"top1": card.top1, "top5": card.top5}
    why_not = _no_accuracy_reason(context)
    if why_not is not None:
        return [
            Check(k, _ACCURACY_LABELS[k], "skipped", published=v, reason=why_not)
            for k, v in published.items()
        ]
    from mixbench.measure.accuracy.evaluation import EvalOptions

    report = _evaluate_for_checks(
        context,
        EvalOptions(
            device=options.device,
            batch_size=options.batch_size or EVAL_BATCH,
            workers=options.workers,
            amp=options.amp,
        ),
    )
    measured = {"top1": report.metrics.top1, "top5": report.metrics.top5}
    count = report.metrics.count
    selection = accuracy_selection(report.data, count)
    return [
        judge_accuracy_check(key, published[key], measured[key], count, selection, options)
        for key in published
    ]


def accuracy_selection(data: dict[str, Any], count: int) -> Selection:
    """What the evaluated images are of ImageNet-val: all of it, a sample, or some classes."""
    classes = int(data.get("num_classes") or 0)
    if count >= IMAGENET_VAL_IMAGES:  # the whole set (as the card measured it)
        return "full"
    return sample_selection(count, classes)


def judge_accuracy_check(
    key: str,
    published: float | None,
    measured: float,
    count: int,
    selection: Selection,
    options: VerifyOptions,
) -> Check:
    """One accuracy figure: its 95 % interval on a sample, and the verdict that allows."""
    evidence = AccuracyEvidence.of(measured, count, selection)
    interval = f"95% CI {evidence.low:.2f}–{evidence.high:.2f}"
    on = f"on {count:,} images"
    if selection == "full":
        note = None
    elif selection == "classes":
        note = (
            f"{on} of a subset of the classes ({interval}): not a sample of what the card "
            "measured, so it cannot pass or fail"
        )
    else:
        note = f"{on}, a sample of the {IMAGENET_VAL_IMAGES:,} of ImageNet-val: {interval}"
    details = evidence.to_dict() if selection != "full" else {"count": count, "hits": evidence.hits}
    if published is None:
        return Check(
            key,
            _ACCURACY_LABELS[key],
            "info",
            measured=measured,
            reason="the card publishes no figure" + (f"; {note}" if note else ""),
            details=details,
        )
    tolerance = options.tolerance[key]
    _agree, delta = compare_values(published, measured, resolution=None, tolerance=tolerance)
    verdict = judge_accuracy(published, evidence, tolerance)
    if verdict == "inconclusive" and selection == "images":
        note = f"{note}: too wide to tell ±{tolerance:g} points"
    return Check(
        key,
        _ACCURACY_LABELS[key],
        verdict,
        published=published,
        measured=measured,
        delta=delta,
        tolerance=f"±{tolerance:g} points",
        reason=note,
        details=details,
    )


def check_speed(card: ModelCard, options: VerifyOptions) -> list[Check]:
    """Throughput and latency here, native beside timm (and the deployed path, with
    ``--impl``/``--precision``): information, not a verdict."""
    from mixbench.measure.speed.run import SpeedSettings, latency, throughput

    deployed = None
    if options.deploys:
        deployed = deployed_path(options)[0].name
    # channels_last for both: the faster layout for timm as for native on CPUs and GPUs
    settings = SpeedSettings(
        device=options.device,
        batch_size=options.batch_size,
        amp=options.amp,
        precision=None if options.amp else options.precision,
        channels_last=True,
        timing=options.speed_timing,
    )
    rows = "native,timm" + (f",{deployed}" if deployed not in (None, "native", "timm") else "")
    speed = throughput([card.name], settings, rows)
    native, timm_row = speed.result(card.name, "native"), speed.result(card.name, "timm")
    delay = latency(card.name, replace(settings, batch_size=1), rows)
    p50 = {row.implementation: row.stats.p50 for row in delay.results}
    precision_label = native.precision.label
    extra, extra_latency = "", ""
    if deployed is not None:
        measured = [r for r in speed.results if r.implementation == deployed]
        if measured:
            row = measured[0]
            extra = (
                f"; deployed as {deployed} ({row.precision.label}): "
                f"{row.images_per_second:.1f} images/s"
            )
            if deployed in p50:
                extra_latency = f"; {deployed} {p50[deployed]:.3f} ms"
        else:
            why = "; ".join(note.reason for note in speed.not_run) or "not run"
            extra = f"; deployed as {deployed}: not timed ({why})"
    return [
        Check(
            "throughput",
            f"images/s, batch {native.batch_size}, {precision_label}, channels_last",
            "info",
            published=None,
            measured=native.images_per_second,
            reason=f"native (optimised); timm {timm_row.images_per_second:.1f} images/s, "
            f"{native.images_per_second / timm_row.images_per_second:.2f}×{extra}",
        ),
        Check(
            "latency",
            f"latency p50 ms, batch 1, {precision_label}, channels_last",
            "info",
            measured=p50["native"],
            reason=f"native (optimised); timm {p50['timm']:.3f} ms{extra_latency}",
        ),
    ]


def deployed_path(options: VerifyOptions) -> tuple[Any, Any]:
    """(implementation, precision request) of ``--impl``/``--precision``, each checked against
    its runtime before anything runs."""
    from mixbench.measure.precision import parse_precisions
    from mixbench.runtimes import parse_implementation, runtime_named

    implementation = parse_implementation(options.implementation or DEFAULT_IMPLEMENTATION)
    requests = parse_precisions(options.precision)
    if len(requests) > 1:
        raise InputError(
            f"--precision {options.precision}: verify checks one deployed precision",
            hint="run verify once per precision",
        )
    device = torch.device(options.device)
    runtime_named(implementation.runtime).check_request(implementation, requests[0], device)
    return implementation, requests[0]


def check_deployed(context: CheckContext) -> list[Check]:
    """The deployed path keeps the card: the same images through ``--impl`` at
    ``--precision`` and through eager float32, paired image by image (the share of unchanged
    top-1 classes; the top-1 difference with its paired 95 % interval)."""
    card, options = context.card, context.options
    implementation, precision = deployed_path(options)
    path = f"{implementation.name} {precision.name}"
    labels = {
        "deployed_agreement": f"top-1 unchanged via {path} (%)",
        "deployed_top1": f"top-1 change via {path} (points)",
    }
    why_not = _no_accuracy_reason(context)
    if why_not is not None:
        return [Check(name, label, "skipped", reason=why_not) for name, label in labels.items()]
    from mixbench.measure.accuracy.evaluation import REFERENCE_PATH, EvalOptions

    base = EvalOptions(
        device=options.device, batch_size=options.batch_size or EVAL_BATCH, workers=options.workers
    )
    reference = _eager_fp32_evaluation(context)
    if reference is None:
        reference = _evaluate_for_checks(context, base)
    deployed = _evaluate_for_checks(
        context,
        replace(base, implementation=implementation.name, precision=precision.name),
    )
    source = context.source
    assert source is not None
    pairs = Agreement.of(
        reference.top1, deployed.top1, [source.label(i) for i in range(len(source))]
    )
    computed = deployed.settings.get("precision_computed") or precision.name
    details = {
        "implementation": implementation.name,
        "runtime": implementation.runtime,
        "precision": precision.name,
        "precision_computed": computed,
        "precision_how": deployed.settings.get("precision_how"),
        "provider": deployed.settings.get("provider"),
        "reference": REFERENCE_PATH,
        "deployed_top1": deployed.metrics.top1,
        "deployed_top5": deployed.metrics.top5,
        "reference_top1": reference.metrics.top1,
        "reference_top5": reference.metrics.top5,
        "card_top1": card.top1,
        "card_top5": card.top5,
        **pairs.to_dict(),
    }
    low, high = pairs.share_interval
    floor = MIN_AGREEMENT.get(computed, MIN_AGREEMENT["bf16"])
    in_ = f"{path}" + (f" (computed {computed})" if computed != precision.name else "")
    agreement = Check(
        "deployed_agreement",
        labels["deployed_agreement"],
        judge_agreement(pairs, computed),
        measured=pairs.share,
        tolerance=f"≥ {floor:g}% (95% CI)",
        reason=f"{pairs.same_top1:,} of {pairs.images:,} images keep their top-1 class through "
        f"{in_} against {REFERENCE_PATH}; 95% CI {low:.2f}–{high:.2f}",
        details=details,
    )
    tolerance = options.tolerance.get("deployed", DEPLOYED_TOLERANCE)
    d_low, d_high = pairs.difference_interval
    change = Check(
        "deployed_top1",
        labels["deployed_top1"],
        judge_difference(pairs, tolerance),
        measured=pairs.top1_difference,
        tolerance=f"±{tolerance:g} points (95% CI)",
        reason=f"{deployed.metrics.top1:.2f}% through {in_} vs {reference.metrics.top1:.2f}% "
        f"eager float32 on the same {pairs.images:,} images (95% CI {d_low:+.2f} to "
        f"{d_high:+.2f}): {pairs.lost} lost, {pairs.gained} gained",
        details=details,
    )
    return [agreement, change]


def _no_accuracy_reason(context: CheckContext) -> str | None:
    """Why an evaluation on ``--data`` cannot be evidence here (None: it can)."""
    source = context.source
    if source is None:
        return "no evaluation data: pass --data IMAGENET_VAL_DIR (or hf:NAME)"
    if source.kind == "synthetic":
        return (
            f"--data {source.spec} is generated images, not ImageNet: no evidence of the card's "
            "accuracy (pass an ImageNet-val folder or hf:NAME)"
        )
    if not context.resolved.has_weights:
        return (
            f"no weights: --data {source.spec} was not used; pass --weights FILE or "
            "--pretrained (random weights score ~0.1%)"
        )
    return None


def _eager_fp32_evaluation(context: CheckContext) -> EvalReport | None:
    """The accuracy check's evaluation, when it ran the reference path (eager float32)."""

    for report in context.evaluations:
        settings = report.settings
        if (
            settings.get("implementation") == DEFAULT_IMPLEMENTATION
            and settings.get("precision_computed") == "fp32"
            and not settings.get("channels_last")
        ):
            return report
    return None


def _evaluate_for_checks(context: CheckContext, eval_options: Any) -> EvalReport:
    from mixbench.measure.accuracy.evaluation import evaluate

    report = evaluate(
        context.card.name,
        context.source,  # type: ignore[arg-type]
        weights=context.options.weights,
        pretrained=context.options.pretrained,
        options=eval_options,
        warn=context.warn,
        compare_fp32=False,
    )
    assert report is not None  # verify does not run under torchrun
    context.evaluations.append(report)
    return report


# ------------------------------------------------------------------------------ the table

#: Every check verify makes, in table order: adding a check is one function and one row.
CHECKS: tuple[CheckGroup, ...] = (
    CheckGroup("params", ("params",), lambda c: [check_params(c.card, c.resolved.model)]),
    CheckGroup("flops", ("flops",), lambda c: [check_flops(c.card, c.resolved)]),
    CheckGroup(
        "weights file",
        ("file_size", "weights_hash"),
        lambda c: check_weights_file(c.card, c.weights),
    ),
    CheckGroup(
        "preprocessing",
        ("crop_pct", "image_size", "interpolation"),
        lambda c: check_preprocessing(c.card, c.resolved),
    ),
    CheckGroup(
        "native vs timm",
        ("native_vs_timm",),
        lambda c: [check_equivalence(c.card, c.resolved, c.options)],
        # a forward pass of the native model, where its family maps to timm's keys
        needs_real_model=lambda _options, family: family.native_to_timm is not None,
    ),
    CheckGroup(
        "accuracy",
        ("top1", "top5"),
        lambda c: check_accuracy(c),
        needs_real_model=lambda options, _family: options.data is not None,
    ),
    CheckGroup(
        "deployed path",
        ("deployed_agreement", "deployed_top1"),
        check_deployed,
        when=lambda options: options.deploys,
        needs_real_model=lambda options, _family: options.data is not None,
    ),
    CheckGroup(
        "speed",
        ("throughput", "latency"),
        lambda c: check_speed(c.card, c.options),
        when=lambda options: options.throughput,
    ),
)
#: Every check by its stable key, in table order (``--require`` takes these).
CHECK_NAMES = tuple(name for group in CHECKS for name in group.produces)


# ------------------------------------------------------------------------------ helpers


def _measured_under(check: Check, settings: dict[str, Any]) -> dict[str, Any]:
    """The conditions a check's measured figure holds under (from its structured details)."""
    details = check.details
    if check.name == "flops" and "measured_convention" in details:
        size = details.get("image_size")
        return {"convention": details["measured_convention"], "input": f"{size}x{size}"}
    if check.name in ("top1", "top5"):
        return {
            "data": settings.get("data"),
            "images": details.get("count"),
            "selection": details.get("selection", "full"),
            **({"interval": details["interval"]} if "interval" in details else {}),
        }
    if check.name in ("file_size", "weights_hash") and "file" in details:
        return {"file": details["file"]}
    return {}


def _weights_path(resolved: ResolvedModel, options: VerifyOptions) -> Path | None:
    if options.weights is not None:
        return Path(options.weights)
    if options.pretrained and resolved.weights:
        from mixbench.models.weights import download_pretrained

        return download_pretrained(resolved.weights)  # cached: resolve_model fetched it
    return None


def _classes(model: nn.Module) -> int:
    return int(model.eval_config.num_classes)  # type: ignore[union-attr]
