"""From what a user names (a preset, ``name.tag``, or a YAML path) to a model, its card and the
card's preprocessing: the first step of predict, flops and every measurement."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mixbench.data.preprocess import Preprocessing
from mixbench.errors import InputError
from mixbench.index import ModelCard, ModelIndex, load_index
from mixbench.models import ModelFamily, create_model
from mixbench.models.factory import resolve_config


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    model: nn.Module
    card: ModelCard | None
    preprocessing: Preprocessing
    weights: str | None
    #: the registry family that built ``model`` (what it can be compared with, how its
    #: checkpoints map)
    family: ModelFamily

    @property
    def has_weights(self) -> bool:
        return self.weights is not None

    @property
    def on_meta(self) -> bool:
        """Built on the meta device: shapes and configs only, no arithmetic."""
        return any(parameter.is_meta for parameter in self.model.parameters())


def is_yaml_path(spec: str | os.PathLike[str]) -> bool:
    return Path(spec).suffix.lower() in (".yaml", ".yml")


def find_card(spec: str, index: ModelIndex) -> ModelCard | None:
    """The published card for a model name (``mixnet_xl`` or ``mixnet_xl.ra_in1k``), if any.

    A card the index left out (a broken field) is bad input, never "no card": the model's
    own defaults standing in for a card the user meant would pass unseen."""
    if is_yaml_path(spec):
        return None
    untagged = spec.split(".", 1)[0]
    for name in (spec, untagged):
        if name in index:
            return index[name]
    index.raise_if_left_out(spec)
    return None


def resolve_model(
    spec: str | os.PathLike[str],
    *,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    index: ModelIndex | None = None,
    index_path: str | Path | None = None,
    meta: bool = False,
    **kwargs: Any,
) -> ResolvedModel:
    """Build the model in eval mode with the preprocessing its card publishes.

    The model's own eval defaults (mean/std, image size, crop, interpolation) are the base; the
    card's published image size, crop pct and interpolation override them. The card comes
    from ``index`` (already loaded) or else the index at ``index_path`` (default: packaged).
    ``meta``: build under ``torch.device("meta")``, allocating nothing (parameter counts and
    FLOPs only); it has no storage for weights, so it refuses ``weights`` and ``pretrained``.
    """
    if meta and (weights is not None or pretrained):
        raise InputError(
            "a model built on the meta device has no storage for weights",
            hint="drop meta=True to load weights, or drop the weights to count on meta",
        )
    text = os.fspath(spec)
    family, _config = resolve_config(text)
    with torch.device("meta") if meta else contextlib.nullcontext():
        model = create_model(text, weights=weights, pretrained=pretrained, **kwargs).eval()
    defaults = model.eval_config
    card = find_card(text, index if index is not None else load_index(index_path))
    source = os.fspath(weights) if weights is not None else None
    if pretrained:
        source = defaults.hf_hub_id
    name = card.name if card else (model.config.name or Path(text).stem)
    preprocessing = Preprocessing.for_model(defaults, card)
    return ResolvedModel(name, model, card, preprocessing, source, family)
