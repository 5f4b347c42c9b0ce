"""Presets, config lookup and :func:`create_model`."""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from mixbench.errors import InputError
from mixbench.models.config import MixNetConfig
from mixbench.models.mixnet import MixNet, MixNetFeatures
from mixbench.models.weights import (
    download_pretrained,
    drop_classifier,
    load_state,
    read_checkpoint,
)

#: Checkpoint keys a feature extractor has no use for.
HEAD_PREFIXES = ("conv_head.", "bn2.", "classifier.")


def _preset_dir() -> Any:
    # importlib.resources finds the YAML inside an installed wheel as well as in a checkout
    return resources.files("mixbench.models").joinpath("presets")


def list_presets() -> list[str]:
    """Names of the shipped presets (``mixnet_s`` ... ``tf_mixnet_l``)."""
    return sorted(
        entry.name[: -len(".yaml")]
        for entry in _preset_dir().iterdir()
        if entry.name.endswith(".yaml")
    )


@functools.cache
def _preset_config(name: str) -> MixNetConfig:
    text = _preset_dir().joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return MixNetConfig.from_dict(yaml.safe_load(text), source=f"{name}.yaml")


def _preset_for_tag(name: str, presets: list[str]) -> str | None:
    """``mixnet_xl.ra_in1k`` → ``mixnet_xl`` when that is the preset's own weights tag."""
    base = name.split(".", 1)[0]
    if base in presets and _preset_config(base).eval.hf_hub_id == f"timm/{name}":
        return base
    return None


def load_config(name_or_path: str | os.PathLike[str]) -> MixNetConfig:
    """A preset by name (timm's ``name.tag`` spelling accepted), or a YAML file by path."""
    text = os.fspath(name_or_path)
    presets = list_presets()
    if text in presets:
        return _preset_config(text)
    tagged = _preset_for_tag(text, presets)
    if tagged is not None:
        return _preset_config(tagged)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        return MixNetConfig.from_yaml(path)
    raise InputError(
        f"unknown model {text!r}: not a preset and not a YAML file",
        hint=f"use one of {', '.join(presets)}, or a path to a netspresso-format YAML",
    )


def create_model(
    name_or_yaml_path: str | os.PathLike[str],
    *,
    pretrained: bool = False,
    weights: str | os.PathLike[str] | None = None,
    num_classes: int | None = None,
    features_only: bool = False,
    out_indices: Any = None,
    **overrides: Any,
) -> nn.Module:
    """Build a native MixNet from a preset or YAML, optionally with weights.

    Args:
        name_or_yaml_path: preset name (see :func:`list_presets`) or netspresso-format YAML.
        pretrained: load the preset's ``hf_hub_id`` weights through the Hugging Face cache.
        weights: a local checkpoint (``.safetensors``, or ``.pth/.pt/.bin`` read with
            ``weights_only``); timm and native key layouts both load.
        num_classes: classifier size; a checkpoint with another size keeps everything but
            its classifier (notice issued). ``None``: the checkpoint's size, else the config's.
        features_only: return a :class:`MixNetFeatures` giving the stride 2…32 feature maps.
        out_indices: which feature maps (timm's conventions), with ``features_only`` only.
        **overrides: ``params`` fields (``drop_rate``, ``wid_mul``, ``drop_path_rate`` ...).
    """
    config = load_config(name_or_yaml_path)
    label = config.name or Path(os.fspath(name_or_yaml_path)).stem
    if pretrained and weights is not None:
        raise InputError(
            "pass either pretrained=True or weights=PATH, not both",
            hint="weights=PATH loads that file; pretrained=True the preset's",
        )
    if out_indices is not None and not features_only:
        raise InputError(
            "out_indices needs features_only=True",
            hint="pass features_only=True to get feature maps",
        )
    if features_only and num_classes is not None:
        raise InputError(
            "num_classes has no effect with features_only=True",
            hint="drop num_classes: a feature extractor has no classifier",
        )

    state = None
    source = ""
    if weights is not None:
        source = os.fspath(weights)
        state = read_checkpoint(weights)
    elif pretrained:
        hub_id = config.eval.hf_hub_id
        if hub_id is None:
            raise InputError(
                f"{config.source}: no default weights (model.pretrained.hf_hub_id)",
                hint="pass weights=PATH, or add `pretrained: hf_hub_id:` to the YAML",
            )
        source = hub_id
        state = read_checkpoint(download_pretrained(hub_id))

    if num_classes is not None:
        overrides["num_classes"] = num_classes
    elif state is not None and "classifier.weight" in state and not features_only:
        # a fine-tuned checkpoint brings its own head size unless the caller asks otherwise
        overrides.setdefault("num_classes", int(state["classifier.weight"].shape[0]))
    config = config.with_overrides(**overrides)

    model: nn.Module
    if features_only:
        model = MixNetFeatures(config, out_indices)
        if state is not None:
            state = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIXES)}
    else:
        model = MixNet(config)
        head = state.get("classifier.weight") if state is not None else None
        if state is not None and head is not None and head.shape[0] != config.num_classes:
            state = drop_classifier(state, num_classes=config.num_classes, target=label)
            state.update({f"classifier.{k}": v for k, v in model.classifier.state_dict().items()})
    if state is not None:
        load_state(model, state, source=source, target=label)
    return model
