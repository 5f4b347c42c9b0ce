"""Auditing a whole model index: every card verified, then read as findings for its maintainers.

``mixbench audit --index DIR`` is ``mixbench verify all --index DIR`` (each model stored as it
finishes) followed by :func:`audit_findings`, which reads the verify reports, never re-measures,
and groups what they found: where each card's FLOPs come from (the card's own S×S, the
uncropped photo of the 2021 cards, twice a count, nothing), parameter counts that do not round
to the model's, preprocessing that is not the model's ``pretrained_cfg``, names timm resolves to
another model, and models that could not be built.

>>> from mixbench.audit import audit_findings
>>> from mixbench.pipeline import Pipeline
>>> reports = Pipeline(None).verify(["all"], index_path="tests/data/timm-docs")  # doctest: +SKIP
>>> audit_findings(reports).flops_rules  # doctest: +SKIP
{'photo': 232, 'square': 18, 'unexplained': 8, 'not counted': 3}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mixbench.index import ModelIndex
from mixbench.measure.complexity import LOW_COVERAGE, size_text
from mixbench.verify import Check, VerifyReport

#: Where a card's FLOPs figure was found: at the card's own S×S, on the 2021 uncropped photo
#: (S×W), somewhere else, nowhere, or not counted at all (no model, or no figure).
FlopsRule = Literal["square", "photo", "other input", "unexplained", "no figure", "not counted"]
PREPROCESSING = ("crop_pct", "image_size", "interpolation")


@dataclass(frozen=True)
class ModelFinding:
    """One card as the audit reads its verify report."""

    model: str
    collection: str | None
    verdict: str  # the report's headline
    status: str  # pass / fail / inconclusive (the report's), or "not built": never a pass
    not_built: str | None
    timm_name: str | None  # what timm built for the card's name (its deprecation target too)
    tag_source: str | None  # how that weights tag was chosen (timm_family.TimmConfig)
    params_card: int | None
    params_measured: int | None
    params_status: str | None
    flops_card: int | None
    flops_rule: FlopsRule
    flops_convention: str | None  # the convention key that reproduced the card
    flops_input: str | None  # "224×285"
    flops_status: str | None
    macs: int | None  # fvcore MACs at the card's S×S: the model's cost at its resolution
    same_rule_at_card_size: int | None  # the reproducing convention's count at S×S
    card_over_macs: float | None  # card FLOPs ÷ those MACs (the plot)
    coverage: float | None  # the reproducing rule's share of fvcore's MACs
    flops_reason: str | None
    preprocessing: dict[str, tuple[Any, Any, str]] = field(default_factory=dict)

    @property
    def preprocessing_mismatches(self) -> dict[str, tuple[Any, Any]]:
        """field → (card, model) for every preprocessing field that failed."""
        return {
            key: (card, model)
            for key, (card, model, status) in self.preprocessing.items()
            if status == "fail"
        }

    @property
    def blind(self) -> bool:
        """Reproduced by a rule that sees less than half of the model's arithmetic."""
        return self.coverage is not None and self.coverage < LOW_COVERAGE

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "preprocessing": {
                key: {"card": card, "model": model, "status": status}
                for key, (card, model, status) in self.preprocessing.items()
            },
        }


@dataclass(frozen=True)
class AuditFindings:
    """Every model's finding, and the groups a maintainer acts on."""

    models: tuple[ModelFinding, ...]

    @property
    def flops_rules(self) -> dict[str, int]:
        counted = Counter(finding.flops_rule for finding in self.models)
        return dict(counted.most_common())

    @property
    def by_convention(self) -> dict[str, int]:
        """Reproducing convention and input → how many cards (``thop_2021 @ S×W`` ...)."""
        counted = Counter(
            f"{finding.flops_convention} at {_where(finding.flops_rule)}"
            for finding in self.models
            if finding.flops_convention
        )
        return dict(counted.most_common())

    def where(self, rule: FlopsRule) -> list[ModelFinding]:
        return [finding for finding in self.models if finding.flops_rule == rule]

    @property
    def blind(self) -> list[ModelFinding]:
        return [finding for finding in self.models if finding.blind]

    @property
    def params_mismatches(self) -> list[ModelFinding]:
        return [finding for finding in self.models if finding.params_status == "fail"]

    @property
    def preprocessing_mismatches(self) -> list[ModelFinding]:
        return [finding for finding in self.models if finding.preprocessing_mismatches]

    @property
    def not_built(self) -> list[ModelFinding]:
        return [finding for finding in self.models if finding.not_built]

    @property
    def renamed_to_another_model(self) -> list[ModelFinding]:
        """Deprecated card names timm builds as another architecture: parameters that are not
        the card's *and* a FLOPs figure no convention reproduces on the model built (a card
        whose FLOPs the model built reproduces has the right architecture, and wrong
        parameters of its own)."""
        return [
            finding
            for finding in self.models
            if finding.tag_source == "deprecated"
            and finding.params_status == "fail"
            and finding.flops_rule == "unexplained"
        ]

    @property
    def statuses(self) -> dict[str, int]:
        return dict(Counter(finding.status for finding in self.models).most_common())

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": [finding.to_dict() for finding in self.models],
            "flops_rules": self.flops_rules,
            "by_convention": self.by_convention,
            "statuses": self.statuses,
            "params_mismatches": [f.model for f in self.params_mismatches],
            "preprocessing_mismatches": [f.model for f in self.preprocessing_mismatches],
            "blind": [f.model for f in self.blind],
            "not_built": {f.model: f.not_built for f in self.not_built},
            "renamed_to_another_model": {
                f.model: f.timm_name for f in self.renamed_to_another_model
            },
        }


