"""MixNet YAML configs: netspresso's verbatim files, presets, every error, fuzzing."""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field, replace
from importlib import resources

import pytest
import torch
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mixbench.errors import InputError
from mixbench.models import (
    EvalConfig,
    MixNetConfig,
    ModelFamily,
    create_model,
    get_family,
    list_presets,
    load_config,
    register_family,
)
from mixbench.models import registry as registry_module
from mixbench.models.config import ACT_TYPES
from mixbench.models.layers import (
    ACTIVATIONS,
    SameConv2d,
    make_conv,
    split_channels,
)
from mixbench.models.plan import _scale_run_depth, make_divisible

TIMM_TWIN = {"s": "mixnet_s", "m": "mixnet_m", "l": "mixnet_l"}
PARAMS = {"s": 4_134_606, "m": 5_014_382, "l": 7_329_252}


def _netspresso(model_data, size="s"):
    return yaml.safe_load((model_data / f"netspresso_mixnet_{size}.yaml").read_text())


def _write(tmp_path, document, name="mixnet_s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _backbone(document):
    return document["model"]["architecture"]["backbone"]


# ----------------------------------------------------------------------------- loading


@pytest.mark.parametrize("size", ["s", "m", "l"])
def test_netspresso_configs_load_verbatim(size, model_data):
    path = model_data / f"netspresso_mixnet_{size}.yaml"
    config = MixNetConfig.from_yaml(path)
    # the verbatim file describes timm's network block for block: widths, kernels, groups,
    # SE widths, strides and activations all resolve identically (defaults = timm's)
    assert config.resolve() == load_config(TIMM_TWIN[size]).resolve()
    model = create_model(path).eval()
    assert sum(p.numel() for p in model.parameters()) == PARAMS[size]
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_netspresso_grouping_becomes_timm_stages(model_data):
    config = MixNetConfig.from_yaml(model_data / "netspresso_mixnet_s.yaml")
    assert [len(stage.blocks) for stage in config.stages] == [3, 2, 4, 2]  # YAML entries
    plan = config.resolve()
    assert [len(stage) for stage in plan.stages] == [1, 2, 4, 3, 3, 3]  # timm's blocks.i
    first = plan.stages[3][0]  # the 80-channel stride-2 block
    assert (first.out_chs, first.stride, first.exp_groups, first.poi_groups) == (80, 2, 1, 2)
    assert (first.stage_index, first.entry_index) == (2, 0)


def test_presets_are_package_resources():
    files = {p.name for p in resources.files("mixbench.models").joinpath("presets").iterdir()}
    assert {f"{name}.yaml" for name in list_presets()} <= files
    assert len(list_presets()) == 7


def test_preset_fields():
    xl = load_config("mixnet_xl")
    assert (xl.wid_mul, xl.dep_mul, xl.depth_trunc) == (1.6, 1.2, "round")
    assert xl.eval.hf_hub_id == "timm/mixnet_xl.ra_in1k"
    tf = load_config("tf_mixnet_m")
    assert (tf.padding, tf.bn_eps) == ("same", 1e-3)
    assert load_config("mixnet_xl.ra_in1k") is xl  # timm's name.tag spelling
    with pytest.raises(InputError, match=r"unknown model 'mixnet_xl\.in1k'") as info:
        load_config("mixnet_xl.in1k")  # a preset's name never falls through to timm's model
    assert "mixnet_xl.ra_in1k" in info.value.hint


def test_to_dict_round_trips():
    for name in list_presets():
        config = load_config(name)
        assert MixNetConfig.from_dict(config.to_dict(), source="x") == config


def test_bare_backbone_mapping_accepted(model_data):
    backbone = _backbone(_netspresso(model_data))
    config = MixNetConfig.from_dict(backbone)
    assert config.resolve() == load_config("mixnet_s").resolve()


def test_overrides(model_data):
    model = create_model("mixnet_s", drop_rate=0.25, drop_path_rate=0.1)
    assert model.drop_rate == 0.25 and model.config.drop_path_rate == 0.1
    assert model.blocks[5][2].drop_path.rate == pytest.approx(0.1 * 15 / 16)  # as timm
    half = create_model("mixnet_s", wid_mul=0.5)
    assert half.conv_stem.out_channels == 8
    with pytest.raises(InputError, match=r"unknown override 'dropout'"):
        create_model("mixnet_s", dropout=0.1)
    with pytest.raises(InputError, match=r"params\.dropout_rate: 1\.5 is out of range"):
        create_model("mixnet_s", drop_rate=1.5)


# ----------------------------------------------------------------------------- depth


def test_depth_rounding_modes():
    m = load_config("mixnet_m")
    xl_like = m.with_overrides(wid_mul=1.6, dep_mul=1.2)
    assert [len(s) for s in xl_like.resolve().stages] == [1, 2, 5, 5, 5, 5]  # timm's mixnet_xl
    per_entry = m.with_overrides(dep_mul=1.2, depth_rounding="per_entry")
    assert [len(s) for s in per_entry.resolve().stages] == [2, 4, 6, 6, 6, 6]  # ceil(1.2 * n)
    assert _scale_run_depth([1, 3], 1.1, "ceil") == [1, 4]
    assert _scale_run_depth([1, 3], 1.1, "round") == [1, 3]


@settings(max_examples=60, deadline=None)
@given(
    repeats=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    multiplier=st.floats(0.1, 4.0),
    trunc=st.sampled_from(["ceil", "round"]),
)
def test_depth_scaling_matches_timm(repeats, multiplier, trunc):
    from timm.models._efficientnet_builder import _scale_stage_depth

    args = [{"i": i} for i in range(len(repeats))]
    expected = _scale_stage_depth(args, repeats, multiplier, trunc)
    counts = [sum(1 for a in expected if a["i"] == i) for i in range(len(repeats))]
    assert _scale_run_depth(repeats, multiplier, trunc) == counts


@settings(max_examples=100, deadline=None)
@given(value=st.floats(0.5, 5000.0), divisor=st.sampled_from([1, 4, 8, 16]))
def test_make_divisible_matches_timm(value, divisor):
    from timm.layers import make_divisible as timm_make_divisible

    assert make_divisible(value, divisor) == timm_make_divisible(value, divisor)


def test_split_channels():
    from timm.layers.mixed_conv2d import _split_channels

    for channels, parts in [(10, 3), (96, 4), (7, 5), (200, 3)]:
        assert split_channels(channels, parts) == _split_channels(channels, parts)
    assert split_channels(10, 3) == [4, 3, 3]


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(5, 24),
    kernel=st.sampled_from([1, 3, 5, 7, 9, 11]),
    stride=st.sampled_from([1, 2]),
)
def test_same_padding_matches_timm(size, kernel, stride):
    from timm.layers import create_conv2d

    torch.manual_seed(0)
    ours = make_conv(2, 2, kernel, stride=stride, groups=2, padding="same")
    reference = create_conv2d(2, 2, kernel, stride=stride, groups=2, padding="same")
    assert isinstance(ours, SameConv2d) == (stride > 1)
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(1, 2, size, size + 1)
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))


