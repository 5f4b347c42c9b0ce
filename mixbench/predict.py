"""``mixbench predict``: top-k ImageNet classes for images, with the card's preprocessing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from mixbench.data import BadImageError, Preprocessing, decode_rgb
from mixbench.errors import InputError

if TYPE_CHECKING:
    from PIL import Image
    from timm.data import ImageNetInfo


@dataclass(frozen=True)
class ClassScore:
    index: int
    label: str  # the WordNet synset id, e.g. n02111889
    name: str  # the human-readable description, e.g. "Samoyed, Samoyede"
    probability: float


@dataclass(frozen=True)
class Prediction:
    image: str
    top: tuple[ClassScore, ...]

    def to_dict(self) -> dict[str, object]:
        return {"image": self.image, "top": [asdict(score) for score in self.top]}


@cache
def _imagenet_info() -> ImageNetInfo:
    from timm.data import ImageNetInfo  # lazily: timm is slow to import

    return ImageNetInfo()


def class_name(index: int, num_classes: int) -> tuple[str, str]:
    """(synset, description) from timm's ImageNet info; plain indices for other heads."""
    if num_classes != 1000:
        return str(index), f"class {index}"
    info = _imagenet_info()
    return info.index_to_label_name(index), info.index_to_description(index)


def _read_image(path: str | Path) -> Image.Image:
    """An image file the user named, decoded as every source decodes (:func:`decode_rgb`).

    Worded for a file the user named, not an item of a data set: a missing file is a wrong
    path, and BadImageError's advice (timm would evaluate the next image twice) does not apply.
    """
    try:
        return decode_rgb(path, name=str(path))
    except BadImageError as error:
        cause = error.__cause__
        if isinstance(cause, FileNotFoundError):
            raise InputError(f"{path}: no such image file", hint="check the path") from cause
        raise InputError(error.message, hint="is it a JPEG/PNG/WebP image file?") from cause


def predict_images(
    model: nn.Module,
    images: Sequence[str | Path],
    preprocessing: Preprocessing,
    *,
    top_k: int = 5,
    batch_size: int = 16,
) -> list[Prediction]:
    """Top-k classes with softmax probabilities, one :class:`Prediction` per image."""
    transform = preprocessing.transform()
    device = next(model.parameters()).device
    predictions: list[Prediction] = []
    model.eval()
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        batch = torch.stack([transform(_read_image(path)) for path in chunk]).to(device)
        with torch.no_grad():
            probabilities = model(batch).float().softmax(dim=-1)
        num_classes = probabilities.shape[-1]
        values, indices = probabilities.topk(min(top_k, num_classes), dim=-1)
        for path, row_values, row_indices in zip(chunk, values, indices, strict=True):
            scores = tuple(
                ClassScore(int(i), *class_name(int(i), num_classes), float(p))
                for p, i in zip(row_values, row_indices, strict=True)
            )
            predictions.append(Prediction(str(path), scores))
    return predictions


@dataclass(frozen=True)
class ModelPredictions:
    """What ``mixbench predict`` answers: the model, its weights (none: random) and
    preprocessing, and each image's top-k classes."""

    model: str
    weights: str | None
    preprocessing: Preprocessing
    predictions: list[Prediction]

    @property
    def random_weights(self) -> bool:
        return self.weights is None

    def warnings(self) -> list[str]:
        """What a reader of the answer must know: random weights answer nothing."""
        if not self.random_weights:
            return []
        return [
            "no weights given, the model is randomly initialised (pass --weights FILE or "
            "--pretrained)"
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "weights": self.weights,
            "random_weights": self.random_weights,
            "preprocessing": self.preprocessing.__dict__,
            "predictions": [p.to_dict() for p in self.predictions],
        }


def predict_model(
    spec: str,
    images: Sequence[str | Path],
    *,
    top_k: int = 5,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    index_path: str | os.PathLike[str] | None = None,
) -> ModelPredictions:
    """Top-k classes of ``images`` through MODEL (a card's name or a config file), with its
    card's preprocessing."""
    from mixbench.resolve import resolve_model

    resolved = resolve_model(spec, weights=weights, pretrained=pretrained, index_path=index_path)
    predictions = predict_images(resolved.model, images, resolved.preprocessing, top_k=top_k)
    return ModelPredictions(resolved.name, resolved.weights, resolved.preprocessing, predictions)
