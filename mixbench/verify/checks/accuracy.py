"""Top-1 and top-5 on ``--data`` against the card's, with the 95 % interval of a sample and
the verdict that allows; and the evaluations other checks share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mixbench.diff import compare_values
from mixbench.measure.statistics import (
    AccuracyEvidence,
    Selection,
    judge_accuracy,
    sample_selection,
)
from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION
from mixbench.verify.check import Check
from mixbench.verify.checks.base import CheckContext, CheckGroup, CheckSpec
from mixbench.verify.options import EVAL_BATCH, VerifyOptions

if TYPE_CHECKING:
    from mixbench.measure.accuracy.evaluation import EvalReport

#: ImageNet-val: a card's accuracy is on all of it; on fewer images a measurement is a sample.
IMAGENET_VAL_IMAGES = 50_000

_ACCURACY_LABELS = {"top1": "ImageNet top-1 (%)", "top5": "ImageNet top-5 (%)"}


def check_accuracy(context: CheckContext) -> list[Check]:
    card, options = context.card, context.options
    published = {"top1": card.top1, "top5": card.top5}
    why_not = no_accuracy_reason(context)
    if why_not is not None:
        return [
            Check(k, _ACCURACY_LABELS[k], "skipped", published=v, reason=why_not)
            for k, v in published.items()
        ]
    from mixbench.measure.accuracy.evaluation import EvalOptions

    report = evaluate_for_checks(
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


def no_accuracy_reason(context: CheckContext) -> str | None:
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


def eager_fp32_evaluation(context: CheckContext) -> EvalReport | None:
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


def evaluate_for_checks(context: CheckContext, eval_options: Any) -> EvalReport:
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


def _evaluated_on(check: Check, settings: dict[str, Any]) -> dict[str, Any]:
    details = check.details
    return {
        "data": settings.get("data"),
        "images": details.get("count"),
        "selection": details.get("selection", "full"),
        **({"interval": details["interval"]} if "interval" in details else {}),
    }


GROUP = CheckGroup(
    "accuracy",
    order=60,
    specs=(
        CheckSpec("top1", "top-1", "%", card_field="top1", conditions=_evaluated_on),
        CheckSpec("top5", "top-5", "%", card_field="top5", conditions=_evaluated_on),
    ),
    run=lambda c: check_accuracy(c),
    needs_real_model=lambda options, _family: options.data is not None,
)
