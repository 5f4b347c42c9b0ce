"""MixNet configuration: netspresso-trainer's YAML format plus mixbench's timm-parity fields.

The document::

    model:
      name: mixnet_s                      # optional label
      pretrained:                         # optional (mixbench): default weights, timm's naming
        hf_hub_id: timm/mixnet_s.ft_in1k
      eval:                               # optional (mixbench): eval preprocessing defaults
        input_size: [3, 224, 224]
        crop_pct: 0.875
        interpolation: bicubic
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
      architecture:
        backbone:
          name: mixnet
          params: {stem_channels, wid_mul, dep_mul, dropout_rate, ...extensions below}
          stage_params: [{expansion_ratio: [...], out_channels: [...], ...}, ...]

Only ``model.architecture.backbone`` (and the two optional mixbench sections) is read; other
netspresso sections (``task``, ``checkpoint``, ``architecture.head``, ``postprocessor`` ...) are
ignored. Unknown keys inside ``params``, a stage or the mixbench sections are refused, since a
typo there would silently change the network.

``params`` extensions (defaults reproduce timm's ``mixnet_*``):

==================  ===========  ==========================================================
field               default      meaning
==================  ===========  ==========================================================
head_channels       1536         width of the final 1×1 conv before pooling
num_classes         1000         classifier outputs (0: no classifier, pooled features out)
in_chans            3            input channels
stem_act, head_act  relu         activations after the stem conv and the head conv
bn_eps              1.0e-5       BatchNorm eps (the tf_ ports use 1.0e-3)
bn_momentum         0.1          BatchNorm momentum, PyTorch convention
padding             symmetric    ``symmetric`` (PyTorch) or ``same`` (TensorFlow, dynamic)
channel_divisor     8            channels are rounded to multiples of this after wid_mul
round_limit         0.9          ... going one multiple up if rounding lost more than 10%
depth_rounding      timm         ``timm``: scale each run of same-width blocks as a whole;
                                 ``per_entry``: netspresso's ceil(num_blocks * dep_mul)
depth_trunc         ceil         timm mode only: ``ceil`` (timm's mixnet_s) or ``round``
                                 (timm's mixnet_m/l/xl) on the run total
drop_path_rate      0.0          stochastic depth, linearly increasing over blocks
==================  ===========  ==========================================================

``dropout_rate`` is the dropout before the classifier (timm's ``drop_rate``).

Stages. netspresso groups its entries into ``stage_params`` freely; timm's ``blocks.i`` are runs
of consecutive blocks with the same output width, a new run also starting at any stride-2
entry. The network is built from those runs, so timm's ``blocks.i.j`` state_dict keys come out
whatever the YAML grouping; the YAML grouping only locates errors.

Differences from netspresso-trainer's own MixNet (``backbones/experimental/mixnet.py``), all
deliberate, to match timm and the published weights:

* SE width: timm ``round(mid * (1/r) / expansion)`` vs netspresso ``int(in / r)``; SE exists
  for any ratio given (netspresso silently drops it for ratios <= 1).
* Expanded width ``make_divisible(in * expansion)`` vs netspresso's unrounded ``in * t``; and
  channels are rounded even at ``wid_mul: 1.0`` (netspresso skips rounding then). Identical
  for the shipped s/m/l configs, whose widths are multiples of 8.
* BatchNorm eps/momentum 1e-5/0.1 (timm) vs netspresso's 1e-3/0.01 inside blocks.
* MixConv splits give the remainder to the first group (netspresso requires equal chunks).
* Depth: timm scales each run's total (see ``depth_rounding``); netspresso ceils each entry.
* ``dropout_rate``: netspresso also applies dropout2d on every residual while training;
  here it is only the classifier dropout, stochastic depth being ``drop_path_rate``.
* Feature maps: netspresso returns one map per YAML stage (the last after the 1536 head
  conv); mixbench returns timm's five maps (strides 2, 4, 8, 16, 32).

The three netspresso example configs (MixNet-s/m/l) match timm's block definitions field for
field (kernel sizes, exp/poi groups, SE ratios, strides, activations); checked in the tests.

This module holds the typed config and the parsing, both ways (YAML/dict → config → YAML);
it imports no ``torch``. :mod:`~mixbench.models.plan` turns a config into per-block widths and
depths (the config plans itself once at load time, to finish validation), and
:mod:`~mixbench.models.values` holds the typed value readers both use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixbench.errors import InputError
from mixbench.index.values import INTERPOLATIONS
from mixbench.models import plan
from mixbench.models.base import EvalConfig
from mixbench.models.documents import LocatedMapping, read_yaml
from mixbench.models.values import (
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_KERNEL,
    MAX_MULTIPLIER,
    Source,
    as_choice,
    as_float,
    as_int,
    as_list,
    as_mapping,
    describe,
    join_path,
    refuse_unknown,
)

__all__ = [
    "ACT_TYPES",
    "BACKBONE_NAME",
    "DEPTH_ROUNDINGS",
    "DEPTH_TRUNCS",
    "MAX_BLOCKS",
    "MAX_CHANNELS",
    "MAX_KERNEL",
    "MAX_MULTIPLIER",
    "OVERRIDE_ALIASES",
    "PADDINGS",
    "PARAM_FIELDS",
    "STAGE_FIELDS",
    "BlockSpec",
    "EvalConfig",
    "LocatedMapping",
    "MixNetConfig",
    "StageConfig",
    "apply_overrides",
    "is_mixnet_document",
    "parse_document",
    "read_yaml",
    "to_document",
]

#: ``model.architecture.backbone.name`` of a MixNet document.
BACKBONE_NAME = "mixnet"
#: ``act_type`` / ``stem_act`` / ``head_act`` names (netspresso-trainer's; ``swish`` is SiLU).
#: :data:`mixbench.models.layers.ACTIVATIONS` implements each of them.
ACT_TYPES = ("relu", "relu6", "leaky_relu", "prelu", "gelu", "silu", "swish", "hard_swish")
#: ``padding`` values: PyTorch-style symmetric padding, or TensorFlow "SAME" (the tf_ ports).
PADDINGS = ("symmetric", "same")

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
    #: where the values were read, so that planning errors name the file's line too
    origin: Source | None = field(default=None, compare=False, repr=False)

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_yaml(cls, path: str | Path) -> MixNetConfig:
        """Read and validate a YAML file; every problem is an :class:`InputError`."""
        path = Path(path)
        return cls.from_dict(read_yaml(path), source=path.name)

    @classmethod
    def from_dict(
        cls,
        document: Any,
        *,
        source: str = "<config>",
        lines: Mapping[tuple[Any, ...], int] | None = None,
    ) -> MixNetConfig:
        """Validate a parsed document: the full ``model:`` tree, or just the backbone mapping.

        ``lines`` (value path → line, as :func:`read_yaml` records them; a
        :class:`LocatedMapping` brings its own) puts ``file:line:`` in front of errors."""
        config = cls(**parse_document(document, source=source, lines=lines), source=source)
        config.resolve()  # width/group errors surface at load time, not at build time
        return config

    def to_dict(self) -> dict[str, Any]:
        """The full YAML document (round-trips through :meth:`from_dict`)."""
        return to_document(self)

    def with_overrides(self, **overrides: Any) -> MixNetConfig:
        """A copy with ``params`` fields replaced (timm aliases such as ``drop_rate`` accepted),
        validated like the file itself."""
        return apply_overrides(self, overrides)

    # ------------------------------------------------------------------ resolution

    def round_channels(self, channels: float) -> int:
        """Width after ``wid_mul`` and divisor rounding (timm's round_channels)."""
        return plan.round_channels(self, channels)

    def resolve(self) -> plan.NetworkPlan:
        """Concrete per-block widths and depths; raises :class:`InputError` for configs that
        are well-typed but cannot be built (groups not dividing widths ...)."""
        return plan.plan_network(self)


# ------------------------------------------------------------------ parsing


#: create_model(**overrides) aliases, in timm's vocabulary, for ``params`` fields.
OVERRIDE_ALIASES = {
    "drop_rate": "dropout_rate",
    "channel_multiplier": "wid_mul",
    "depth_multiplier": "dep_mul",
    "num_features": "head_channels",
}


# (parser, default) for each ``params`` field; ``None`` default → required.
def _param_specs() -> dict[str, tuple[Any, Any]]:
    def integer(minimum: int, maximum: int) -> Any:
        return lambda s, p, v: as_int(s, p, v, minimum=minimum, maximum=maximum)

    def number(minimum: float, maximum: float, **kw: bool) -> Any:
        return lambda s, p, v: as_float(s, p, v, minimum=minimum, maximum=maximum, **kw)

    def choice(options: tuple[str, ...] | list[str]) -> Any:
        return lambda s, p, v: as_choice(s, p, v, options)

    acts = sorted(ACT_TYPES)
    return {
        "stem_channels": (integer(1, MAX_CHANNELS), None),
        "wid_mul": (number(0.0, MAX_MULTIPLIER, min_inclusive=False), 1.0),
        "dep_mul": (number(0.0, MAX_MULTIPLIER, min_inclusive=False), 1.0),
        "dropout_rate": (number(0.0, 1.0, max_inclusive=False), 0.0),
        "drop_path_rate": (number(0.0, 1.0, max_inclusive=False), 0.0),
        "head_channels": (integer(1, MAX_CHANNELS), 1536),
        "num_classes": (integer(0, 1_000_000), 1000),
        "in_chans": (integer(1, 64), 3),
        "stem_act": (choice(acts), "relu"),
        "head_act": (choice(acts), "relu"),
        "bn_eps": (number(0.0, 1.0, min_inclusive=False), 1e-5),
        "bn_momentum": (number(0.0, 1.0), 0.1),
        "padding": (choice(PADDINGS), "symmetric"),
        "channel_divisor": (integer(1, 256), 8),
        "round_limit": (number(0.0, 1.0), 0.9),
        "depth_rounding": (choice(DEPTH_ROUNDINGS), "timm"),
        "depth_trunc": (choice(DEPTH_TRUNCS), "ceil"),
    }


PARAM_FIELDS = tuple(_param_specs())


def is_mixnet_document(document: Any) -> bool:
    """Whether a parsed document names the MixNet backbone (``name: mixnet``), as the full
    ``model:`` tree or the bare backbone mapping; how the model registry recognises a MixNet
    YAML. Lenient: a malformed document is simply not recognised."""
    if not isinstance(document, Mapping):
        return False
    backbone: Any = document
    if "model" in document:
        model = document["model"]
        architecture = model.get("architecture") if isinstance(model, Mapping) else None
        backbone = architecture.get("backbone") if isinstance(architecture, Mapping) else None
    return isinstance(backbone, Mapping) and backbone.get("name") == BACKBONE_NAME


def parse_document(
    document: Any, *, source: str, lines: Mapping[tuple[Any, ...], int] | None = None
) -> dict[str, Any]:
    """:class:`MixNetConfig` keyword arguments (all but ``source``) from a parsed document: the
    full ``model:`` tree, or just the backbone mapping. Not yet resolved: the caller builds the
    config and plans it, which finishes validation. ``lines`` (default: a
    :class:`LocatedMapping`'s own) locates errors at ``file:line``."""
    if lines is None and isinstance(document, LocatedMapping):
        lines = document.lines
    roots = None
    if isinstance(document, Mapping) and "model" in document:
        # backbone fields are named relative to the backbone, as netspresso's docs do
        roots = {name: f"model.architecture.backbone.{name}" for name in ("params", "stage_params")}
    src = Source(source, lines, roots=roots)
    document = as_mapping(src, "", document)
    model: Mapping[str, Any] = {}
    if "model" in document:
        model = as_mapping(src, "model", document["model"])
        if "architecture" not in model:
            src.fail("model.architecture", "missing", "add `architecture: backbone: ...`")
        arch = as_mapping(src, "model.architecture", model["architecture"])
        if "backbone" not in arch:
            src.fail("model.architecture.backbone", "missing", "add the MixNet backbone")
        backbone_path = "model.architecture.backbone"
        backbone = as_mapping(src, backbone_path, arch["backbone"])
    elif "stage_params" in document:
        backbone_path, backbone = "", document
    else:
        src.fail(
            "model",
            "missing: expected `model: architecture: backbone:`",
            "see netspresso-trainer's MixNet config format",
        )

    name_path = join_path(backbone_path, "name")
    if backbone.get("name") != BACKBONE_NAME:
        src.fail(
            name_path,
            f"expected {BACKBONE_NAME!r}, got {describe(backbone.get('name'))}",
            f"set `name: {BACKBONE_NAME}`",
        )
    refuse_unknown(src, backbone_path, backbone, ("name", "params", "stage_params"))

    params_path = "params"
    if "params" not in backbone:
        src.fail(params_path, "missing required section", "add `params: {stem_channels: 16}`")
    params = _parse_params(src, params_path, backbone["params"])
    stages = _parse_stages(src, "stage_params", backbone.get("stage_params"))
    model_name = model.get("name")
    if model_name is not None and not isinstance(model_name, str):
        src.fail("model.name", f"expected text, got {describe(model_name)}", "write a name")
    eval_cfg = _parse_eval(
        src, model, num_classes=params["num_classes"], in_chans=params["in_chans"]
    )
    return {"stages": stages, "name": model_name, "eval": eval_cfg, "origin": src, **params}


def to_document(config: MixNetConfig) -> dict[str, Any]:
    """The full YAML document (round-trips through :meth:`MixNetConfig.from_dict`)."""
    params = {name: getattr(config, name) for name in PARAM_FIELDS}
    stage_params = []
    for stage in config.stages:
        entry: dict[str, list[Any]] = {name: [] for name in STAGE_FIELDS}
        for block in stage.blocks:
            for name in STAGE_FIELDS:
                value = getattr(block, name)
                entry[name].append(list(value) if isinstance(value, tuple) else value)
        stage_params.append(entry)
    model: dict[str, Any] = {}
    if config.name is not None:
        model["name"] = config.name
    if config.eval.hf_hub_id is not None:
        model["pretrained"] = {"hf_hub_id": config.eval.hf_hub_id}
    model["eval"] = {
        "input_size": list(config.eval.input_size),
        "crop_pct": config.eval.crop_pct,
        "interpolation": config.eval.interpolation,
        "mean": list(config.eval.mean),
        "std": list(config.eval.std),
    }
    model["architecture"] = {
        "backbone": {"name": BACKBONE_NAME, "params": params, "stage_params": stage_params}
    }
    return {"model": model}


def apply_overrides(config: MixNetConfig, overrides: Mapping[str, Any]) -> MixNetConfig:
    """A copy of ``config`` with ``params`` fields replaced (timm aliases such as ``drop_rate``
    accepted), validated like the file itself."""
    if not overrides:
        return config
    document = to_document(config)
    params = document["model"]["architecture"]["backbone"]["params"]
    for key, value in overrides.items():
        target = OVERRIDE_ALIASES.get(key, key)
        if target not in PARAM_FIELDS:
            raise InputError(
                f"{config.source}: unknown override {key!r}",
                hint=f"overridable fields: {', '.join(PARAM_FIELDS + tuple(OVERRIDE_ALIASES))}",
            )
        params[target] = value
    return MixNetConfig.from_dict(document, source=f"{config.source} (with overrides)")


def _parse_params(src: Source, path: str, value: Any) -> dict[str, Any]:
    params = as_mapping(src, path, value)
    specs = _param_specs()
    refuse_unknown(src, path, params, specs)
    parsed: dict[str, Any] = {}
    for name, (parser, default) in specs.items():
        if name in params and params[name] is not None:
            parsed[name] = parser(src, f"{path}.{name}", params[name])
        elif default is None:
            src.fail(f"{path}.{name}", "missing required field", f"add `{name}:` to params")
        else:
            parsed[name] = default
    return parsed


def _parse_stages(src: Source, path: str, value: Any) -> tuple[StageConfig, ...]:
    if value is None:
        src.fail(path, "missing required field", "list the stages under `stage_params:`")
    items = as_list(src, path, value)
    if not items:
        src.fail(path, "no stages", "give at least one stage")
    return tuple(_parse_stage(src, f"stage_params[{i}]", item) for i, item in enumerate(items))


def _parse_stage(src: Source, path: str, value: Any) -> StageConfig:
    stage = as_mapping(src, path, value)
    refuse_unknown(src, path, stage, STAGE_FIELDS)
    columns: dict[str, list[Any]] = {}
    for name in STAGE_FIELDS:
        if name not in stage:
            src.fail(
                f"{path}.{name}",
                "missing required field",
                f"every stage lists all of: {', '.join(STAGE_FIELDS)}",
            )
        columns[name] = as_list(src, f"{path}.{name}", stage[name])
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        shortest = min(lengths, key=lambda n: lengths[n])
        longest = max(lengths, key=lambda n: lengths[n])
        src.fail(
            path,
            f"field lists disagree in length ({longest} has {lengths[longest]} entries, "
            f"{shortest} has {lengths[shortest]})",
            "give every field one value per block entry (netspresso-trainer would silently "
            "drop the extra entries; mixbench refuses)",
        )
    if not lengths["out_channels"]:
        src.fail(path, "stage has no block entries", "give at least one entry per field")
    blocks = tuple(
        _parse_entry(src, path, index, {name: columns[name][index] for name in STAGE_FIELDS})
        for index in range(lengths["out_channels"])
    )
    return StageConfig(blocks=blocks)


def _parse_entry(src: Source, path: str, index: int, raw: dict[str, Any]) -> BlockSpec:
    def at(name: str) -> str:
        return f"{path}.{name}[{index}]"

    kernels_raw = raw["kernel_sizes"]
    if isinstance(kernels_raw, int) and not isinstance(kernels_raw, bool):
        kernels_raw = [kernels_raw]  # a bare `3` means a single 3×3 kernel
    kernels_raw = as_list(src, at("kernel_sizes"), kernels_raw)
    if not kernels_raw:
        src.fail(at("kernel_sizes"), "no kernel sizes", "give at least one, e.g. [3]")
    kernels = []
    k_path = at("kernel_sizes")  # errors name the block entry; the message names the kernel
    odd = "MixConv kernels must be odd, e.g. 3, 5, 7"
    for k in kernels_raw:
        size = as_int(src, k_path, k, minimum=-(2**31), maximum=2**31)
        if size <= 0:
            src.fail(
                k_path,
                f"kernel size {size} is not positive ({odd})",
                "use odd sizes such as 3, 5, 7, 9, 11",
            )
        if size % 2 == 0:
            src.fail(
                k_path,
                f"kernel size {size} is even ({odd})",
                "use odd sizes such as 3, 5, 7, 9, 11",
            )
        if size > MAX_KERNEL:
            src.fail(
                k_path,
                f"kernel size {size} is too large (limit {MAX_KERNEL})",
                "use kernels such as 3, 5, 7, 9, 11",
            )
        kernels.append(size)

    se_raw = raw["se_reduction_ratio"]
    se_ratio = None
    if se_raw is not None:
        se_ratio = as_float(
            src,
            at("se_reduction_ratio"),
            se_raw,
            minimum=0.0,
            maximum=float(MAX_CHANNELS),
            min_inclusive=False,
        )
    return BlockSpec(
        expansion_ratio=as_float(
            src,
            at("expansion_ratio"),
            raw["expansion_ratio"],
            minimum=0.0,
            maximum=64.0,
            min_inclusive=False,
        ),
        out_channels=as_int(
            src, at("out_channels"), raw["out_channels"], minimum=1, maximum=MAX_CHANNELS
        ),
        num_blocks=as_int(src, at("num_blocks"), raw["num_blocks"], minimum=1, maximum=MAX_BLOCKS),
        kernel_sizes=tuple(kernels),
        num_exp_groups=as_int(
            src, at("num_exp_groups"), raw["num_exp_groups"], minimum=1, maximum=MAX_CHANNELS
        ),
        num_poi_groups=as_int(
            src, at("num_poi_groups"), raw["num_poi_groups"], minimum=1, maximum=MAX_CHANNELS
        ),
        stride=as_int(src, at("stride"), raw["stride"], minimum=1, maximum=2),
        act_type=as_choice(src, at("act_type"), raw["act_type"], sorted(ACT_TYPES)),
        se_reduction_ratio=se_ratio,
    )


def _parse_eval(
    src: Source, model: Mapping[str, Any], *, num_classes: int, in_chans: int
) -> EvalConfig:
    hub_id = None
    if model.get("pretrained") is not None:
        pretrained = as_mapping(src, "model.pretrained", model["pretrained"])
        refuse_unknown(src, "model.pretrained", pretrained, ("hf_hub_id",))
        hub_id = pretrained.get("hf_hub_id")
        if hub_id is not None and (not isinstance(hub_id, str) or hub_id.count("/") != 1):
            src.fail(
                "model.pretrained.hf_hub_id",
                f"expected 'owner/name', got {describe(hub_id)}",
                "write a Hugging Face repo id, e.g. timm/mixnet_s.ft_in1k",
            )
    defaults = EvalConfig()
    if model.get("eval") is None:
        return EvalConfig(num_classes=num_classes, hf_hub_id=hub_id)
    path = "model.eval"
    section = as_mapping(src, path, model["eval"])
    refuse_unknown(src, path, section, ("input_size", "crop_pct", "interpolation", "mean", "std"))

    input_size = defaults.input_size
    if "input_size" in section:
        raw = section["input_size"]
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = [3, raw, raw]
        items = as_list(src, f"{path}.input_size", raw)
        if len(items) != 3:
            src.fail(
                f"{path}.input_size",
                f"expected [channels, height, width], got {items!r}",
                "write e.g. [3, 224, 224]",
            )
        c, h, w = (
            as_int(src, f"{path}.input_size[{i}]", v, minimum=1, maximum=8192)
            for i, v in enumerate(items)
        )
        if c != in_chans:
            src.fail(
                f"{path}.input_size",
                f"{c} channels, but the model takes params.in_chans = {in_chans}",
                "make input_size[0] equal params.in_chans",
            )
        input_size = (c, h, w)

    def per_channel(name: str, default: tuple[float, ...], *, positive: bool) -> tuple[float, ...]:
        if name not in section:
            return default
        items = as_list(src, f"{path}.{name}", section[name])
        if len(items) != input_size[0]:
            src.fail(
                f"{path}.{name}",
                f"expected {input_size[0]} values, got {len(items)}",
                "give one value per input channel",
            )
        low = 0.0 if positive else -1e6
        return tuple(
            as_float(
                src, f"{path}.{name}[{i}]", v, minimum=low, maximum=1e6, min_inclusive=not positive
            )
            for i, v in enumerate(items)
        )

    crop_pct = defaults.crop_pct
    if "crop_pct" in section:
        crop_pct = as_float(
            src,
            f"{path}.crop_pct",
            section["crop_pct"],
            minimum=0.0,
            maximum=2.0,
            min_inclusive=False,
        )
    interpolation = defaults.interpolation
    if "interpolation" in section:
        interpolation = as_choice(
            src, f"{path}.interpolation", section["interpolation"], INTERPOLATIONS
        )
    return EvalConfig(
        input_size=input_size,
        crop_pct=crop_pct,
        interpolation=interpolation,
        mean=per_channel("mean", defaults.mean, positive=False),
        std=per_channel("std", defaults.std, positive=True),
        num_classes=num_classes,
        hf_hub_id=hub_id,
    )
