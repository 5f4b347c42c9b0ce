"""MixNet YAML/dict → :class:`~mixbench.models.config_types.MixNetConfig` fields, and back.

The field reference is the :mod:`mixbench.models.config` docstring. Everything here checks
types, ranges and structure, naming the file and field in each error; checks that need the
rounded widths happen in :mod:`~mixbench.models.config_plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mixbench.errors import InputError
from mixbench.index.values import INTERPOLATIONS
from mixbench.models.config_types import (
    DEPTH_ROUNDINGS,
    DEPTH_TRUNCS,
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_KERNEL,
    MAX_MULTIPLIER,
    STAGE_FIELDS,
    BlockSpec,
    EvalConfig,
    MixNetConfig,
    StageConfig,
)
from mixbench.models.config_values import (
    _as_choice,
    _as_float,
    _as_int,
    _as_list,
    _as_mapping,
    _describe,
    _join,
    _refuse_unknown,
    _Source,
)
from mixbench.models.layers import ACTIVATIONS, PADDINGS

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
        return lambda s, p, v: _as_int(s, p, v, minimum=minimum, maximum=maximum)

    def number(minimum: float, maximum: float, **kw: bool) -> Any:
        return lambda s, p, v: _as_float(s, p, v, minimum=minimum, maximum=maximum, **kw)

    def choice(options: tuple[str, ...] | list[str]) -> Any:
        return lambda s, p, v: _as_choice(s, p, v, options)

    acts = sorted(ACTIVATIONS)
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


def read_yaml(path: Path) -> Any:
    """The parsed YAML document at ``path``; unreadable files and bad syntax are
    :class:`InputError`."""
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such config file", hint="check the path, or use a preset name"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(
            f"{path}: cannot read config ({err})", hint="pass a UTF-8 YAML file"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise InputError(
            f"{source}:{line}: {problem}", hint="fix the YAML syntax at that line"
        ) from None


def parse_document(document: Any, *, source: str) -> dict[str, Any]:
    """:class:`MixNetConfig` keyword arguments (all but ``source``) from a parsed document: the
    full ``model:`` tree, or just the backbone mapping. Not yet resolved: the caller builds the
    config and plans it, which finishes validation."""
    src = _Source(source)
    document = _as_mapping(src, "", document)
    model: Mapping[str, Any] = {}
    if "model" in document:
        model = _as_mapping(src, "model", document["model"])
        if "architecture" not in model:
            src.fail("model.architecture", "missing", "add `architecture: backbone: ...`")
        arch = _as_mapping(src, "model.architecture", model["architecture"])
        if "backbone" not in arch:
            src.fail("model.architecture.backbone", "missing", "add the MixNet backbone")
        backbone_path = "model.architecture.backbone"
        backbone = _as_mapping(src, backbone_path, arch["backbone"])
    elif "stage_params" in document:
        backbone_path, backbone = "", document
    else:
        src.fail(
            "model",
            "missing: expected `model: architecture: backbone:`",
            "see netspresso-trainer's MixNet config format",
        )

    name_path = _join(backbone_path, "name")
    if backbone.get("name") != "mixnet":
        src.fail(
            name_path,
            f"expected 'mixnet', got {_describe(backbone.get('name'))}",
            "set `name: mixnet`",
        )
    _refuse_unknown(src, backbone_path, backbone, ("name", "params", "stage_params"))

    # fields inside the backbone are named relative to it, as netspresso's docs do
    params_path = "params"
    if "params" not in backbone:
        src.fail(params_path, "missing required section", "add `params: {stem_channels: 16}`")
    params = _parse_params(src, params_path, backbone["params"])
    stages = _parse_stages(src, "stage_params", backbone.get("stage_params"))
    model_name = model.get("name")
    if model_name is not None and not isinstance(model_name, str):
        src.fail("model.name", f"expected text, got {_describe(model_name)}", "write a name")
    eval_cfg = _parse_eval(
        src, model, num_classes=params["num_classes"], in_chans=params["in_chans"]
    )
    return {"stages": stages, "name": model_name, "eval": eval_cfg, **params}


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
        "backbone": {"name": "mixnet", "params": params, "stage_params": stage_params}
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


def _parse_params(src: _Source, path: str, value: Any) -> dict[str, Any]:
    params = _as_mapping(src, path, value)
    specs = _param_specs()
    _refuse_unknown(src, path, params, specs)
    parsed: dict[str, Any] = {}
    for name, (parser, default) in specs.items():
        if name in params and params[name] is not None:
            parsed[name] = parser(src, f"{path}.{name}", params[name])
        elif default is None:
            src.fail(f"{path}.{name}", "missing required field", f"add `{name}:` to params")
        else:
            parsed[name] = default
    return parsed


def _parse_stages(src: _Source, path: str, value: Any) -> tuple[StageConfig, ...]:
    if value is None:
        src.fail(path, "missing required field", "list the stages under `stage_params:`")
    items = _as_list(src, path, value)
    if not items:
        src.fail(path, "no stages", "give at least one stage")
    return tuple(_parse_stage(src, f"stage_params[{i}]", item) for i, item in enumerate(items))


def _parse_stage(src: _Source, path: str, value: Any) -> StageConfig:
    stage = _as_mapping(src, path, value)
    _refuse_unknown(src, path, stage, STAGE_FIELDS)
    columns: dict[str, list[Any]] = {}
    for name in STAGE_FIELDS:
        if name not in stage:
            src.fail(
                f"{path}.{name}",
                "missing required field",
                f"every stage lists all of: {', '.join(STAGE_FIELDS)}",
            )
        columns[name] = _as_list(src, f"{path}.{name}", stage[name])
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


def _parse_entry(src: _Source, path: str, index: int, raw: dict[str, Any]) -> BlockSpec:
    def at(name: str) -> str:
        return f"{path}.{name}[{index}]"

    kernels_raw = raw["kernel_sizes"]
    if isinstance(kernels_raw, int) and not isinstance(kernels_raw, bool):
        kernels_raw = [kernels_raw]  # a bare `3` means a single 3×3 kernel
    kernels_raw = _as_list(src, at("kernel_sizes"), kernels_raw)
    if not kernels_raw:
        src.fail(at("kernel_sizes"), "no kernel sizes", "give at least one, e.g. [3]")
    kernels = []
    k_path = at("kernel_sizes")  # errors name the block entry; the message names the kernel
    odd = "MixConv kernels must be odd, e.g. 3, 5, 7"
    for k in kernels_raw:
        size = _as_int(src, k_path, k, minimum=-(2**31), maximum=2**31)
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
        se_ratio = _as_float(
            src,
            at("se_reduction_ratio"),
            se_raw,
            minimum=0.0,
            maximum=float(MAX_CHANNELS),
            min_inclusive=False,
        )
    return BlockSpec(
        expansion_ratio=_as_float(
            src,
            at("expansion_ratio"),
            raw["expansion_ratio"],
            minimum=0.0,
            maximum=64.0,
            min_inclusive=False,
        ),
        out_channels=_as_int(
            src, at("out_channels"), raw["out_channels"], minimum=1, maximum=MAX_CHANNELS
        ),
        num_blocks=_as_int(src, at("num_blocks"), raw["num_blocks"], minimum=1, maximum=MAX_BLOCKS),
        kernel_sizes=tuple(kernels),
        num_exp_groups=_as_int(
            src, at("num_exp_groups"), raw["num_exp_groups"], minimum=1, maximum=MAX_CHANNELS
        ),
        num_poi_groups=_as_int(
            src, at("num_poi_groups"), raw["num_poi_groups"], minimum=1, maximum=MAX_CHANNELS
        ),
        stride=_as_int(src, at("stride"), raw["stride"], minimum=1, maximum=2),
        act_type=_as_choice(src, at("act_type"), raw["act_type"], sorted(ACTIVATIONS)),
        se_reduction_ratio=se_ratio,
    )


def _parse_eval(
    src: _Source, model: Mapping[str, Any], *, num_classes: int, in_chans: int
) -> EvalConfig:
    hub_id = None
    if model.get("pretrained") is not None:
        pretrained = _as_mapping(src, "model.pretrained", model["pretrained"])
        _refuse_unknown(src, "model.pretrained", pretrained, ("hf_hub_id",))
        hub_id = pretrained.get("hf_hub_id")
        if hub_id is not None and (not isinstance(hub_id, str) or hub_id.count("/") != 1):
            src.fail(
                "model.pretrained.hf_hub_id",
                f"expected 'owner/name', got {_describe(hub_id)}",
                "write a Hugging Face repo id, e.g. timm/mixnet_s.ft_in1k",
            )
    defaults = EvalConfig()
    if model.get("eval") is None:
        return EvalConfig(num_classes=num_classes, hf_hub_id=hub_id)
    path = "model.eval"
    section = _as_mapping(src, path, model["eval"])
    _refuse_unknown(src, path, section, ("input_size", "crop_pct", "interpolation", "mean", "std"))

    input_size = defaults.input_size
    if "input_size" in section:
        raw = section["input_size"]
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = [3, raw, raw]
        items = _as_list(src, f"{path}.input_size", raw)
        if len(items) != 3:
            src.fail(
                f"{path}.input_size",
                f"expected [channels, height, width], got {items!r}",
                "write e.g. [3, 224, 224]",
            )
        c, h, w = (
            _as_int(src, f"{path}.input_size[{i}]", v, minimum=1, maximum=8192)
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
        items = _as_list(src, f"{path}.{name}", section[name])
        if len(items) != input_size[0]:
            src.fail(
                f"{path}.{name}",
                f"expected {input_size[0]} values, got {len(items)}",
                "give one value per input channel",
            )
        low = 0.0 if positive else -1e6
        return tuple(
            _as_float(
                src, f"{path}.{name}[{i}]", v, minimum=low, maximum=1e6, min_inclusive=not positive
            )
            for i, v in enumerate(items)
        )

    crop_pct = defaults.crop_pct
    if "crop_pct" in section:
        crop_pct = _as_float(
            src,
            f"{path}.crop_pct",
            section["crop_pct"],
            minimum=0.0,
            maximum=2.0,
            min_inclusive=False,
        )
    interpolation = defaults.interpolation
    if "interpolation" in section:
        interpolation = _as_choice(
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