# ----------------------------------------------------------------------------- errors


def _mutate(document, stage, field, entry, value):
    _backbone(document)["stage_params"][stage][field][entry] = value
    return document


ERROR_CASES = [
    # (mutation, expected message)
    (
        lambda d: _mutate(d, 2, "kernel_sizes", 1, [3, 4]),
        "mixnet_s.yaml: stage_params[2].kernel_sizes[1]: kernel size 4 is even "
        "(MixConv kernels must be odd, e.g. 3, 5, 7)",
    ),
    (
        lambda d: _mutate(d, 0, "kernel_sizes", 2, [0]),
        "mixnet_s.yaml: stage_params[0].kernel_sizes[2]: kernel size 0 is not positive "
        "(MixConv kernels must be odd, e.g. 3, 5, 7)",
    ),
    (
        lambda d: _mutate(d, 1, "kernel_sizes", 0, [3, -5]),
        "mixnet_s.yaml: stage_params[1].kernel_sizes[0]: kernel size -5 is not positive "
        "(MixConv kernels must be odd, e.g. 3, 5, 7)",
    ),
    (
        lambda d: _mutate(d, 1, "kernel_sizes", 0, "3,5"),
        "mixnet_s.yaml: stage_params[1].kernel_sizes[0]: expected a list, got '3,5' (str)",
    ),
    (
        lambda d: _backbone(d)["stage_params"][1]["expansion_ratio"].append(6) or d,
        "mixnet_s.yaml: stage_params[1]: field lists disagree in length "
        "(expansion_ratio has 3 entries, out_channels has 2)",
    ),
    (
        lambda d: _mutate(d, 3, "num_poi_groups", 1, 3),
        "mixnet_s.yaml: stage_params[3].num_poi_groups[1]: 3 groups do not divide the block's "
        "200 output channels",
    ),
    (
        lambda d: _mutate(d, 0, "num_exp_groups", 1, 5),
        "mixnet_s.yaml: stage_params[0].num_exp_groups[1]: 5 groups do not divide the block's "
        "16 input channels",
    ),
    (
        lambda d: _mutate(d, 1, "act_type", 0, "mish"),
        "mixnet_s.yaml: stage_params[1].act_type[0]: unknown value 'mish' (str)",
    ),
    (
        lambda d: _mutate(d, 1, "expansion_ratio", 1, 0),
        "mixnet_s.yaml: stage_params[1].expansion_ratio[1]: 0 is out of range (0.0, 64.0]",
    ),
    (
        lambda d: _mutate(d, 2, "se_reduction_ratio", 0, -4),
        "mixnet_s.yaml: stage_params[2].se_reduction_ratio[0]: -4 is out of range (0.0, 16384.0]",
    ),
    (
        lambda d: _mutate(d, 2, "se_reduction_ratio", 0, 1000),
        "mixnet_s.yaml: stage_params[2].se_reduction_ratio[0]: ratio 1000 gives 0 squeeze "
        "channels for a 40-channel block input",
    ),
    (
        lambda d: _mutate(d, 0, "stride", 0, 3),
        "mixnet_s.yaml: stage_params[0].stride[0]: 3 is out of range (allowed 1 to 2)",
    ),
    (
        lambda d: _mutate(d, 0, "out_channels", 1, "wide"),
        "mixnet_s.yaml: stage_params[0].out_channels[1]: expected an integer, got 'wide' (str)",
    ),
    (
        lambda d: _mutate(d, 0, "num_blocks", 1, 2.5),
        "mixnet_s.yaml: stage_params[0].num_blocks[1]: expected an integer, got 2.5 (float)",
    ),
    (
        lambda d: _mutate(d, 0, "num_blocks", 1, True),
        "mixnet_s.yaml: stage_params[0].num_blocks[1]: expected an integer, got True (bool)",
    ),
    (
        lambda d: _backbone(d)["stage_params"][0].pop("stride") and d,
        "mixnet_s.yaml: stage_params[0].stride: missing required field",
    ),
    (
        lambda d: _backbone(d)["stage_params"][0].update(strides=[1, 2, 1]) or d,
        "mixnet_s.yaml: stage_params[0].strides: unknown field",
    ),
    (
        lambda d: _backbone(d)["params"].pop("stem_channels") and d,
        "mixnet_s.yaml: params.stem_channels: missing required field",
    ),
    (
        lambda d: _backbone(d)["params"].update(wid_mul=0) or d,
        "mixnet_s.yaml: params.wid_mul: 0 is out of range (0.0, 16.0]",
    ),
    (
        lambda d: _backbone(d)["params"].update(dep_mul=-1.0) or d,
        "mixnet_s.yaml: params.dep_mul: -1.0 is out of range (0.0, 16.0]",
    ),
    (
        lambda d: _backbone(d)["params"].update(bn_eps="1e-3") or d,
        "mixnet_s.yaml: params.bn_eps: expected a number, got '1e-3' (str)",
    ),
    (
        lambda d: _backbone(d)["params"].update(padding="valid") or d,
        "mixnet_s.yaml: params.padding: unknown value 'valid' (str)",
    ),
    (
        lambda d: _backbone(d)["params"].update(depth_rounding="floor") or d,
        "mixnet_s.yaml: params.depth_rounding: unknown value 'floor' (str)",
    ),
    (
        lambda d: _backbone(d).update(name="resnet") or d,
        "mixnet_s.yaml: model.architecture.backbone.name: expected 'mixnet', got 'resnet' (str)",
    ),
    (
        lambda d: _backbone(d).update(stage_params=[]) or d,
        "mixnet_s.yaml: stage_params: no stages",
    ),
    (
        lambda d: d["model"].update(eval={"crop_pct": 0}) or d,
        "mixnet_s.yaml: model.eval.crop_pct: 0 is out of range (0.0, 2.0]",
    ),
    (lambda d: [d], "mixnet_s.yaml: expected a mapping, got"),
]


