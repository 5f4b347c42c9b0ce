"""``mixbench verify``: every check a card allows, each ending pass, fail, skipped or info.

>>> from mixbench.verify import VerifyOptions, verify
>>> report = verify("mixnet_xl", VerifyOptions(data="/data/imagenet/val", pretrained=True))
... # doctest: +SKIP
>>> report.status, [(c.name, c.status) for c in report.checks]  # doctest: +SKIP

A check that cannot run is *skipped* with the reason and what to pass to run it; skipped is
never counted as passed. *info* is a measurement with no published figure to hold it to (or one
no convention explains, like the cards' FLOPs). A report passes when every check that ran
passed; it fails when any failed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from mixbench.diff import compare_values
from mixbench.environment import collect_environment, device_label, git_sha
from mixbench.errors import InputError
from mixbench.index import ModelCard, ModelIndex, load_index
from mixbench.measure.speed import TimingOptions
from mixbench.resolve import ResolvedModel, resolve_model
from mixbench.store import ResultsStore, RunRecord, utc_now

Status = Literal["pass", "fail", "skipped", "info"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "skipped", "info")
#: Accuracy tolerances in percentage points, per metric, unless the user says otherwise.
DEFAULT_TOLERANCE = {"top1": 0.1, "top5": 0.1}
#: Native and timm outputs on the same weights agree to this max relative difference (fp32).
EQUIVALENCE_RTOL = 1e-4
#: ImageNet-val: a card's accuracy is on all of it; fewer images are noted beside the verdict.
IMAGENET_VAL_IMAGES = 50_000


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

    def counts(self) -> dict[str, int]:
        return {status: sum(c.status == status for c in self.checks) for status in STATUSES}

    @property
    def status(self) -> Literal["pass", "fail"]:
        """``fail`` when any check failed; otherwise ``pass`` (skipped and info don't count)."""
        return "fail" if any(c.status == "fail" for c in self.checks) else "pass"

    def check(self, name: str) -> Check:
        for candidate in self.checks:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "status": self.status,
            "counts": self.counts(),
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

    def to_run_record(self) -> RunRecord:
        metrics: dict[str, Any] = {"status": self.status, **self.counts()}
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
            },
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
        )


@dataclass(frozen=True)
class VerifyOptions:
    data: str | None = None
    labels: str | None = None
    weights: str | None = None
    pretrained: bool = False
    device: str = "cpu"
    batch_size: int = 64
    workers: int | None = None
    amp: bool = False
    throughput: bool = False
    tolerance: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TOLERANCE))
    cache_dir: str | None = None
    speed_timing: TimingOptions = field(default_factory=TimingOptions)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["speed_timing"] = asdict(self.speed_timing)
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


OnCheck = Callable[[str, Check | None], None]


