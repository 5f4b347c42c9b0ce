"""The MixNet classifier and its feature-pyramid variant, built from a :class:`MixNetConfig`,
and the MixNet family's registration (at the bottom)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from mixbench.errors import InputError
from mixbench.models.base import EvalConfig
from mixbench.models.blocks import MixDepthBlock
from mixbench.models.config import MixNetConfig, is_mixnet_document
from mixbench.models.layers import BatchNormAct2d, make_conv
from mixbench.models.mixnet_keys import native_to_timm, timm_to_native
from mixbench.models.plan import FeatureSpec, NetworkPlan
from mixbench.models.registry import ModelFamily, register_family

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; only annotations use it
    from importlib.resources.abc import Traversable


class FeatureInfo:
    """Channels/reduction of the feature maps a model returns (the subset of timm's
    ``FeatureInfo`` API that detection/segmentation code uses)."""

    def __init__(self, specs: Sequence[FeatureSpec], out_indices: Iterable[int]) -> None:
        self.info = [
            {
                "num_chs": spec.num_chs,
                "reduction": spec.reduction,
                "module": spec.module,
                "stage": spec.stage,
                "index": index,
            }
            for index, spec in enumerate(specs)
        ]
        self.out_indices = tuple(out_indices)

    def get(self, key: str, idx: int | Sequence[int] | None = None) -> Any:
        """``key`` for each returned map (``idx=None``), or for the given feature indices."""
        if idx is None:
            return [self.info[i][key] for i in self.out_indices]
        if isinstance(idx, int):
            return self.info[idx][key]
        return [self.info[i][key] for i in idx]

    def channels(self, idx: int | Sequence[int] | None = None) -> Any:
        return self.get("num_chs", idx)

    def reduction(self, idx: int | Sequence[int] | None = None) -> Any:
        return self.get("reduction", idx)

    def module_name(self, idx: int | Sequence[int] | None = None) -> Any:
        return self.get("module", idx)

    def get_dicts(self) -> list[dict[str, Any]]:
        return [dict(self.info[i]) for i in self.out_indices]

    def __len__(self) -> int:
        return len(self.info)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.info[index]

    def __repr__(self) -> str:
        return f"FeatureInfo(channels={self.channels()}, reduction={self.reduction()})"


def init_weights(model: nn.Module) -> None:
    """Google's MnasNet/EfficientNet initialisation: conv normal(0, sqrt(2 / fan_out)) with the
    fan-out taken per group, BN identity, linear uniform(±1/sqrt(out_features))."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
            fan_out //= module.groups
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.out_features)
            nn.init.uniform_(module.weight, -bound, bound)
            nn.init.zeros_(module.bias)


class _Trunk(nn.Module):
    """Stem and MixDepthBlock stages, shared by the classifier and the feature extractor."""

    eval_config: EvalConfig  # set by subclasses: what `mixbench predict` preprocesses with

    def __init__(self, config: MixNetConfig, plan: NetworkPlan) -> None:
        super().__init__()
        self.config = config
        self.plan = plan
        self.conv_stem = make_conv(
            config.in_chans, plan.stem_chs, 3, stride=2, padding=config.padding
        )
        self.bn1 = BatchNormAct2d(
            plan.stem_chs, eps=config.bn_eps, momentum=config.bn_momentum, act_type=config.stem_act
        )
        total = len(plan.blocks)
        stages: list[nn.Sequential] = []
        index = 0
        for stage in plan.stages:
            blocks = []
            for block in stage:
                # stochastic depth grows linearly with depth, as in EfficientNet training
                rate = config.drop_path_rate * index / total
                blocks.append(
                    MixDepthBlock(
                        block,
                        padding=config.padding,
                        bn_eps=config.bn_eps,
                        bn_momentum=config.bn_momentum,
                        drop_path_rate=rate,
                    )
                )
                index += 1
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)

    @property
    def pretrained_cfg(self) -> dict[str, Any]:
        """timm-style dict of the eval defaults (also as ``default_cfg``)."""
        return self.eval_config.as_dict()

    @property
    def default_cfg(self) -> dict[str, Any]:
        return self.pretrained_cfg


