"""How sure a measured accuracy is, and what that allows a verdict to say.

A top-1 measured on a sample of ImageNet-val estimates the accuracy on all of it; the 95 % Wilson
score interval says how far the truth may lie from the estimate (it stays inside 0–100 % and is
honest at small counts and near 0 or 100 %, where the normal approximation is not).

>>> low, high = wilson_interval(790, 1000)
>>> round(low, 2), round(high, 2)
(76.37, 81.41)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: two-sided 95 %: the standard normal quantile at 0.975
Z_95 = 1.959963984540054
CONFIDENCE = 0.95

Selection = Literal["full", "images", "classes"]
Verdict = Literal["pass", "fail", "inconclusive"]


def wilson_interval(hits: int, count: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``hits`` successes in ``count`` trials, in percent."""
    if count <= 0:
        raise ValueError("an interval needs at least one image")
    if not 0 <= hits <= count:
        raise ValueError(f"hits must be between 0 and count ({count}), not {hits}")
    p = hits / count
    z2 = z * z
    centre = (p + z2 / (2 * count)) / (1 + z2 / count)
    half = z * math.sqrt(p * (1 - p) / count + z2 / (4 * count * count)) / (1 + z2 / count)
    # clamp rounding noise: the interval of 0 hits starts at exactly 0
    return 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half)


#: ImageNet-val: 50 images of each of its 1000 classes
VAL_IMAGES, VAL_CLASSES = 50_000, 1000
#: fewer classes than this share of what a random sample would show: the classes were chosen
CLASS_SUBSET_SHARE = 0.8


def expected_classes(count: int, images: int = VAL_IMAGES, classes: int = VAL_CLASSES) -> float:
    """How many distinct classes ``count`` images drawn at random from ImageNet-val show.

    A class of ``images / classes`` images is absent from the draw with the hypergeometric
    probability C(images - per_class, count) / C(images, count).
    """
    per_class = images // classes
    count = max(0, min(count, images))
    absent = 1.0
    for i in range(per_class):
        absent *= max(0, images - count - i) / (images - i)
    return classes * (1.0 - absent)


def sample_selection(count: int, classes_present: int) -> Selection:
    """What ``count`` evaluated images spanning ``classes_present`` classes are of ImageNet-val.

    ``full``: all of it. ``images``: consistent with a random sample (a random 1,000 images
    span about 636 classes). ``classes``: far fewer classes than a random sample would span,
    so someone chose the classes (e.g. 100 synset folders), and the images are not a sample
    of what a card measured.
    """
    if count >= VAL_IMAGES and classes_present >= VAL_CLASSES:
        return "full"
    if classes_present < CLASS_SUBSET_SHARE * expected_classes(count):
        return "classes"
    return "images"


def hits_from_percent(percent: float, count: int) -> int:
    """The number of correct images behind an accuracy of ``percent`` over ``count`` images."""
    return round(percent * count / 100.0)


@dataclass(frozen=True)
class AccuracyEvidence:
    """A measured accuracy with its 95 % interval and what the images were a sample of."""

    measured: float  # percent
    count: int
    hits: int
    low: float  # percent
    high: float  # percent
    selection: Selection

    @classmethod
    def of(cls, measured: float, count: int, selection: Selection) -> AccuracyEvidence:
        hits = hits_from_percent(measured, count)
        low, high = wilson_interval(hits, count)
        return cls(measured, count, hits, low, high, selection)

    def to_dict(self) -> dict[str, object]:
        return {
            "measured": self.measured,
            "count": self.count,
            "hits": self.hits,
            "interval": [self.low, self.high],
            "confidence": CONFIDENCE,
            "selection": self.selection,
        }


def judge_accuracy(published: float, evidence: AccuracyEvidence, tolerance: float) -> Verdict:
    """The verdict on a card's accuracy given what was measured.

    On the full ImageNet-val the measurement is of the same images the card was measured on:
    no sampling error, so the plain difference decides. On a random sample, *pass* needs the
    whole 95 % interval within ``tolerance`` points of the card, *fail* needs all of it farther
    than that; otherwise the sample cannot tell (*inconclusive*). A subset of the classes is
    not a sample of what the card measured: never pass or fail.
    """
    if evidence.selection == "full":
        return "pass" if abs(evidence.measured - published) <= tolerance + 1e-9 else "fail"
    lowest, highest = published - tolerance, published + tolerance
    if evidence.selection == "classes":
        return "inconclusive"
    if lowest - 1e-9 <= evidence.low and evidence.high <= highest + 1e-9:
        return "pass"
    if evidence.high < lowest or evidence.low > highest:
        return "fail"
    return "inconclusive"
