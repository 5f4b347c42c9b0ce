"""Typed model cards: what a model-index source says about each model, normalised.

Units follow the project's conventions: accuracy in percent (0–100), params and FLOPs as counts,
file size in bytes. ``resolution`` records how coarsely a figure was published (7,330,000 params is
given to the nearest 10,000), so comparisons can happen at the coarser side's rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mixbench.index.fields import CARD_FIELDS, FIELDS, HasFigures

# Metric names that are accuracies on a percent scale.
TOP1 = "top1"
TOP5 = "top5"

__all__ = [
    "CARD_FIELDS",
    "NOT_PUBLISHED",
    "TOP1",
    "TOP5",
    "UNKNOWN_KEY_KIND",
    "CardWarning",
    "Location",
    "Metric",
    "ModelCard",
]

#: :attr:`CardWarning.kind` of a key mixbench does not know (a suggestion: a probable misspelling)
UNKNOWN_KEY_KIND = "unknown_key"
#: :attr:`CardWarning.kind` of a null or empty value: how indexes say "not published (yet)"
NOT_PUBLISHED = "not_published"
#: what a not-published warning says after its field
NOT_PUBLISHED_MESSAGE = "empty: not published"


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class CardWarning:
    """Something in a source worth saying that does not stop it loading: a key mixbench does
    not know (``kind`` :data:`UNKNOWN_KEY_KIND`; with ``suggestions``, probably misspelled), or
    a null or empty value (:data:`NOT_PUBLISHED`: the figure is absent from the card).

    ``field`` is the key's path (``Models[0].Metadata.Paramters``); ``suggestions`` the known
    spellings it is closest to, best first (several only when equally close).
    """

    file: str
    line: int | None
    field: str
    message: str
    suggestions: tuple[str, ...] = ()
    kind: str = UNKNOWN_KEY_KIND

    @property
    def suggestion(self) -> str | None:
        return self.suggestions[0] if self.suggestions else None

    def did_you_mean(self) -> str:
        """``did you mean 'Parameters'?`` (or ``'A' or 'B'``); empty without suggestions."""
        if not self.suggestions:
            return ""
        quoted = [repr(spelling) for spelling in self.suggestions]
        listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        return f"did you mean {listed}?"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        hint = f" ({self.did_you_mean()})" if self.suggestions else ""
        return f"{where}:{field} {self.message}{hint}"

    def to_dict(self) -> dict[str, Any]:
        suggestions = list(self.suggestions)
        return {
            **asdict(self),
            "suggestions": suggestions,
            "suggestion": self.suggestion,
            "text": str(self),
        }


@dataclass(frozen=True)
class Metric:
    """One published figure, e.g. ``Top 1 Accuracy: 78.98%`` → name ``top1``, value 78.98.

    A metric mixbench does not compare (BLEU-4, CIDEr, mAP, ...) is kept as published: its
    value a number where it reads as one, else its text.
    """

    name: str
    value: float | str
    published_name: str
    percent: bool = False
    resolution: float | None = None
    converted_from_fraction: bool = False


@dataclass(frozen=True)
class Result:
    task: str | None
    dataset: str | None
    metrics: dict[str, Metric] = field(default_factory=dict)
    dataset_type: str | None = None

    @property
    def dataset_key(self) -> str:
        return dataset_key(self.dataset or self.dataset_type or "")


@dataclass(frozen=True)
class Paper:
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ModelCard(HasFigures):
    """One model as published: metadata, results, provenance, and unknown fields kept as-is
    (in ``extra``; the ones that look like misspelled known keys are also in ``warnings``).

    ``not_published``: the null or empty values of the card and of its collection (a figure
    the index leaves empty is absent from the card, and said here with its ``file:line``).
    """

    name: str
    collection: str | None = None
    paper: Paper | None = None
    code_url: str | None = None
    weights_url: str | None = None
    #: the published figures by :data:`~mixbench.index.fields.FIELDS` name, normalised; a
    #: figure the card does not publish is absent
    figures: Mapping[str, Any] = field(default_factory=dict)
    architecture: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    training_data: tuple[str, ...] = ()
    training_techniques: tuple[str, ...] = ()
    results: tuple[Result, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    resolution: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    source: Location | None = None
    # Probable mistakes in the card's source (misspelled keys), its collection's included.
    warnings: tuple[CardWarning, ...] = ()
    not_published: tuple[CardWarning, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.figures) - set(FIELDS)
        if unknown:
            raise ValueError(f"not card figures: {', '.join(sorted(unknown))}")

    def with_figures(self, **figures: Any) -> ModelCard:
        """A copy with these figures set (``None``: not published)."""
        merged = {**self.figures, **figures}
        return replace(self, figures={k: v for k, v in merged.items() if v is not None})

    def metric(self, name: str, dataset: str = "imagenet") -> float | str | None:
        """A metric's value on a dataset (matched loosely: "ImageNet" == "imagenet-1k")."""
        wanted = dataset_key(dataset)
        for result in self.results:
            if result.dataset_key == wanted and name in result.metrics:
                return result.metrics[name].value
        return None

    @property
    def top1(self) -> float | None:
        value = self.metric(TOP1)
        return value if isinstance(value, float) else None

    @property
    def top5(self) -> float | None:
        value = self.metric(TOP5)
        return value if isinstance(value, float) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready normalised card: numbers as numbers, metrics keyed by canonical name."""
        data = asdict(self)
        figures = data.pop("figures")
        data.update({name: figures.get(name) for name in CARD_FIELDS})
        data["results"] = [
            {
                "task": result.task,
                "dataset": result.dataset,
                "dataset_type": result.dataset_type,
                "metrics": {name: asdict(metric) for name, metric in result.metrics.items()},
            }
            for result in self.results
        ]
        data["source"] = str(self.source) if self.source else None
        data["warnings"] = [warning.to_dict() for warning in self.warnings]
        data["not_published"] = [warning.to_dict() for warning in self.not_published]
        for key in ("architecture", "tasks", "training_data", "training_techniques", "notes"):
            data[key] = list(data[key])
        return data


_DATASET_ALIASES = {
    "imagenet1k": "imagenet",
    "ilsvrc2012": "imagenet",
    "imagenet2012": "imagenet",
    "ilsvrc2012val": "imagenet",
    "imagenetval": "imagenet",
    "imagenetreal": "imagenet-real",
    "imagenetv2matchedfrequency": "imagenetv2",
    "sketch": "imagenetsketch",  # timm's results-sketch.csv
}


def dataset_key(name: str) -> str:
    """A loose identity for dataset names: "ImageNet", "imagenet-1k" and "ILSVRC2012" agree."""
    squashed = "".join(ch for ch in name.lower() if ch.isalnum())
    return _DATASET_ALIASES.get(squashed, squashed)