@pytest.mark.parametrize(("mutation", "message"), ERROR_CASES)
def test_config_errors(mutation, message, model_data, tmp_path):
    document = mutation(_netspresso(model_data))
    path = _write(tmp_path, document)
    with pytest.raises(InputError) as info:
        MixNetConfig.from_yaml(path)
    error = info.value
    # errors read `file:line: field: message`; the line (checked exactly in
    # test_models_config_lines.py) is left out of the comparison
    located = re.match(r"mixnet_s\.yaml:(\d+): ", str(error))
    assert re.sub(r"^mixnet_s\.yaml:\d+:", "mixnet_s.yaml:", str(error)).startswith(message)
    if isinstance(document, dict):  # a mapping document locates every error
        assert located and 1 <= int(located[1]) <= len(path.read_text().splitlines())
    assert "\n" not in str(error) and error.hint and "\n" not in error.hint


def test_yaml_hint_for_exponent_without_dot(model_data, tmp_path):
    document = _netspresso(model_data)
    _backbone(document)["params"]["bn_eps"] = "1e-3"
    with pytest.raises(InputError) as info:
        MixNetConfig.from_yaml(_write(tmp_path, document))
    assert "1.0e-3" in info.value.hint


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("model:\n  architecture:\n    backbone: [unclosed\n")
    with pytest.raises(InputError, match=r"^broken\.yaml:3: malformed YAML: "):
        MixNetConfig.from_yaml(path)


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(InputError, match="no such config file"):
        create_model(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="unknown model 'mixnet_q'") as info:
        create_model("mixnet_q")
    assert "mixnet_s" in info.value.hint


