"""Model complexity (params, MACs, FLOPs, activations) and what a card's FLOPs figure counts.

fvcore counts one fused multiply-add as one "flop", i.e. it counts MACs; we report
FLOPs = 2 × MACs and keep the two apart. A published FLOPs figure is held against every named
counting convention, fvcore's and the hook-based ones of :mod:`mixbench.measure.conventions`
(thop-2021), at the card's image size and at the input the 2021 cards were counted on;
:func:`explain_flops` says which convention and input reproduce it, integer for integer.

>>> from mixbench.models import create_model
>>> finding = explain_flops(create_model("mixnet_s"), "mixnet_s", image_size=224,
...                         published=321_264_910)  # doctest: +SKIP
>>> finding.verdict.status, finding.verdict.convention, finding.verdict.input_size
... # doctest: +SKIP
('fail', 'thop_2021', (224, 285))
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.measure.conventions import THOP_2021
from mixbench.measure.meta_count import count_on_meta

#: An image size: one side (square) or ``(height, width)``.
InputSize = tuple[int, int]
FlopsStatus = Literal["pass", "fail", "info"]

#: The timm cards' FLOPs were counted on a 1213×1546 (H×W) photo resized to the card's short
#: side with no centre crop, not on the square model input.
PHOTO_2021_HEIGHT, PHOTO_2021_WIDTH = 1213, 1546


def uncropped_photo_size(short_side: int) -> InputSize:
    """``(S, S·1546 // 1213)``: the 2021 cards' photo at short side S (224 → 224×285)."""
    return short_side, short_side * PHOTO_2021_WIDTH // PHOTO_2021_HEIGHT


def size_text(size: InputSize) -> str:
    """``224×285`` (height × width), for people."""
    return f"{size[0]}×{size[1]}"


def size_key(size: InputSize) -> str:
    """``224x285`` (height x width, ASCII), for JSON keys."""
    return f"{size[0]}x{size[1]}"


@dataclass(frozen=True)
class NamedConvention:
    """One way a "FLOPs" figure is counted: a stable key, a label and what it counts."""

    key: str
    label: str
    description: str


#: The thop-2021 count doubled: what the timm BiT cards publish.
THOP_2021_TWICE = f"{THOP_2021.key}_x2"
#: Below this share of fvcore's MACs, a convention that reproduces a card is said to leave out
#: most of the model (BiT: thop-2021 sees the head only, 0.01 %).
LOW_COVERAGE = 0.5

#: Every convention a published figure is tried against, in the order they are tried
#: (hook-based first: they cost milliseconds, fvcore costs a traced forward pass).
CONVENTIONS: dict[str, NamedConvention] = {
    c.key: c
    for c in (
        NamedConvention(THOP_2021.key, THOP_2021.label, THOP_2021.description),
        NamedConvention(
            THOP_2021_TWICE,
            f"2 × {THOP_2021.label}",
            f"twice the {THOP_2021.label} (MACs doubled into 'FLOPs')",
        ),
        NamedConvention(
            "fvcore_macs",
            "fvcore MACs",
            "fvcore's count of the traced operators, one per fused multiply-add",
        ),
        NamedConvention("fvcore_flops", "fvcore FLOPs (2 × MACs)", "twice fvcore's MACs"),
        NamedConvention(
            "fvcore_conv_linear_macs",
            "fvcore conv + linear MACs",
            "fvcore's MACs of convolutions, linear layers and matmuls only",
        ),
        NamedConvention(
            "fvcore_conv_linear_flops",
            "fvcore conv + linear FLOPs (2 × MACs)",
            "twice fvcore's MACs of convolutions, linear layers and matmuls",
        ),
    )
}


@dataclass(frozen=True)
class Complexity:
    image_size: int | InputSize
    params: int
    macs: int
    activations: int
    macs_by_operator: dict[str, int] = field(default_factory=dict)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def counts(self) -> dict[str, int]:
        """The fvcore-based conventions' counts, by convention key."""
        conv_and_linear = sum(
            v for op, v in self.macs_by_operator.items() if op in ("conv", "linear", "matmul")
        )
        return {
            "fvcore_macs": self.macs,
            "fvcore_flops": self.flops,
            "fvcore_conv_linear_macs": conv_and_linear,
            "fvcore_conv_linear_flops": 2 * conv_and_linear,
        }

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "flops": self.flops}


def _as_size(image_size: int | InputSize) -> InputSize:
    return (image_size, image_size) if isinstance(image_size, int) else image_size