def verify(
    model_spec: str,
    options: VerifyOptions | None = None,
    *,
    index: ModelIndex | None = None,
    index_path: str | os.PathLike[str] | None = None,
    store: ResultsStore | None = None,
    command: str | None = None,
    on_check: OnCheck | None = None,
    warn: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Run every check of ``model_spec``'s card; record the report in ``store`` if given."""
    options = options or VerifyOptions()
    index = index if index is not None else load_index(index_path)
    if store is not None:
        store.check()
    resolved = resolve_model(
        model_spec, weights=options.weights, pretrained=options.pretrained, index=index
    )
    if resolved.card is None:
        raise InputError(
            f"{model_spec}: no published card to verify against",
            hint="`mixbench list` shows the cards; pass --index for your own model index",
        )
    card = resolved.card
    checks: list[Check] = []

    def run(name: str, make: Callable[[], list[Check]]) -> None:
        if on_check is not None:
            on_check(name, None)
        made = make()
        checks.extend(made)
        if on_check is not None:
            for check in made:
                on_check(name, check)

    run("params", lambda: [check_params(card, resolved.model)])
    run("flops", lambda: [check_flops(card, resolved)])
    run("file size", lambda: [check_file_size(card, resolved, options)])
    run("preprocessing", lambda: check_preprocessing(card, resolved))
    run("native vs timm", lambda: [check_equivalence(card, resolved, options)])
    run("accuracy", lambda: check_accuracy(card, resolved, options, store, command, warn))
    if options.throughput:
        run("speed", lambda: check_speed(card, options))
    device = torch.device(options.device)
    report = VerifyReport(
        model=card.name,
        checks=checks,
        card_source=str(card.source) if card.source else None,
        settings=options.to_dict(),
        environment=collect_environment(device),
        device=device_label(device),
        git_sha=git_sha(),
        command=command,
        weights=resolved.weights,
    )
    if store is not None:
        report.run_id = store.add(report.to_run_record())
    return report


def verify_many(
    specs: Sequence[str],
    options: VerifyOptions | None = None,
    **kwargs: Any,
) -> list[VerifyReport]:
    """``verify`` each model; ``["all"]`` means every card of the index."""
    index = kwargs.pop("index", None) or load_index(kwargs.pop("index_path", None))
    names = [card.name for card in index] if list(specs) == ["all"] else list(specs)
    options = options or VerifyOptions()
    if len(names) > 1 and options.weights is not None:
        raise InputError(
            "--weights names one file, but several models are verified",
            hint="verify one model with --weights, or use --pretrained for all",
        )
    return [verify(name, options, index=index, **kwargs) for name in names]


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
    from mixbench.measure.complexity import EXPLAINS_WITHIN, count_complexity

    size = card.image_size or resolved.preprocessing.image_size
    measured = count_complexity(resolved.model, size)
    if card.flops is None:
        return Check(
            "flops",
            "FLOPs",
            "info",
            measured=measured.flops,
            reason=f"the card publishes no FLOPs; {measured.macs:,} MACs (fvcore)",
        )
    explained_by, ratios = measured.explain(card.flops)
    tolerance = f"±{EXPLAINS_WITHIN:.1%} under some counting convention"
    if explained_by is not None:
        value = measured.conventions()[explained_by]
        return Check(
            "flops",
            "FLOPs",
            "pass",
            published=card.flops,
            measured=value,
            delta=value - card.flops,
            tolerance=tolerance,
            reason=f"counted as {explained_by}",
        )
    ratio = ratios.get("MACs (fvcore)", 0.0)
    return Check(
        "flops",
        "FLOPs",
        "info",
        published=card.flops,
        measured=measured.flops,
        delta=measured.flops - card.flops,
        tolerance=tolerance,
        reason=f"no counting convention explains the card: it is {ratio:.3f} × fvcore MACs "
        f"({measured.macs:,}); measured is FLOPs = 2 × MACs",
    )


def check_file_size(card: ModelCard, resolved: ResolvedModel, options: VerifyOptions) -> Check:
    name, label = "file_size", "weights file size"
    if card.file_size is None:
        return Check(name, label, "skipped", reason="the card publishes no file size")
    path = _weights_path(resolved, options)
    if path is None:
        return Check(
            name,
            label,
            "skipped",
            published=card.file_size,
            reason="no weights file: pass --weights FILE or --pretrained",
        )
    measured = path.stat().st_size
    published_file = Path(card.weights_url or "").name
    resolution = card.resolution.get("file_size")
    agree, delta = compare_values(card.file_size, measured, resolution=resolution, tolerance=0)
    if published_file and path.name != published_file:
        return Check(
            name,
            label,
            "info",
            published=card.file_size,
            measured=measured,
            delta=delta,
            reason=f"the card's size is of {published_file}; the file at hand is {path.name}",
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


def check_preprocessing(card: ModelCard, resolved: ResolvedModel) -> list[Check]:
    """The card's eval metadata against the model's own default config."""
    defaults = resolved.model.eval_config  # type: ignore[union-attr]
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
        checks.append(
            Check(
                key,
                label,
                "pass" if agree else "fail",
                published=published,
                measured=value,
                delta=delta,
                tolerance="exact",
                reason="against the model's default eval config",
            )
        )
    return checks


def check_equivalence(card: ModelCard, resolved: ResolvedModel, options: VerifyOptions) -> Check:
    """Native and timm on the same weights give the same outputs on the same images."""
    import timm

    from mixbench.models.convert import native_to_timm

    name, label = "native_vs_timm", "native = timm outputs"
    if card.name not in timm.list_models():
        return Check(name, label, "skipped", reason=f"timm has no model named {card.name}")
    native = resolved.model
    random_weights = not resolved.has_weights
    if random_weights:  # random but not trivial: BN statistics too, or the check proves little
        native = _randomized(native, seed=0)
    reference = timm.create_model(card.name, pretrained=False, num_classes=_classes(native))
    reference.load_state_dict(native_to_timm(native.state_dict(), native))
    reference.eval()
    size = card.image_size or resolved.preprocessing.image_size
    images = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = native.eval()(images), reference(images)
    difference = float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-12))
    same_top1 = bool((ours.argmax(1) == theirs.argmax(1)).all())
    agree = difference <= EQUIVALENCE_RTOL and same_top1
    weights = "random weights (seeded)" if random_weights else "the given weights"
    return Check(
        name,
        label,
        "pass" if agree else "fail",
        published="timm " + timm.__version__,
        measured=difference,
        tolerance=f"max relative difference ≤ {EQUIVALENCE_RTOL:g}",
        reason=f"2 random {size}×{size} images, {weights}, float32 on CPU",
    )