def test_groups_checked_after_width_rounding(model_data, tmp_path):
    document = _netspresso(model_data)
    _backbone(document)["params"]["wid_mul"] = 0.3  # 16 → 8 channels at the stem
    _mutate(document, 0, "num_exp_groups", 1, 16)
    with pytest.raises(InputError, match=r"16 groups do not divide the block's 8 input channels"):
        MixNetConfig.from_yaml(_write(tmp_path, document))


# ----------------------------------------------------------------------------- fuzzing

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 12), max_size=4),
    st.lists(st.lists(st.integers(-3, 12), max_size=3), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    """Every (container path, key) in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


@pytest.fixture(scope="module")
def base_document():
    return load_config("mixnet_s").to_dict()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_configs_raise_only_input_error(base_document, data):
    document = copy.deepcopy(base_document)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(document))
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JUNK)
    try:
        config = MixNetConfig.from_dict(document, source="fuzz.yaml")
    except InputError as error:
        event("refused")
        assert str(error).startswith("fuzz.yaml")
        assert "\n" not in str(error)
    else:
        event("accepted")
        config.resolve()


@st.composite
def small_configs(draw):
    """Random tiny MixNets; about one in five carries one invalid value (even kernel, or a
    group count that cannot divide the multiple-of-8 widths)."""
    stages = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 3))

        def column(strategy, n=n):
            return draw(st.lists(strategy, min_size=n, max_size=n))

        stages.append(
            {
                "expansion_ratio": column(st.sampled_from([1, 2, 3, 0.5])),
                "out_channels": column(st.integers(1, 24)),
                "num_blocks": column(st.integers(1, 2)),
                "kernel_sizes": column(
                    st.lists(st.sampled_from([1, 3, 5, 7]), min_size=1, max_size=3)
                ),
                "num_exp_groups": column(st.sampled_from([1, 2, 4])),
                "num_poi_groups": column(st.sampled_from([1, 2, 4])),
                "stride": column(st.integers(1, 2)),
                "act_type": column(
                    st.sampled_from(["relu", "swish", "prelu", "hard_swish", "gelu"])
                ),
                "se_reduction_ratio": column(st.sampled_from([None, 2, 4, 0.5])),
            }
        )
    if draw(st.integers(0, 4)) == 0:
        stage = draw(st.sampled_from(stages))
        field, value = draw(st.sampled_from([("kernel_sizes", [3, 4]), ("num_poi_groups", 3)]))
        stage[field][draw(st.integers(0, len(stage[field]) - 1))] = value
    params = {
        "stem_channels": draw(st.integers(1, 16)),
        "wid_mul": draw(st.sampled_from([0.5, 1.0, 1.3])),
        "dep_mul": draw(st.sampled_from([0.5, 1.0, 1.5])),
        "dropout_rate": 0.0,
        "head_channels": draw(st.integers(1, 32)),
        "num_classes": draw(st.integers(0, 5)),
        "padding": draw(st.sampled_from(["symmetric", "same"])),
        "depth_rounding": draw(st.sampled_from(["timm", "per_entry"])),
    }
    return {
        "model": {
            "architecture": {
                "backbone": {"name": "mixnet", "params": params, "stage_params": stages}
            }
        }
    }


@settings(max_examples=40, deadline=None)
@given(document=small_configs(), size=st.integers(17, 40))
def test_random_configs_build_or_raise_input_error(document, size):
    try:
        config = MixNetConfig.from_dict(document, source="random.yaml")
    except InputError as error:
        event(f"refused: {str(error).split(': ')[-1].split(' ')[0:3]}")
        return
    event("built")
    from mixbench.models import MixNet, MixNetFeatures

    model = MixNet(config).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, size, size))
    assert out.shape == (1, config.num_classes or config.head_channels)
    features = MixNetFeatures(config).eval()
    with torch.no_grad():
        maps = features(torch.randn(1, 3, size, size))
    assert [m.shape[1] for m in maps] == features.feature_info.channels()
    expected = [math.ceil(size / r) for r in features.feature_info.reduction()]
    if config.padding == "same":  # TF "SAME" keeps exactly ceil(size / stride)
        assert [m.shape[-1] for m in maps] == expected


def test_huge_integer_is_out_of_range_not_a_crash(model_data):
    """Found by the config refactor: float(10**400) raised OverflowError (exit 3)."""
    document = yaml.safe_load((model_data / "netspresso_mixnet_s.yaml").read_text())
    document["model"]["architecture"]["backbone"]["params"]["wid_mul"] = 10**400
    with pytest.raises(InputError, match=r"params\.wid_mul: 1000000000.*\.\.\. is out of range"):
        MixNetConfig.from_dict(document, source="big.yaml")


def test_eval_input_channels_must_match_in_chans(model_data):
    """Found by the config refactor: in_chans 1 with input_size [3, ...] was accepted."""
    document = yaml.safe_load((model_data / "netspresso_mixnet_s.yaml").read_text())
    document["model"]["architecture"]["backbone"]["params"]["in_chans"] = 1
    document["model"]["eval"] = {"input_size": [3, 224, 224]}
    with pytest.raises(InputError, match=r"model\.eval\.input_size: 3 channels, but the model"):
        MixNetConfig.from_dict(document, source="gray.yaml")


def test_activation_names_are_the_layers_activations():
    """config.py names the activations without importing torch; layers.py implements them."""
    assert set(ACT_TYPES) == set(ACTIVATIONS)


# ----------------------------------------------------------------------------- registry


def test_mixnet_is_a_registered_family():
    family = get_family("mixnet")
    assert family.presets() == list_presets()
    assert family.recognizes(load_config("mixnet_s").to_dict())
    assert not family.recognizes({"model": {"architecture": {"backbone": {"name": "resnet"}}}})
    assert not family.recognizes([1, 2])
    with pytest.raises(ValueError, match="'mixnet' is already registered"):
        register_family(family)
    with pytest.raises(KeyError, match="no model family 'resnet'"):
        get_family("resnet")


@dataclass(frozen=True)
class _ToyConfig:
    """A second family's config: just what the factory reads."""

    width: int
    name: str | None = None
    source: str = "<toy>"
    num_classes: int = 3
    eval: EvalConfig = field(default_factory=EvalConfig)

    def with_overrides(self, **overrides):
        return replace(self, **overrides)


class _Toy(torch.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.body = torch.nn.Conv2d(3, config.width, 1)
        self.classifier = torch.nn.Linear(config.width, config.num_classes)

    def forward(self, x):
        return self.classifier(self.body(x).mean((2, 3)))


def _toy_document(width):
    return {"model": {"architecture": {"backbone": {"name": "toy", "params": {"width": width}}}}}


def _toy_backbone(document):
    return document["model"]["architecture"]["backbone"]


def _toy_recognizes(document):
    try:
        return _toy_backbone(document)["name"] == "toy"
    except (KeyError, TypeError):
        return False


def _toy_parse(document, *, source):
    return _ToyConfig(width=_toy_backbone(document)["params"]["width"], source=source)


def _toy_from_name(name):
    """Claims every ``toy:<width>`` name, and ``mixnet_s`` too (to show presets come first)."""
    if name.startswith("toy:"):
        return _ToyConfig(width=int(name[4:]))
    return _ToyConfig(width=1) if name == "mixnet_s" else None


def _toy_build(config, *, features_only, out_indices):
    return _Toy(config)


@pytest.fixture
def toy_family(monkeypatch, tmp_path):
    """A second family registered as a newcomer would: one definition, one registration."""
    monkeypatch.setattr(registry_module, "_FAMILIES", dict(registry_module._FAMILIES))
    presets = tmp_path / "toy_presets"
    presets.mkdir()
    (presets / "toy_a.yaml").write_text(yaml.safe_dump(_toy_document(4)))
    return register_family(
        ModelFamily(
            name="toy",
            build=_toy_build,
            parse=_toy_parse,
            recognizes=_toy_recognizes,
            preset_dir=presets,
            from_name=_toy_from_name,
        )
    )


def test_a_second_family_is_found_by_preset_yaml_and_name(toy_family, tmp_path):
    assert list_presets() == sorted([*get_family("mixnet").presets(), "toy_a"])
    assert isinstance(create_model("toy_a"), _Toy)
    assert load_config("toy_a").source == "toy_a.yaml"
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_toy_document(6)))
    model = create_model(path, num_classes=5)
    assert model.body.out_channels == 6 and model.classifier.out_features == 5
    assert create_model("toy:7").body.out_channels == 7  # claimed by name
    assert isinstance(load_config("mixnet_s"), MixNetConfig)  # native presets come first
    with pytest.raises(InputError, match="unknown model 'no_such_net'"):
        create_model("no_such_net")