def count_complexity(model: nn.Module, image_size: int | InputSize = 224) -> Complexity:
    """Params, MACs and activations (fvcore) for one RGB image of ``image_size``.

    A model built on the meta device (no weights) is counted with fvcore's formulas on meta
    tensors (:mod:`mixbench.measure.meta_count`): no convolution runs.
    """
    params = sum(p.numel() for p in model.parameters())
    if any(p.is_meta for p in model.parameters()):
        by_operator, activations = count_on_meta(model, _as_size(image_size))
        return Complexity(
            image_size=image_size,
            params=params,
            macs=sum(by_operator.values()),
            activations=activations,
            macs_by_operator=by_operator,
        )
    with warnings.catch_warnings():  # fvcore's import touches the deprecated torch.jit.script
        warnings.simplefilter("ignore", FutureWarning)
        from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    inputs = torch.zeros(1, 3, *_as_size(image_size), device=device)
    # fvcore logs every op it does not count (activations, adds): noise for our purpose
    logger = logging.getLogger("fvcore")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with torch.no_grad():
            flops = FlopCountAnalysis(model, inputs)
            flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            activations = ActivationCountAnalysis(model, inputs)
            activations.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            macs, by_operator, acts = flops.total(), flops.by_operator(), activations.total()
    finally:
        logger.setLevel(level)
        model.train(was_training)
    return Complexity(
        image_size=image_size,
        params=params,
        macs=int(macs),
        activations=int(acts),
        macs_by_operator={op: int(v) for op, v in by_operator.items()},
    )


# ------------------------------------------------------------------ what a card's FLOPs are


@dataclass(frozen=True)
class FlopsVerdict:
    """Which convention and input reproduce a published figure, and what that means.

    ``pass``: reproduced at the card's own S×S; ``fail``: reproduced only at another input (the
    card misstates the cost at its resolution); ``info``: nothing reproduces it, or the card
    publishes no figure.
    """

    status: FlopsStatus
    reason: str
    convention: str | None = None  # key of the convention reproducing the figure
    input_size: InputSize | None = None  # (H, W) it is reproduced at
    count_at_card_size: int | None = None  # that convention at the card's S×S


def judge_flops(
    published: int | None,
    image_size: int,
    counts: Mapping[InputSize, Mapping[str, int]],
    unrunnable: Mapping[InputSize, str] | None = None,
) -> FlopsVerdict:
    """The verdict on ``published`` given each convention's count at each input tried.

    Integer equality for every convention; the card's own S×S is tried first, then the other
    inputs in ``counts``' order, conventions in :data:`CONVENTIONS` order. ``unrunnable``: the
    inputs the model could not run at (said in the reason, never a match).
    """
    unrunnable = unrunnable or {}
    square = (image_size, image_size)
    at_card = counts.get(square, {})
    if published is None:
        return FlopsVerdict("info", f"the card publishes no FLOPs; {_counts_text(at_card)}")
    for size in (square, *(s for s in counts if s != square)):
        key = _reproducing(published, counts[size]) if size in counts else None
        if key is None:
            continue
        same_rule = at_card.get(key)
        status: FlopsStatus = "pass" if size == square else "fail"
        partial = _partial_text(published, key, same_rule, at_card, image_size)
        if partial:  # the figure is reproduced, but by a rule blind to most of the model
            reason = _match_text(published, key, size, image_size, None, {}) + partial
        else:
            reason = _match_text(published, key, size, image_size, same_rule, at_card)
        return FlopsVerdict(status, reason, key, size, same_rule)
    text = _unexplained_text(published, image_size, counts)
    for size, why in unrunnable.items():
        if why.startswith("fvcore's count"):
            text += f"; fvcore could not count at {size_text(size)} ({why})"
        else:
            text += f"; the model cannot run at {size_text(size)} ({why})"
    return FlopsVerdict("info", text)