def audit_findings(
    reports: Sequence[VerifyReport], index: ModelIndex | None = None
) -> AuditFindings:
    """Read each verify report (and its card's collection from ``index``) as findings."""
    return AuditFindings(tuple(model_finding(report, index) for report in reports))


def model_finding(report: VerifyReport, index: ModelIndex | None = None) -> ModelFinding:
    card = index.cards.get(report.model) if index is not None else None
    params, flops = _check(report, "params"), _check(report, "flops")
    details = flops.details if flops is not None else {}
    macs = details.get("macs")
    published = details.get("published_flops")
    return ModelFinding(
        model=report.model,
        collection=card.collection if card is not None else None,
        verdict=report.headline(),
        status="not built" if report.not_built else report.status,
        not_built=report.not_built,
        timm_name=_timm_name(report),
        tag_source=(report.built_as or {}).get("tag_source"),
        params_card=params.published if params is not None else None,
        params_measured=params.measured if params is not None else None,
        params_status=params.status if params is not None else None,
        flops_card=published if published is not None else (card.flops if card else None),
        flops_rule=_flops_rule(flops),
        flops_convention=details.get("convention"),
        flops_input=_input(details),
        flops_status=flops.status if flops is not None else None,
        macs=macs,
        same_rule_at_card_size=details.get("count_at_card_size"),
        card_over_macs=published / macs if published and macs else None,
        coverage=details.get("coverage"),
        flops_reason=flops.reason if flops is not None else None,
        preprocessing={
            name: (check.published, check.measured, check.status)
            for name in PREPROCESSING
            if (check := _check(report, name)) is not None and check.ran
        },
    )


def _check(report: VerifyReport, name: str) -> Check | None:
    return next((check for check in report.checks if check.name == name), None)


def _flops_rule(check: Check | None) -> FlopsRule:
    if check is None or not check.ran or not check.details:
        return "not counted"
    details = check.details
    if details.get("published_flops") is None:
        return "no figure"
    if details.get("convention") is None:
        return "unexplained"
    size = details.get("image_size")
    height, width = details.get("input_height"), details.get("input_width")
    if (height, width) == (size, size):
        return "square"
    if size and height == size and width == size * 1546 // 1213:
        return "photo"
    return "other input"


def _input(details: dict[str, Any]) -> str | None:
    height, width = details.get("input_height"), details.get("input_width")
    return size_text((height, width)) if height and width else None


def _where(rule: FlopsRule) -> str:
    return {"square": "S×S", "photo": "S×W (uncropped photo)"}.get(rule, rule)


def _timm_name(report: VerifyReport) -> str | None:
    """What timm built for the card's name (its deprecation target, if any), when the card
    ran on timm's model."""
    return (report.built_as or {}).get("timm_name")


@dataclass(frozen=True)
class AliasFix:
    """What a wrong deprecation alias should point at, measured: the tagged model whose
    architecture the card's name spells, with its counts held to the card's."""

    model: str
    points_at: str  # the alias today
    should_be: str | None  # None: no timm model today has the card's architecture
    params: int | None = None
    params_agree: bool = False
    flops_convention: str | None = None
    flops_input: str | None = None

    @property
    def confirmed(self) -> bool:
        """The suggestion reproduces the card: parameters at its rounding, FLOPs exactly."""
        return (
            self.should_be is not None and self.params_agree and self.flops_convention is not None
        )


def suggest_alias_fixes(findings: AuditFindings, index: ModelIndex) -> list[AliasFix]:
    """For each deprecated name timm builds as another architecture, the model with the same
    weights tag whose architecture the card's name ends with (``ig_resnext101_32x16d`` →
    ``resnext101_32x16d.fb_wsl_ig1b_ft_in1k``), counted on the meta device against the card.

    The one place the audit measures: a suggestion is only made when it is checked.
    """
    return [
        _alias_fix(finding, index.cards[finding.model])
        for finding in findings.renamed_to_another_model
        if finding.model in index.cards
    ]


def _alias_fix(finding: ModelFinding, card: Any) -> AliasFix:
    import timm
    import torch

    from mixbench.diff import compare_values
    from mixbench.measure.complexity import explain_flops
    from mixbench.models import create_model

    points_at = finding.timm_name or ""
    tag = points_at.partition(".")[2]
    candidates = [
        str(name)
        for name in timm.list_pretrained(f"*.{tag}")
        if finding.model.endswith(str(name).partition(".")[0])
    ]
    if not candidates:
        return AliasFix(finding.model, points_at, None)
    should_be = max(candidates, key=len)  # the longest architecture the name ends with
    with torch.device("meta"):
        model = create_model(should_be)
    params = sum(p.numel() for p in model.parameters())
    agree = (
        card.params is not None
        and compare_values(
            card.params, params, resolution=card.resolution.get("params"), tolerance=0
        )[0]
    )
    size = card.image_size or model.eval_config.image_size
    verdict = explain_flops(model, should_be, image_size=size, published=card.flops).verdict
    where = size_text(verdict.input_size) if verdict.input_size else None
    return AliasFix(finding.model, points_at, should_be, params, agree, verdict.convention, where)
