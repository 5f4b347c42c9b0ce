"""Scoring per-image top-k predictions: top-1/top-5, a per-class breakdown, ImageNet-ReaL.

Scores are computed once, from the complete table of per-image predictions, never averaged
over batches: the numbers cannot depend on batch size, worker count, sharding across
processes or how many times the run was interrupted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

TOP_K = 5


@dataclass(frozen=True)
class TopK:
    """Accuracy in percent over ``count`` images."""

    top1: float
    top5: float
    count: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class ClassAccuracy:
    index: int
    synset: str
    top1: float
    top5: float
    count: int


def _percent(hits: int, count: int) -> float:
    return 100.0 * hits / count if count else float("nan")


def score(predictions: Mapping[int, Sequence[int]], labels: Callable[[int], int]) -> TopK:
    """Top-1/top-5 of ``predictions`` (image index → classes, best first) against ``labels``."""
    top1 = top5 = 0
    for index, classes in predictions.items():
        label = labels(index)
        top1 += classes[0] == label
        top5 += label in classes[:TOP_K]
    return TopK(
        _percent(top1, len(predictions)), _percent(top5, len(predictions)), len(predictions)
    )


def score_per_class(
    predictions: Mapping[int, Sequence[int]],
    labels: Callable[[int], int],
    synset: Callable[[int], str],
) -> list[ClassAccuracy]:
    """One row per class present in the data, in class order."""
    by_class: dict[int, list[int]] = {}
    for index, classes in predictions.items():
        label = labels(index)
        hits = by_class.setdefault(label, [0, 0, 0])
        hits[0] += classes[0] == label
        hits[1] += label in classes[:TOP_K]
        hits[2] += 1
    return [
        ClassAccuracy(label, synset(label), _percent(t1, n), _percent(t5, n), n)
        for label, (t1, t5, n) in sorted(by_class.items())
    ]


@cache
def real_labels() -> tuple[tuple[int, ...], ...]:
    """ImageNet-ReaL's labels (Beyer et al. 2020) per val image, as timm ships them."""
    text = resources.files("timm.data").joinpath("_info/imagenet_real_labels.json").read_text()
    return tuple(tuple(labels) for labels in json.loads(text))


def real_index(val_filename: str | None) -> int | None:
    """``ILSVRC2012_val_00000293.JPEG`` → 292, the row of its ReaL labels."""
    if not val_filename or not val_filename.startswith("ILSVRC2012_val_"):
        return None
    digits = val_filename[len("ILSVRC2012_val_") :].split(".", 1)[0]
    return int(digits) - 1 if digits.isdigit() else None


def score_real(predictions: Mapping[int, Sequence[int]], real_rows: Mapping[int, int]) -> TopK:
    """ReaL accuracy as its authors and timm score it: a prediction is right when it is any
    of the image's ReaL labels; images the raters left without a label are not counted."""
    table = real_labels()
    top1 = top5 = count = 0
    for index, classes in predictions.items():
        accepted = table[real_rows[index]]
        if not accepted:
            continue
        count += 1
        top1 += classes[0] in accepted
        top5 += any(c in accepted for c in classes[:TOP_K])
    return TopK(_percent(top1, count), _percent(top5, count), count)