def _partial_text(
    published: int, key: str, same_rule: int | None, at_card: Mapping[str, int], image_size: int
) -> str:
    """What a convention that reproduces the card leaves out, when it is most of the model."""
    macs = at_card.get("fvcore_macs")
    if key.startswith("fvcore_") or not same_rule or not macs:
        return ""
    seen = (same_rule // 2 if key.endswith("_x2") else same_rule) / macs
    if seen >= LOW_COVERAGE:
        return ""
    text = (
        f"; that rule sees only {100 * seen:.2g} % of the model's {macs:,} MACs at "
        f"{size_text((image_size, image_size))} (fvcore): the rest is in layers of types the "
        "2021 counter had no rule for"
    )
    if published > 0:
        text += f", so the card understates the cost {macs / published:,.0f}×"
    return text


def _reproducing(published: int, counts: Mapping[str, int]) -> str | None:
    rank = {key: position for position, key in enumerate(CONVENTIONS)}
    ordered = sorted(counts, key=lambda key: rank.get(key, len(rank)))
    return next((key for key in ordered if counts[key] == published), None)


def _input_text(size: InputSize, image_size: int) -> str:
    if size == (image_size, image_size):
        return f"the {size_text(size)} model input"
    if size == uncropped_photo_size(image_size):
        return f"a {size_text(size)} input (an uncropped photo)"
    return f"a {size_text(size)} input"


def _fvcore_text(at_card: Mapping[str, int]) -> str:
    macs = at_card.get("fvcore_macs")
    return "" if macs is None else f"fvcore: {macs:,} MACs ({2 * macs:,} FLOPs)"


def _counts_text(at_card: Mapping[str, int]) -> str:
    parts = [_fvcore_text(at_card)]
    if THOP_2021.key in at_card:
        parts.append(f"{THOP_2021.label}: {at_card[THOP_2021.key]:,}")
    return "; ".join(part for part in parts if part)


def _match_text(
    published: int,
    key: str,
    size: InputSize,
    image_size: int,
    same_rule: int | None,
    at_card: Mapping[str, int],
) -> str:
    label, where = CONVENTIONS[key].label, _input_text(size, image_size)
    found = f"the card's {published:,} is {label} of {where}"
    if size == (image_size, image_size):
        return found
    square = size_text((image_size, image_size))
    at_square = (
        f"at {square} the same rule counts {same_rule:,}, so the card overstates the model's "
        f"cost at its resolution {published / same_rule:.2f}×"
        if same_rule
        else ""
    )
    tail = "; ".join(part for part in (at_square, _fvcore_text(at_card)) if part)
    return f"{found}, not of the {square} model input" + (f": {tail}" if tail else "")


def _unexplained_text(
    published: int, image_size: int, counts: Mapping[InputSize, Mapping[str, int]]
) -> str:
    square = (image_size, image_size)
    at_card = counts.get(square, {})
    ratios = [
        f"{published / at_card[key]:.3f} × {CONVENTIONS[key].label} ({at_card[key]:,})"
        for key in ("fvcore_macs", THOP_2021.key)
        if at_card.get(key)
    ]
    text = f"no counting convention explains the card's {published:,}"
    if ratios:
        text += f": at {size_text(square)} it is " + " and ".join(ratios)
    others = " or ".join(size_text(size) for size in counts if size != square)
    return text + (f"; none matches at {others} either" if others else "")


@dataclass(frozen=True)
class FlopsFinding:
    """A card's FLOPs beside every convention's count: the structured result of explaining it."""

    model: str
    image_size: int  # the card's S
    published: int | None
    verdict: FlopsVerdict
    fvcore: Complexity  # at S×S
    counts: dict[InputSize, dict[str, int]]  # input → convention key → count (what was tried)
    unrunnable: dict[InputSize, str] = field(default_factory=dict)  # input → why it did not run

    @property
    def coverage(self) -> float | None:
        """The reproducing convention's count over fvcore's MACs at S×S: how much of the
        model's arithmetic the card's figure can have seen (``None`` if nothing reproduces)."""
        key = self.verdict.convention
        if key is None or self.verdict.count_at_card_size is None or not self.fvcore.macs:
            return None
        single = self.verdict.count_at_card_size // (2 if key.endswith("_x2") else 1)
        if key.startswith("fvcore_"):
            return None  # fvcore is the reference
        return single / self.fvcore.macs

    @property
    def measured(self) -> int:
        """The count at the card's S×S under the convention that explains the card, else
        fvcore FLOPs (2 × MACs)."""
        if self.verdict.count_at_card_size is not None:
            return self.verdict.count_at_card_size
        return self.fvcore.flops

    @property
    def measured_convention(self) -> str:
        """The key of the convention :attr:`measured` is in."""
        if self.verdict.count_at_card_size is not None and self.verdict.convention:
            return self.verdict.convention
        return "fvcore_flops"

    def ratios(self) -> dict[str, float]:
        """Published / each convention's count at the card's S×S."""
        at_card = self.counts.get((self.image_size, self.image_size), {})
        if not self.published:
            return {}
        return {key: self.published / value for key, value in at_card.items() if value}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (no tuples), as ``Check.details`` and ``mixbench flops --json``."""
        verdict = self.verdict
        convention = CONVENTIONS.get(verdict.convention or "")
        height, width = verdict.input_size or (None, None)
        return {
            "model": self.model,
            "image_size": self.image_size,
            "published_flops": self.published,
            "verdict": verdict.status,
            "reason": verdict.reason,
            "convention": verdict.convention,
            "convention_label": convention.label if convention else None,
            "convention_description": convention.description if convention else None,
            "input_height": height,
            "input_width": width,
            "count_at_card_size": verdict.count_at_card_size,
            "measured": self.measured,
            "measured_convention": self.measured_convention,
            "macs": self.fvcore.macs,
            "flops": self.fvcore.flops,
            "params": self.fvcore.params,
            "activations": self.fvcore.activations,
            "counts": {size_key(size): dict(values) for size, values in self.counts.items()},
            "unrunnable": {size_key(size): why for size, why in self.unrunnable.items()},
            "coverage": self.coverage,
            "ratios": self.ratios(),
        }


class CountingFailed(InputError):
    """The model cannot be counted at the card's own size (it does not run there)."""


def explain_flops(
    model: nn.Module, name: str, *, image_size: int, published: int | None
) -> FlopsFinding:
    """Which named convention, at which input, reproduces the card's ``published`` figure.

    Every convention is counted at the card's S×S. When none matches there, the 2021 photo
    input S×(S·1546 // 1213) is tried, cheapest convention first (thop-2021 takes
    milliseconds, fvcore longer), stopping at the first match. A model that cannot run on the
    photo input (DLA, TResNet: square inputs only) is noted in ``unrunnable``; one that cannot
    run at S×S raises :class:`CountingFailed`.
    """
    square = (image_size, image_size)
    try:
        fvcore = count_complexity(model, square)
        counts = {square: {**_thop_counts(model, square), **fvcore.counts()}}
    except (RuntimeError, ValueError, NotImplementedError) as error:
        raise CountingFailed(
            f"{name}: cannot count at its own {size_text(square)}: {_first_line(error)}",
            hint="check the card's image size",
        ) from None
    unrunnable: dict[InputSize, str] = {}
    if published is not None and published not in counts[square].values():
        photo = uncropped_photo_size(image_size)
        try:
            counts[photo] = _thop_counts(model, photo)
        except (RuntimeError, ValueError, NotImplementedError) as error:
            unrunnable[photo] = _first_line(error)
        if photo in counts and published not in counts[photo].values():
            try:
                counts[photo].update(count_complexity(model, photo).counts())
            except (RuntimeError, ValueError, NotImplementedError) as error:
                # thop's counts there stand; only fvcore's are missing, and that is said
                unrunnable[photo] = f"fvcore's count: {_first_line(error)}"
    verdict = judge_flops(published, image_size, counts, unrunnable)
    return FlopsFinding(name, image_size, published, verdict, fvcore, counts, unrunnable)


def _thop_counts(model: nn.Module, size: InputSize) -> dict[str, int]:
    count = THOP_2021.count(model, size)
    return {THOP_2021.key: count, THOP_2021_TWICE: 2 * count}


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


__all__ = [
    "CONVENTIONS",
    "Complexity",
    "CountingFailed",
    "FlopsFinding",
    "FlopsVerdict",
    "NamedConvention",
    "count_complexity",
    "explain_flops",
    "judge_flops",
    "size_key",
    "size_text",
    "uncropped_photo_size",
]


def explain_index_flops(
    specs: Sequence[str], index: Any, *, image_size: int | None = None
) -> list[FlopsFinding]:
    """:func:`explain_flops` for each model of ``specs`` (default: every card of ``index``),
    at ``image_size`` or the card's (the model's eval size without a card)."""
    from mixbench.resolve import resolve_model

    findings = []
    for spec in specs or tuple(card.name for card in index):
        resolved = resolve_model(spec, index=index)
        card = resolved.card
        size = image_size or (card.image_size if card else None)
        findings.append(
            explain_flops(
                resolved.model,
                resolved.name,
                image_size=size or resolved.preprocessing.image_size,
                published=card.flops if card else None,
            )
        )
    return findings
