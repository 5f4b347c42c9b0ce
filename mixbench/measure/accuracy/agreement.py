"""Does a deployed path keep the card? Its predictions against eager float32's, image by image.

Two evaluations of the same model on the same images — the reference (PyTorch eager, float32,
the model as built) and a deployed path (a runtime at a precision) — are paired per image:

* **agreement**: the share of images whose top-1 class is unchanged, with its 95 % Wilson
  interval;
* **top-1 difference**: deployed minus reference accuracy in points, with the 95 % interval of
  a difference of *paired* proportions (Newcombe 1998, method 10: the two Wilson intervals
  combined with the correlation of the pairs). Paired, because most images are right or wrong
  on both paths: only the images that changed move the difference, and the interval is far
  narrower than two independent accuracies would give.

>>> pairs = Agreement.of({0: 1, 1: 2, 2: 3, 3: 4}, {0: 1, 1: 2, 2: 3, 3: 5}, [1, 2, 0, 4])
>>> pairs.same_top1, pairs.lost, pairs.gained, pairs.top1_difference
(3, 1, 0, -25.0)

Verdicts (``mixbench verify --impl RUNTIME --precision P``): :func:`judge_agreement` and
:func:`judge_difference`, by the thresholds in :data:`MIN_AGREEMENT` and the ``deployed``
tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mixbench.measure.statistics import CONFIDENCE, Verdict, wilson_interval

#: The least share of unchanged top-1 classes (percent) a deployed path may show, per the
#: precision it computed in: float32 paths differ from eager only in the order of sums (a
#: top-1 moves only at a near tie); float16 and bfloat16 round every layer (bfloat16's 8-bit
#: mantissa moves about 0.5 % of ImageNet's top-1 classes on CPU runtimes).
MIN_AGREEMENT = {"fp32": 99.9, "tf32": 99.5, "fp16": 99.5, "bf16": 99.0}
#: Points of top-1 a deployed path may differ from eager float32 (``--tolerance deployed=``).
DEPLOYED_TOLERANCE = 0.2


@dataclass(frozen=True)
class Agreement:
    """Paired predictions of a reference and a deployed path on the same images."""

    images: int
    same_top1: int
    reference_correct: int
    deployed_correct: int
    lost: int  # right on the reference, wrong deployed
    gained: int  # wrong on the reference, right deployed
    #: images only one of the two paths evaluated (an unreadable image skipped by one): not
    #: paired, so not in any figure here, but counted
    unpaired: int = 0

    @classmethod
    def of(
        cls,
        reference: Mapping[int, int],
        deployed: Mapping[int, int],
        labels: Sequence[int] | Mapping[int, int],
    ) -> Agreement:
        """From each path's top-1 class per image index (the images both read) and the
        labels by index."""
        shared = sorted(set(reference) & set(deployed))
        if not shared:
            raise ValueError("no image was evaluated on both paths")
        same = sum(reference[i] == deployed[i] for i in shared)
        ref_right = {i for i in shared if reference[i] == labels[i]}
        dep_right = {i for i in shared if deployed[i] == labels[i]}
        return cls(
            images=len(shared),
            same_top1=same,
            reference_correct=len(ref_right),
            deployed_correct=len(dep_right),
            lost=len(ref_right - dep_right),
            gained=len(dep_right - ref_right),
            unpaired=len(set(reference) ^ set(deployed)),
        )

    @property
    def share(self) -> float:
        """Images whose top-1 class is unchanged, percent."""
        return 100.0 * self.same_top1 / self.images

    @property
    def share_interval(self) -> tuple[float, float]:
        return wilson_interval(self.same_top1, self.images)

    @property
    def top1_difference(self) -> float:
        """Deployed minus reference top-1, in points."""
        return 100.0 * (self.deployed_correct - self.reference_correct) / self.images

    @property
    def difference_interval(self) -> tuple[float, float]:
        """95 % interval of the paired difference, in points (Newcombe's method 10)."""
        low, high = paired_difference_interval(
            both=self.reference_correct - self.lost,
            lost=self.lost,
            gained=self.gained,
            neither=self.images - self.reference_correct - self.gained,
        )
        return 100.0 * low, 100.0 * high

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "same_top1": self.same_top1,
            "agreement": self.share,
            "agreement_interval": list(self.share_interval),
            "reference_correct": self.reference_correct,
            "deployed_correct": self.deployed_correct,
            "lost": self.lost,
            "gained": self.gained,
            "unpaired": self.unpaired,
            "top1_difference": self.top1_difference,
            "top1_difference_interval": list(self.difference_interval),
            "confidence": CONFIDENCE,
        }


def paired_difference_interval(
    both: int, lost: int, gained: int, neither: int
) -> tuple[float, float]:
    """95 % interval of ``p_deployed - p_reference`` (fractions) from the 2×2 table of paired
    outcomes: right on both, right only on the reference (``lost``), right only deployed
    (``gained``), right on neither. Newcombe (1998), *Improved confidence intervals for the
    difference between binomial proportions based on paired data*, method 10."""
    n = both + lost + gained + neither
    if n <= 0 or min(both, lost, gained, neither) < 0:
        raise ValueError("a paired table needs non-negative counts and at least one pair")
    p_ref, p_dep = (both + lost) / n, (both + gained) / n
    l_ref, u_ref = (v / 100.0 for v in wilson_interval(both + lost, n))
    l_dep, u_dep = (v / 100.0 for v in wilson_interval(both + gained, n))
    denominator = (both + lost) * (gained + neither) * (both + gained) * (lost + neither)
    # no variation in a margin: treat the pairs as perfectly correlated (Newcombe's phi=0
    # would widen the interval of a path that changed nothing)
    phi = (both * neither - lost * gained) / math.sqrt(denominator) if denominator else 1.0
    difference = p_dep - p_ref
    below = math.sqrt(
        max(
            0.0,
            (p_dep - l_dep) ** 2
            - 2 * phi * (p_dep - l_dep) * (u_ref - p_ref)
            + (u_ref - p_ref) ** 2,
        )
    )
    above = math.sqrt(
        max(
            0.0,
            (u_dep - p_dep) ** 2
            - 2 * phi * (u_dep - p_dep) * (p_ref - l_ref)
            + (p_ref - l_ref) ** 2,
        )
    )
    return max(-1.0, difference - below), min(1.0, difference + above)


def judge_agreement(agreement: Agreement, precision: str) -> Verdict:
    """*pass* when the whole interval of the unchanged share is at or above the precision's
    least agreement, *fail* when all of it is below, else *inconclusive* (too few images)."""
    floor = MIN_AGREEMENT.get(precision, MIN_AGREEMENT["bf16"])
    low, high = agreement.share_interval
    if low >= floor - 1e-9:
        return "pass"
    if high < floor:
        return "fail"
    return "inconclusive"


def judge_difference(agreement: Agreement, tolerance: float) -> Verdict:
    """*pass* when the whole interval of the top-1 difference lies within ±``tolerance``
    points, *fail* when all of it lies outside, else *inconclusive*."""
    low, high = agreement.difference_interval
    if -tolerance - 1e-9 <= low and high <= tolerance + 1e-9:
        return "pass"
    if high < -tolerance or low > tolerance:
        return "fail"
    return "inconclusive"