def check_accuracy(
    card: ModelCard,
    resolved: ResolvedModel,
    options: VerifyOptions,
    store: ResultsStore | None,
    command: str | None,
    warn: Callable[[str], None] | None,
) -> list[Check]:
    published = {"top1": card.top1, "top5": card.top5}
    labels = {"top1": "ImageNet top-1 (%)", "top5": "ImageNet top-5 (%)"}
    why_not = None
    if options.data is None:
        why_not = "no evaluation data: pass --data IMAGENET_VAL_DIR (or hf:NAME)"
    elif not resolved.has_weights:
        why_not = "no weights: pass --weights FILE or --pretrained (random weights score ~0.1%)"
    if why_not is not None:
        return [
            Check(k, labels[k], "skipped", published=v, reason=why_not)
            for k, v in published.items()
        ]
    from mixbench.evaluate import EvalOptions, evaluate

    report = evaluate(
        card.name,
        options.data,  # type: ignore[arg-type]
        weights=options.weights,
        pretrained=options.pretrained,
        labels=options.labels,
        options=EvalOptions(
            device=options.device,
            batch_size=options.batch_size,
            workers=options.workers,
            amp=options.amp,
        ),
        cache_dir=options.cache_dir,
        warn=warn,
        store=store,
        command=command,
    )
    assert report is not None  # verify does not run under torchrun
    measured = {"top1": report.metrics.top1, "top5": report.metrics.top5}
    count = report.metrics.count
    note = (
        None
        if count >= IMAGENET_VAL_IMAGES
        else (f"on {count:,} images, not the full {IMAGENET_VAL_IMAGES:,} of ImageNet-val")
    )
    checks = []
    for key, value in published.items():
        if value is None:
            checks.append(
                Check(
                    key,
                    labels[key],
                    "info",
                    measured=measured[key],
                    reason="the card publishes no figure",
                )
            )
            continue
        tolerance = options.tolerance[key]
        agree, delta = compare_values(value, measured[key], resolution=None, tolerance=tolerance)
        checks.append(
            Check(
                key,
                labels[key],
                "pass" if agree else "fail",
                published=value,
                measured=measured[key],
                delta=delta,
                tolerance=f"±{tolerance:g} points",
                reason=note,
            )
        )
    return checks


def check_speed(card: ModelCard, options: VerifyOptions) -> list[Check]:
    """Throughput and latency here, native beside timm: information, not a verdict."""
    from mixbench.benchmark import SpeedSettings, latency, throughput

    # channels_last for both: the faster layout for timm as for native on CPUs and GPUs
    settings = SpeedSettings(
        device=options.device,
        batch_size=options.batch_size,
        amp=options.amp,
        channels_last=True,
        timing=options.speed_timing,
    )
    speed = throughput([card.name], settings, "native,timm")
    native, timm_row = speed.result(card.name, "native"), speed.result(card.name, "timm")
    delay = latency(card.name, replace(settings, batch_size=1), "native,timm")
    p50 = {row.implementation: row.stats.p50 for row in delay.results}
    precision = native.precision
    return [
        Check(
            "throughput",
            f"images/s, batch {native.batch_size}, {precision}, channels_last",
            "info",
            published=None,
            measured=native.images_per_second,
            reason=f"native (optimised); timm {timm_row.images_per_second:.1f} images/s, "
            f"{native.images_per_second / timm_row.images_per_second:.2f}×",
        ),
        Check(
            "latency",
            f"latency p50 ms, batch 1, {precision}, channels_last",
            "info",
            measured=p50["native"],
            reason=f"native (optimised); timm {p50['timm']:.3f} ms",
        ),
    ]


# ------------------------------------------------------------------------------ helpers


def _weights_path(resolved: ResolvedModel, options: VerifyOptions) -> Path | None:
    if options.weights is not None:
        return Path(options.weights)
    if options.pretrained and resolved.weights:
        from mixbench.models.weights import download_pretrained

        return download_pretrained(resolved.weights)  # cached: resolve_model fetched it
    return None


def _classes(model: nn.Module) -> int:
    return int(model.eval_config.num_classes)  # type: ignore[union-attr]


def _randomized(model: nn.Module, seed: int) -> nn.Module:
    """A copy with every parameter and BN statistic drawn at random (seeded)."""
    import copy

    generator = torch.Generator().manual_seed(seed)
    copied = copy.deepcopy(model)
    with torch.no_grad():
        for name, tensor in [*copied.named_parameters(), *copied.named_buffers()]:
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:
                scale = 0.1 if tensor.dim() <= 1 else (1.0 / tensor[0].numel()) ** 0.5
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * scale)
    return copied