class MixNet(_Trunk):
    """MixNet image classifier; ``state_dict`` keys follow timm's ``EfficientNet`` except the
    grouped 1×1 convs (see :mod:`mixbench.models.weights`)."""

    def __init__(self, config: MixNetConfig) -> None:
        plan = config.resolve()
        super().__init__(config, plan)
        last_chs = plan.blocks[-1].out_chs
        self.conv_head = make_conv(last_chs, plan.head_chs, 1, padding=config.padding)
        self.bn2 = BatchNormAct2d(
            plan.head_chs, eps=config.bn_eps, momentum=config.bn_momentum, act_type=config.head_act
        )
        self.num_features = plan.head_chs
        self.drop_rate = config.dropout_rate
        self.num_classes = config.num_classes
        self.classifier = self._make_classifier(config.num_classes)
        self.feature_info = FeatureInfo(plan.features, range(len(plan.features)))
        self.eval_config = replace(config.eval, num_classes=config.num_classes)
        init_weights(self)

    def _make_classifier(self, num_classes: int) -> nn.Module:
        return nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def get_classifier(self) -> nn.Module:
        return self.classifier

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one (0: pooled features out)."""
        self.num_classes = num_classes
        self.classifier = self._make_classifier(num_classes)
        init_weights(self.classifier)
        self.eval_config = replace(self.eval_config, num_classes=num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.conv_stem(x))
        x = self.blocks(x)
        return self.bn2(self.conv_head(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        # adaptive_avg_pool2d rather than mean(): same numbers, and fvcore counts it as it does
        # for timm, so our complexity figures line up with timm's
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        if self.drop_rate > 0.0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x if pre_logits else self.classifier(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def normalize_out_indices(out_indices: Any, count: int) -> tuple[int, ...]:
    """timm's conventions: ``None`` → all, an int n → the last n, a sequence → those indices
    (negative from the end). Returned ascending: maps always come out shallow to deep."""
    if out_indices is None:
        return tuple(range(count))
    hint = f"the model has {count} feature maps: use indices 0..{count - 1} (or negative)"
    if isinstance(out_indices, int) and not isinstance(out_indices, bool):
        if not 1 <= out_indices <= count:
            raise InputError(
                f"out_indices={out_indices}: cannot take the last {out_indices}", hint=hint
            )
        return tuple(range(count - out_indices, count))
    if not isinstance(out_indices, (list, tuple)) or not out_indices:
        raise InputError(
            f"out_indices={out_indices!r}: expected a non-empty list of ints", hint=hint
        )
    chosen: set[int] = set()
    for value in out_indices:
        if isinstance(value, bool) or not isinstance(value, int) or not -count <= value < count:
            raise InputError(
                f"out_indices={list(out_indices)!r}: {value!r} is not a valid index", hint=hint
            )
        absolute = value % count
        if absolute in chosen:
            raise InputError(
                f"out_indices={list(out_indices)!r}: index {value} repeats",
                hint="name each feature map once",
            )
        chosen.add(absolute)
    return tuple(sorted(chosen))


class MixNetFeatures(_Trunk):
    """The trunk alone, returning the feature maps selected by ``out_indices``.

    Its keys are the classifier's minus ``conv_head``/``bn2``/``classifier``, the same as timm's
    ``features_only`` model; outputs equal timm's for the same weights.
    """

    def __init__(self, config: MixNetConfig, out_indices: Any = None) -> None:
        plan = config.resolve()
        super().__init__(config, plan)
        indices = normalize_out_indices(out_indices, len(plan.features))
        self.feature_info = FeatureInfo(plan.features, indices)
        self.eval_config = replace(config.eval, num_classes=0)
        # tap positions: 0 is the stem, i + 1 the end of blocks[i]
        self._taps = {plan.features[i].stage for i in indices}
        self._last_tap = max(self._taps)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.bn1(self.conv_stem(x))
        features = [x] if 0 in self._taps else []
        for position, stage in enumerate(self.blocks, start=1):
            if position > self._last_tap:
                break  # deeper stages feed no requested map
            x = stage(x)
            if position in self._taps:
                features.append(x)
        return features


# ------------------------------------------------------------------------------ the family


def build_mixnet(
    config: MixNetConfig, *, features_only: bool = False, out_indices: Any = None
) -> nn.Module:
    """The classifier, or with ``features_only`` the feature extractor."""
    return MixNetFeatures(config, out_indices) if features_only else MixNet(config)


def conv_norm_pairs(module: nn.Module) -> Iterator[tuple[str, str]]:
    """``(conv, BatchNorm)`` attribute pairs of ``module`` whose BN directly follows the conv:
    what :func:`~mixbench.models.optimize.optimize` folds."""
    if isinstance(module, MixDepthBlock):
        yield from (
            [("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")]
            if module.expands
            else [("conv_dw", "bn1"), ("conv_pw", "bn2")]
        )
    for conv, norm in (("conv_stem", "bn1"), ("conv_head", "bn2")):
        if isinstance(getattr(module, norm, None), BatchNormAct2d) and hasattr(module, conv):
            yield conv, norm


def _preset_dir() -> Traversable:
    # importlib.resources finds the YAML inside an installed wheel as well as in a checkout
    return resources.files("mixbench.models").joinpath("presets")


MIXNET = register_family(
    ModelFamily(
        name="mixnet",
        build=build_mixnet,
        parse=MixNetConfig.from_dict,
        recognizes=is_mixnet_document,
        preset_dir=_preset_dir(),
        timm_to_native=timm_to_native,
        native_to_timm=native_to_timm,
        classifier="classifier",
        # checkpoint keys a feature extractor has no use for
        head_prefixes=("conv_head.", "bn2.", "classifier."),
        conv_norm_pairs=conv_norm_pairs,
    )
)
