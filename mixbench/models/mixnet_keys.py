"""MixNet's checkpoints in timm's layout and in ours: timm splits a grouped 1×1 conv into one
conv per group (``conv_pw.0.weight``, ``conv_pw.1.weight``); the native model keeps one grouped
conv. The MixNet family registers these as its key maps."""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.models.config import MixNetConfig

_TIMM_GROUPED = re.compile(r"^(?P<prefix>.*\.conv_pwl?)\.(?P<index>\d+)\.weight$")


def timm_to_native(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Merge timm's per-group 1×1 convs into grouped-conv weights; other keys pass through
    (so a native state dict is returned unchanged)."""
    parts: dict[str, dict[int, torch.Tensor]] = {}
    for key, value in state_dict.items():
        match = _TIMM_GROUPED.match(key)
        if match:
            parts.setdefault(match["prefix"], {})[int(match["index"])] = value
    converted: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        match = _TIMM_GROUPED.match(key)
        if not match:
            converted[key] = value
            continue
        prefix = match["prefix"]
        if f"{prefix}.weight" in converted:
            continue  # merged when its first part was met
        groups = parts[prefix]
        pieces = [groups.get(i) for i in range(len(groups))]
        shapes = {tuple(p.shape[1:]) for p in pieces if p is not None}
        if any(p is None for p in pieces) or len(shapes) != 1:
            raise InputError(
                f"{prefix}: grouped 1×1 conv parts are uneven or incomplete "
                f"({', '.join(f'{i}: {list(t.shape)}' for i, t in sorted(groups.items()))})",
                hint="mixbench needs equal channel splits; the checkpoint's layout differs",
            )
        converted[f"{prefix}.weight"] = torch.cat(pieces, dim=0)  # type: ignore[arg-type]
    return converted


def pointwise_groups(model_or_config: nn.Module | MixNetConfig) -> dict[str, int]:
    """``{module prefix: groups}`` for every grouped 1×1 conv (groups > 1)."""
    if isinstance(model_or_config, MixNetConfig):
        groups: dict[str, int] = {}
        for si, stage in enumerate(model_or_config.resolve().stages):
            for bi, block in enumerate(stage):
                prefix = f"blocks.{si}.{bi}"
                project = "conv_pwl" if block.expands else "conv_pw"
                if block.expands and block.exp_groups > 1:
                    groups[f"{prefix}.conv_pw"] = block.exp_groups
                if block.poi_groups > 1:
                    groups[f"{prefix}.{project}"] = block.poi_groups
        return groups
    return {
        name: module.groups
        for name, module in model_or_config.named_modules()
        if isinstance(module, nn.Conv2d)
        and name.rsplit(".", 1)[-1] in ("conv_pw", "conv_pwl")
        and module.groups > 1
    }


def native_to_timm(
    state_dict: Mapping[str, torch.Tensor], model_or_config: nn.Module | MixNetConfig
) -> dict[str, torch.Tensor]:
    """Split grouped 1×1 conv weights into timm's per-group keys (inverse of
    :func:`timm_to_native`); the group counts come from ``model_or_config``."""
    groups = pointwise_groups(model_or_config)
    converted: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        prefix = key[: -len(".weight")] if key.endswith(".weight") else None
        if prefix in groups:
            for index, piece in enumerate(value.chunk(groups[prefix], dim=0)):
                converted[f"{prefix}.{index}.weight"] = piece.contiguous()
        else:
            converted[key] = value
    return converted
