"""Config → network plan: channel rounding, depth scaling and timm's stage layout.

Pure functions, no modules and no YAML: :func:`plan_network` turns a validated config into the
concrete per-block widths, depths and feature taps that :mod:`~mixbench.models.mixnet` builds
(timm's ``_efficientnet_builder``: architecture as data, decoded once). Planning also finishes
validation: group counts and SE widths can only be checked once widths are rounded, so
:meth:`MixNetConfig.from_dict <mixbench.models.config.MixNetConfig.from_dict>` plans every
config it loads.

This module reads a config through :class:`NetworkSpec`, the fields planning needs, rather than
importing :mod:`~mixbench.models.config` (which imports this one to plan at load time):
:class:`~mixbench.models.config.MixNetConfig` is a :class:`NetworkSpec` and its
:class:`~mixbench.models.config.BlockSpec` entries are :class:`EntrySpec`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from mixbench.models.values import MAX_CHANNELS, Source

# ------------------------------------------------------------------------------ what is read


class EntrySpec(Protocol):
    """One YAML stage entry: ``num_blocks`` identical blocks before ``dep_mul``."""

    @property
    def expansion_ratio(self) -> float: ...
    @property
    def out_channels(self) -> int: ...
    @property
    def num_blocks(self) -> int: ...
    @property
    def kernel_sizes(self) -> tuple[int, ...]: ...
    @property
    def num_exp_groups(self) -> int: ...
    @property
    def num_poi_groups(self) -> int: ...
    @property
    def stride(self) -> int: ...
    @property
    def act_type(self) -> str: ...
    @property
    def se_reduction_ratio(self) -> float | None: ...


class StageSpec(Protocol):
    """One ``stage_params`` item: its entries, in order."""

    @property
    def blocks(self) -> Sequence[EntrySpec]: ...


class NetworkSpec(Protocol):
    """The config fields planning reads; ``source`` names the file in errors, ``origin``
    (when the config was read from a file) also its lines."""

    @property
    def source(self) -> str: ...
    @property
    def origin(self) -> Source | None: ...
    @property
    def stages(self) -> Sequence[StageSpec]: ...
    @property
    def stem_channels(self) -> int: ...
    @property
    def head_channels(self) -> int: ...
    @property
    def wid_mul(self) -> float: ...
    @property
    def channel_divisor(self) -> int: ...
    @property
    def round_limit(self) -> float: ...
    @property
    def dep_mul(self) -> float: ...
    @property
    def depth_rounding(self) -> str: ...
    @property
    def depth_trunc(self) -> str: ...


# ------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class BlockPlan:
    """One concrete block after width/depth scaling; ``stage_index``/``entry_index`` locate
    the YAML entry it came from."""

    stage_index: int
    entry_index: int
    in_chs: int
    mid_chs: int
    out_chs: int
    expands: bool
    kernel_sizes: tuple[int, ...]
    exp_groups: int
    poi_groups: int
    stride: int
    act_type: str
    se_channels: int | None

    @property
    def has_skip(self) -> bool:
        return self.stride == 1 and self.in_chs == self.out_chs


@dataclass(frozen=True)
class FeatureSpec:
    """One feature map ``features_only`` can return (timm's feature_info entry)."""

    num_chs: int
    reduction: int
    module: str
    stage: int


@dataclass(frozen=True)
class NetworkPlan:
    """The network a config describes, in timm's stage layout."""

    stem_chs: int
    stages: tuple[tuple[BlockPlan, ...], ...]
    head_chs: int
    features: tuple[FeatureSpec, ...]

    @property
    def blocks(self) -> list[BlockPlan]:
        return [block for stage in self.stages for block in stage]


# ------------------------------------------------------------------------------ planning


def make_divisible(value: float, divisor: int = 8, round_limit: float = 0.9) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``divisor``).

    If rounding down lost more than ``1 - round_limit`` of the value, go one multiple up: this
    is the channel rule of the MnasNet/EfficientNet/MixNet reference code, kept bit-exact.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded


def round_channels(config: NetworkSpec, channels: float) -> int:
    """Width after ``wid_mul`` and divisor rounding (timm's round_channels)."""
    return make_divisible(channels * config.wid_mul, config.channel_divisor, config.round_limit)


def plan_network(config: NetworkSpec) -> NetworkPlan:
    """Concrete per-block widths and depths; raises :class:`InputError` for configs that
    are well-typed but cannot be built (groups not dividing widths ...)."""
    src = config.origin or Source(config.source)
    entries = [
        (si, ei, spec)
        for si, stage in enumerate(config.stages)
        for ei, spec in enumerate(stage.blocks)
    ]
    runs = _timm_runs(entries)
    stem_chs = round_channels(config, config.stem_channels)
    in_chs = stem_chs
    stages: list[tuple[BlockPlan, ...]] = []
    for run in runs:
        repeats = _scaled_repeats(config, [spec.num_blocks for _, _, spec in run])
        blocks: list[BlockPlan] = []
        for (si, ei, spec), count in zip(run, repeats, strict=True):
            for index in range(count):
                block = _plan_block(config, src, si, ei, spec, in_chs, first=index == 0)
                blocks.append(block)
                in_chs = block.out_chs
        stages.append(tuple(blocks))
    plan_stages = tuple(stages)
    return NetworkPlan(
        stem_chs=stem_chs,
        stages=plan_stages,
        head_chs=config.head_channels,
        features=_feature_specs(stem_chs, plan_stages),
    )


