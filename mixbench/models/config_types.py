"""MixNet configuration types: the frozen dataclasses and the constants they are checked against.

This is the bottom layer of the config modules (:mod:`mixbench.models.config` documents the
YAML fields): :mod:`~mixbench.models.config_parse` and :mod:`~mixbench.models.config_plan` import
these types, so :class:`MixNetConfig`'s loading and planning methods import them back only when
called, which keeps the modules free of an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAGE_FIELDS = (
    "expansion_ratio",
    "out_channels",
    "num_blocks",
    "kernel_sizes",
    "num_exp_groups",
    "num_poi_groups",
    "stride",
    "act_type",
    "se_reduction_ratio",
)
DEPTH_ROUNDINGS = ("timm", "per_entry")
DEPTH_TRUNCS = ("ceil", "round")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Sanity bounds: far above any MixNet, low enough that arithmetic and allocation stay sane.
MAX_CHANNELS = 16384
MAX_KERNEL = 31
MAX_BLOCKS = 64
MAX_MULTIPLIER = 16.0


@dataclass(frozen=True)
class BlockSpec:
    """One netspresso stage entry: ``num_blocks`` identical MixDepthBlocks (before dep_mul)."""

    expansion_ratio: float
    out_channels: int
    num_blocks: int
    kernel_sizes: tuple[int, ...]
    num_exp_groups: int
    num_poi_groups: int
    stride: int
    act_type: str
    se_reduction_ratio: float | None


@dataclass(frozen=True)
class StageConfig:
    """One ``stage_params`` item: its entries, in order."""

    blocks: tuple[BlockSpec, ...]


@dataclass(frozen=True)
class EvalConfig:
    """Eval preprocessing defaults (timm's pretrained_cfg subset ``mixbench predict`` uses)."""

    input_size: tuple[int, int, int] = (3, 224, 224)
    crop_pct: float = 0.875
    interpolation: str = "bicubic"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    num_classes: int = 1000
    hf_hub_id: str | None = None

    @property
    def image_size(self) -> int:
        """The square input side (224 for every preset)."""
        return self.input_size[-1]

    def as_dict(self) -> dict[str, Any]:
        """timm-style ``pretrained_cfg`` keys."""
        return {
            "input_size": self.input_size,
            "crop_pct": self.crop_pct,
            "interpolation": self.interpolation,
            "mean": self.mean,
            "std": self.std,
            "num_classes": self.num_classes,
            "hf_hub_id": self.hf_hub_id,
        }


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


@dataclass(frozen=True)
class MixNetConfig:
    """A validated MixNet description; build it with :meth:`from_yaml` / :meth:`from_dict`."""

    stages: tuple[StageConfig, ...]
    stem_channels: int
    wid_mul: float = 1.0
    dep_mul: float = 1.0
    dropout_rate: float = 0.0
    drop_path_rate: float = 0.0
    head_channels: int = 1536
    num_classes: int = 1000
    in_chans: int = 3
    stem_act: str = "relu"
    head_act: str = "relu"
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    padding: str = "symmetric"
    channel_divisor: int = 8
    round_limit: float = 0.9
    depth_rounding: str = "timm"
    depth_trunc: str = "ceil"
    name: str | None = None
    eval: EvalConfig = field(default_factory=EvalConfig)
    source: str = field(default="<config>", compare=False)

    # The methods below delegate to config_parse / config_plan, imported at call time because
    # both modules import this one.

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_yaml(cls, path: str | Path) -> MixNetConfig:
        """Read and validate a YAML file; every problem is an :class:`InputError`."""
        from mixbench.models.config_parse import read_yaml

        path = Path(path)
        return cls.from_dict(read_yaml(path), source=path.name)

    @classmethod
    def from_dict(cls, document: Any, *, source: str = "<config>") -> MixNetConfig:
        """Validate a parsed document: the full ``model:`` tree, or just the backbone mapping."""
        from mixbench.models.config_parse import parse_document

        config = cls(**parse_document(document, source=source), source=source)
        config.resolve()  # width/group errors surface at load time, not at build time
        return config

    def to_dict(self) -> dict[str, Any]:
        """The full YAML document (round-trips through :meth:`from_dict`)."""
        from mixbench.models.config_parse import to_document

        return to_document(self)

    def with_overrides(self, **overrides: Any) -> MixNetConfig:
        """A copy with ``params`` fields replaced (timm aliases such as ``drop_rate`` accepted),
        validated like the file itself."""
        from mixbench.models.config_parse import apply_overrides

        return apply_overrides(self, overrides)

    # ------------------------------------------------------------------ resolution

    def round_channels(self, channels: float) -> int:
        """Width after ``wid_mul`` and divisor rounding (timm's round_channels)."""
        from mixbench.models.config_plan import round_channels

        return round_channels(self, channels)

    def resolve(self) -> NetworkPlan:
        """Concrete per-block widths and depths; raises :class:`InputError` for configs that
        are well-typed but cannot be built (groups not dividing widths ...)."""
        from mixbench.models.config_plan import plan_network

        return plan_network(self)
