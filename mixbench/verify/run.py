"""One verify run of one card: build its model, run every enabled check group of
:data:`mixbench.verify.checks.CHECKS`, and gather the :class:`VerifyReport`. Storing is the
pipeline's (:meth:`mixbench.pipeline.Pipeline.verify`), which runs this for each model.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import torch

from mixbench.environment import collect_environment, device_label, git_sha
from mixbench.errors import InputError, ModelBuildError
from mixbench.events import StepCounter
from mixbench.index import ModelCard, ModelIndex, load_index
from mixbench.models import ModelFamily
from mixbench.models.factory import resolve_config
from mixbench.resolve import ResolvedModel, find_card, resolve_model
from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION
from mixbench.verify.check import Check
from mixbench.verify.checks import CHECK_NAMES, CHECKS, CheckContext, CheckGroup
from mixbench.verify.options import VerifyOptions, deployed_path, split_names
from mixbench.verify.report import VerifyReport, short_name
from mixbench.verify.weights import WeightsAtHand

if TYPE_CHECKING:
    from mixbench.data.sources import EvalSource


def open_evaluation_data(options: VerifyOptions) -> EvalSource | None:
    """``--data`` opened (and so checked) before any model is built; None without it."""
    if options.data is None:
        return None
    from mixbench.data.sources import open_source

    return open_source(options.data, labels=options.labels, cache_dir=options.cache_dir)


def parse_require(text: str | None) -> tuple[str, ...]:
    """``"top1,top5"`` → ``("top1", "top5")``; an unknown check name is bad input."""
    if not text:
        return ()
    names = split_names(text)
    unknown = [name for name in names if name not in CHECK_NAMES]
    if unknown:
        raise InputError(
            f"--require: {', '.join(map(repr, unknown))} is not a check name",
            hint=f"checks: {', '.join(CHECK_NAMES)}",
        )
    return names


def validate_options(options: VerifyOptions) -> None:
    """Refuse, before anything runs, options that contradict each other or would be ignored."""
    problems: list[tuple[str, str]] = []
    if options.batch_size is not None and options.data is None and not options.throughput:
        problems.append(
            (
                "--batch is for the accuracy and speed checks: pass --data or --throughput",
                "drop --batch, or add what it is for",
            )
        )
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
    if resolved.family.describe is not None:
        described.update(resolved.family.describe(config))
    return described


def card_to_verify(model_spec: str, index: ModelIndex) -> ModelCard:
    """The published card of ``model_spec``; bad input without one (an unknown name or a
    broken YAML says what is wrong with it first)."""
    card = find_card(model_spec, index)
    if card is not None:
        return card
    index.raise_if_left_out(model_spec)  # in the source, but not loaded: say why
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
        family, _config = resolve_config(model_spec)
    except ModelBuildError:
        raise
    except InputError as error:
        raise ModelBuildError(f"cannot build {model_spec}: {error.message}") from error
    tagged = None
    if family.weights_tag is not None and card is not None:
        tagged = family.weights_tag(model_spec, card.weights_url)
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
    if tagged is not None and family.mark_card_tag is not None:
        resolved.model.config = family.mark_card_tag(resolved.model.config)  # type: ignore[assignment]
    return resolved


def not_built_checks(card: ModelCard, group: CheckGroup, reason: str) -> list[Check]:
    """A group's checks, each skipped with why the model is missing (the card's figure kept,
    so the table still shows what went unchecked)."""
    return [
        Check(
            spec.name,
            spec.short,
            "skipped",
            published=getattr(card, spec.card_field) if spec.card_field else None,
            reason=reason,
            details={"not_built": True},
        )
        for spec in group.specs
    ]


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
                    short_name(name),
                    "fail",
                    reason=f"required (--require {name}) but not run{hint}",
                    details={"required": True, "ran": False},
                )
            )
    return gated


def card_warnings(card: ModelCard) -> list[str]:
    """What the card's source says that may be a mistake, one line each."""
    return [str(warning) for warning in card.warnings]