def test_a_second_family_loads_weights_through_its_record(toy_family, tmp_path):
    from safetensors.torch import save_file

    reference = create_model("toy_a")
    path = tmp_path / "toy.safetensors"
    save_file(reference.state_dict(), str(path))
    loaded = create_model("toy_a", weights=path)
    assert torch.equal(loaded.body.weight, reference.body.weight)
    with pytest.warns(UserWarning, match=r"new 2-class classifier \(checkpoint has 3 classes\)"):
        headless = create_model("toy_a", weights=path, num_classes=2)
    assert torch.equal(headless.body.weight, reference.body.weight)


def test_documents_no_family_recognises_get_the_first_readers_error(toy_family, tmp_path):
    path = tmp_path / "resnet.yaml"
    path.write_text(yaml.safe_dump({"model": {"architecture": {"backbone": {"name": "resnet"}}}}))
    with pytest.raises(InputError, match=r"backbone\.name: expected 'mixnet', got 'resnet'"):
        create_model(path)


def test_registration_refuses_clashing_presets(toy_family, tmp_path):
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "mixnet_s.yaml").write_text("{}")
    with pytest.raises(ValueError, match="presets mixnet_s are already shipped by mixnet"):
        register_family(
            ModelFamily(name="other", build=_toy_build, parse=_toy_parse, preset_dir=clash)
        )
    with pytest.raises(ValueError, match="need a parse function"):
        register_family(ModelFamily(name="other", build=_toy_build, preset_dir=clash))