def _scaled_repeats(config: NetworkSpec, repeats: list[int]) -> list[int]:
    if config.depth_rounding == "per_entry":
        # netspresso-trainer: ceil each entry on its own
        return [math.ceil(n * config.dep_mul) for n in repeats]
    return _scale_run_depth(repeats, config.dep_mul, config.depth_trunc)


def _plan_block(
    config: NetworkSpec,
    src: Source,
    si: int,
    ei: int,
    spec: EntrySpec,
    in_chs: int,
    *,
    first: bool,
) -> BlockPlan:
    def where(name: str) -> str:
        return f"stage_params[{si}].{name}[{ei}]"

    out_chs = round_channels(config, spec.out_channels)
    expands = spec.expansion_ratio != 1
    mid_chs = (
        make_divisible(in_chs * spec.expansion_ratio, config.channel_divisor, config.round_limit)
        if expands
        else in_chs
    )
    for label, count in (("expanded", mid_chs), ("output", out_chs)):
        if count > MAX_CHANNELS:
            src.fail(
                where("out_channels" if label == "output" else "expansion_ratio"),
                f"block would have {count} {label} channels (limit {MAX_CHANNELS})",
                "lower wid_mul, out_channels or expansion_ratio",
            )
    if len(spec.kernel_sizes) > mid_chs:
        src.fail(
            where("kernel_sizes"),
            f"{len(spec.kernel_sizes)} kernel groups for only {mid_chs} channels",
            "use fewer kernel sizes than the block has channels",
        )
    if expands:
        _check_groups(
            src,
            where("num_exp_groups"),
            spec.num_exp_groups,
            (("input", in_chs), ("expanded", mid_chs)),
        )
    _check_groups(
        src,
        where("num_poi_groups"),
        spec.num_poi_groups,
        (("expanded", mid_chs), ("output", out_chs)),
    )
    se_channels = None
    if spec.se_reduction_ratio is not None:
        # timm's rule: SE width from the block input, i.e. mid * (1/r) / expansion
        ratio = (1.0 / spec.se_reduction_ratio) / float(spec.expansion_ratio)
        se_channels = round(mid_chs * ratio)
        if not 1 <= se_channels <= MAX_CHANNELS:
            src.fail(
                where("se_reduction_ratio"),
                f"ratio {spec.se_reduction_ratio:g} gives {se_channels} squeeze channels "
                f"for a {in_chs}-channel block input",
                "use a ratio no larger than the block's input channels (e.g. 2 or 4)",
            )
    return BlockPlan(
        stage_index=si,
        entry_index=ei,
        in_chs=in_chs,
        mid_chs=mid_chs,
        out_chs=out_chs,
        expands=expands,
        kernel_sizes=spec.kernel_sizes,
        exp_groups=spec.num_exp_groups,
        poi_groups=spec.num_poi_groups,
        stride=spec.stride if first else 1,
        act_type=spec.act_type,
        se_channels=se_channels,
    )


def _check_groups(src: Source, path: str, groups: int, widths: tuple[tuple[str, int], ...]) -> None:
    for label, channels in widths:
        if channels % groups:
            src.fail(
                path,
                f"{groups} groups do not divide the block's {channels} {label} channels",
                "choose a group count that divides the (wid_mul-rounded) widths, e.g. 1 or 2",
            )


def _timm_runs(
    entries: list[tuple[int, int, EntrySpec]],
) -> list[list[tuple[int, int, EntrySpec]]]:
    """Group entries as timm's stages: a new run at each width change or stride-2 entry."""
    runs: list[list[tuple[int, int, EntrySpec]]] = []
    for entry in entries:
        spec = entry[2]
        if not runs or spec.stride > 1 or spec.out_channels != runs[-1][-1][2].out_channels:
            runs.append([entry])
        else:
            runs[-1].append(entry)
    return runs


def _scale_run_depth(repeats: list[int], multiplier: float, trunc: str) -> list[int]:
    """Scale a run's total block count, then share it back out over its entries.

    Shares are assigned from the last entry backwards so the first (usually strided) entry is
    the last to grow: the EfficientNet/MixNet reference scaling, kept bit-exact.
    """
    total = sum(repeats)
    if trunc == "round":
        target = max(1, round(total * multiplier))
    else:
        target = math.ceil(total * multiplier)
    scaled: list[int] = []
    for count in reversed(repeats):
        share = max(1, round(count / total * target))
        scaled.append(share)
        total -= count
        target -= share
    return scaled[::-1]


def _feature_specs(
    stem_chs: int, stages: tuple[tuple[BlockPlan, ...], ...]
) -> tuple[FeatureSpec, ...]:
    """timm's bottleneck taps: the end of every run followed by a downsampling run (or the
    last run), plus the stem if the first block already downsamples."""
    features: list[FeatureSpec] = []
    reduction = 2
    if stages and stages[0][0].stride > 1:
        features.append(FeatureSpec(stem_chs, reduction, "bn1", 0))
    for index, stage in enumerate(stages):
        for block in stage:
            reduction *= block.stride
        is_last = index + 1 == len(stages)
        if is_last or stages[index + 1][0].stride > 1:
            features.append(FeatureSpec(stage[-1].out_chs, reduction, f"blocks.{index}", index + 1))
    return tuple(features)
