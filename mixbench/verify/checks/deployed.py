"""The path people deploy keeps the card: the same images through ``--impl`` at
``--precision`` and through eager float32, paired image by image."""

from __future__ import annotations

from dataclasses import replace

from mixbench.measure.accuracy.agreement import (
    DEPLOYED_TOLERANCE,
    MIN_AGREEMENT,
    Agreement,
    judge_agreement,
    judge_difference,
)
from mixbench.verify.check import Check
from mixbench.verify.checks.accuracy import (
    eager_fp32_evaluation,
    evaluate_for_checks,
    no_accuracy_reason,
)
from mixbench.verify.checks.base import CheckContext, CheckGroup, CheckSpec
from mixbench.verify.options import EVAL_BATCH, deployed_path


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
    why_not = no_accuracy_reason(context)
    if why_not is not None:
        return [Check(name, label, "skipped", reason=why_not) for name, label in labels.items()]
    from mixbench.measure.accuracy.evaluation import REFERENCE_PATH, EvalOptions

    base = EvalOptions(
        device=options.device, batch_size=options.batch_size or EVAL_BATCH, workers=options.workers
    )
    reference = eager_fp32_evaluation(context)
    if reference is None:
        reference = evaluate_for_checks(context, base)
    deployed = evaluate_for_checks(
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


GROUP = CheckGroup(
    "deployed path",
    order=70,
    specs=(
        CheckSpec("deployed_agreement", "deployed top-1 agreement", "%"),
        CheckSpec("deployed_top1", "deployed top-1 change", "points"),
    ),
    run=lambda c: check_deployed(c),
    when=lambda options: options.deploys,
    needs_real_model=lambda options, _family: options.data is not None,
)
