"""Presets, config lookup and :func:`create_model`, for every registered model family.

Nothing here names a family: the registry (:mod:`~mixbench.models.registry`) says which
family a preset, a YAML document or a name belongs to, how to build it and how its checkpoints
map (lookup order in the registry's docstring).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from mixbench.errors import InputError
from mixbench.io import exists
from mixbench.models.documents import read_yaml
from mixbench.models.registry import (
    FamilyConfig,
    ModelFamily,
    families,
    family_for_document,
    family_for_name,
    family_for_preset,
)
from mixbench.models.weights import (
    download_pretrained,
    drop_classifier,
    load_state,
    read_checkpoint,
)


def list_presets() -> list[str]:
    """Names of the shipped presets of every family (``mixnet_s`` ... ``tf_mixnet_l``)."""
    return sorted(name for family in families() for name in family.presets())


@functools.cache
def _preset(name: str) -> tuple[ModelFamily, FamilyConfig]:
    family = family_for_preset(name)
    assert family is not None and family.parse is not None  # name is one of list_presets()
    document = yaml.safe_load(family.preset_text(name))
    return family, family.parse(document, source=f"{name}.yaml")


def _preset_for_tag(name: str, presets: list[str]) -> str | None:
    """``mixnet_xl.ra_in1k`` → ``mixnet_xl`` when that is the preset's own weights tag."""
    base = name.split(".", 1)[0]
    if base in presets and _preset(base)[1].eval.hf_hub_id == f"timm/{name}":
        return base
    return None


def resolve_config(name_or_path: str | os.PathLike[str]) -> tuple[ModelFamily, FamilyConfig]:
    """The family and config a preset name (timm's ``name.tag`` spelling accepted), a YAML
    path or a name a family claims stands for; the order is the registry's."""
    text = os.fspath(name_or_path)
    presets = list_presets()
    if text in presets:
        return _preset(text)
    tagged = _preset_for_tag(text, presets)
    if tagged is not None:
        return _preset(tagged)
    base = text.split(".", 1)[0]
    if base in presets and not exists(text):  # a preset's name with another tag
        own = _preset(base)[1].eval.hf_hub_id
        raise InputError(
            f"unknown model {text!r}: the preset {base} has no such weights tag",
            hint=f"use {base}" + (f" or {own.removeprefix('timm/')}" if own else ""),
        )
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or exists(text):
        document = read_yaml(path)
        family = family_for_document(document)
        assert family.parse is not None  # family_for_document only returns readers
        return family, family.parse(document, source=path.name)
    claimed = family_for_name(text)
    if claimed is not None:
        return claimed
    raise InputError(
        f"unknown model {text!r}: not a preset, not a YAML file, and no model family knows it",
        hint=_unknown_model_hint(text, presets),
    )


def _unknown_model_hint(name: str, presets: list[str]) -> str:
    """The closest names any family knows (timm's list included when timm is installed)."""
    import difflib

    known = list(presets)
    try:
        import timm

        known += timm.list_models()
        version = f" (timm {timm.__version__})"
    except ImportError:
        version = ""
    close = difflib.get_close_matches(name, list(dict.fromkeys(known)), n=3, cutoff=0.75)
    if close:
        return f"did you mean {', '.join(close)}?{version}"
    return (
        f"use a preset ({', '.join(presets)}), a timm model name{version}, or a path to a "
        "netspresso-format YAML"
    )


def load_config(name_or_path: str | os.PathLike[str]) -> FamilyConfig:
    """A preset by name (timm's ``name.tag`` spelling accepted), or a YAML file by path: its
    family's config (a :class:`~mixbench.models.config.MixNetConfig` for MixNet)."""
    return resolve_config(name_or_path)[1]


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
    """Build a model from a preset or YAML (a native MixNet), optionally with weights.

    Args:
        name_or_yaml_path: preset name (see :func:`list_presets`) or netspresso-format YAML.
        pretrained: load the preset's ``hf_hub_id`` weights through the Hugging Face cache.
        weights: a local checkpoint (``.safetensors``, or ``.pth/.pt/.bin`` read with
            ``weights_only``); timm and native key layouts both load.
        num_classes: classifier size; a checkpoint with another size keeps everything but
            its classifier (notice issued). ``None``: the checkpoint's size, else the config's.
        features_only: return the feature extractor (MixNet: a :class:`MixNetFeatures`
            giving the stride 2…32 feature maps).
        out_indices: which feature maps (timm's conventions), with ``features_only`` only.
        **overrides: ``params`` fields (``drop_rate``, ``wid_mul``, ``drop_path_rate`` ...).
    """
    family, config = resolve_config(name_or_yaml_path)
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
        state = read_checkpoint(weights, key_map=family.timm_to_native)
    elif pretrained:
        hub_id = config.eval.hf_hub_id
        if hub_id is None:
            raise InputError(
                f"{config.source}: no default weights (model.pretrained.hf_hub_id)",
                hint="pass weights=PATH, or add `pretrained: hf_hub_id:` to the YAML",
            )
        source = hub_id
        state = read_checkpoint(download_pretrained(hub_id), key_map=family.timm_to_native)

    classifier = getattr(config, "classifier", family.classifier)  # timm's differs by model
    head_key = f"{classifier}.weight"
    if num_classes is not None:
        overrides["num_classes"] = num_classes
    elif state is not None and head_key in state and not features_only:
        # a fine-tuned checkpoint brings its own head size unless the caller asks otherwise
        overrides.setdefault("num_classes", int(state[head_key].shape[0]))
    config = config.with_overrides(**overrides)

    model = family.build(config, features_only=features_only, out_indices=out_indices)
    if features_only:
        if state is not None:
            state = {k: v for k, v in state.items() if not k.startswith(family.head_prefixes)}
    else:
        head = state.get(head_key) if state is not None else None
        if state is not None and head is not None and head.shape[0] != config.num_classes:
            state = drop_classifier(
                state, num_classes=config.num_classes, target=label, prefix=classifier
            )
            fresh = model.get_submodule(classifier).state_dict()
            state.update({f"{classifier}.{k}": v for k, v in fresh.items()})
    if state is not None:
        load_state(model, state, source=source, target=label)
    return model
