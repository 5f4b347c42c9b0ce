"""MixNet YAML config errors name ``file:line:`` as model-card errors do."""

from __future__ import annotations

import re
import tempfile
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mixbench.errors import InputError
from mixbench.models import MixNetConfig, create_model, load_config
from mixbench.models.config import LocatedMapping, read_yaml
from mixbench.models.values import Source

# line numbers below count from 1 in this text
DEMO = """\
model:
  name: demo
  architecture:
    backbone:
      name: mixnet
      params:
        stem_channels: 16
        wid_mul: 1.0
      stage_params:
        - expansion_ratio: [1, 6]
          out_channels: [16, 24]
          num_blocks: [1, 1]
          kernel_sizes: [[3], [3]]
          num_exp_groups: [1, 2]
          num_poi_groups: [1, 2]
          stride: [1, 2]
          act_type: [relu, relu]
          se_reduction_ratio: [~, ~]
        - expansion_ratio: [6, 6]
          out_channels: [40, 40]
          num_blocks: [1, 3]
          kernel_sizes:
            - [3, 5, 7]
            - [3, 5]
          num_exp_groups: [1, 2]
          num_poi_groups: [1, 2]
          stride: [2, 1]
          act_type: [swish, swish]
          se_reduction_ratio: [2, 2]
"""


def _edited(tmp_path, line, text, *, name="demo.yaml", base=DEMO):
    """``base`` with its 1-based ``line`` replaced by ``text`` (``None``: removed)."""
    lines = base.splitlines()
    if text is None:
        del lines[line - 1]
    else:
        lines[line - 1] = text
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _error(path):
    with pytest.raises(InputError) as info:
        MixNetConfig.from_yaml(path)
    message = str(info.value)
    assert "\n" not in message and info.value.hint
    return message


def test_demo_is_valid(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO)
    config = MixNetConfig.from_yaml(path)
    assert [len(stage.blocks) for stage in config.stages] == [2, 2]
    assert config.origin is not None and config.origin.line("params.wid_mul") == 8


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        (14, "          num_exp_groups: [1, 2]]", "demo.yaml:14: malformed YAML: "),
        (14, "\t  num_exp_groups: [1, 2]", "demo.yaml:14: malformed YAML: "),
        (7, "        stem_channels: 16: 3", "demo.yaml:7: malformed YAML: "),
        (8, "   wid_mul: 1.0", "demo.yaml:8: malformed YAML: "),
        (8, "        wid_mul: *nope", "demo.yaml:8: malformed YAML: found undefined alias"),
    ],
)
def test_syntax_errors_name_the_line(tmp_path, line, text, expected):
    assert _error(_edited(tmp_path, line, text)).startswith(expected)


def test_unclosed_quote_names_the_line_it_opens(tmp_path):
    message = _error(_edited(tmp_path, 2, "  name: 'demo"))
    assert message.startswith("demo.yaml:2: malformed YAML: ")


def test_duplicate_keys_are_refused_at_the_repeat(tmp_path):
    # yaml.safe_load would silently keep the last value: stem_channels 24
    with pytest.raises(InputError) as info:
        MixNetConfig.from_yaml(_edited(tmp_path, 8, "        stem_channels: 24"))
    assert str(info.value) == (
        "demo.yaml:8: model.architecture.backbone.params.stem_channels: duplicate key"
    )
    assert "repeated keys" in info.value.hint
    message = _error(_edited(tmp_path, 21, "          out_channels: [1, 3]"))
    assert message == (
        "demo.yaml:21: model.architecture.backbone.stage_params[1].out_channels: duplicate key"
    )


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        (
            7,
            "        stem_channels: sixteen",
            "demo.yaml:7: params.stem_channels: expected an integer, got 'sixteen' (str)",
        ),
        (8, "        wid_mull: 1.0", "demo.yaml:8: params.wid_mull: unknown field"),
        (8, "        wid_mul: 0", "demo.yaml:8: params.wid_mul: 0 is out of range (0.0, 16.0]"),
        (
            5,
            "      name: resnet",
            "demo.yaml:5: model.architecture.backbone.name: expected 'mixnet', got 'resnet'",
        ),
        (
            2,
            "  name: 2001-13-45",  # a timestamp PyYAML cannot build: was a ValueError crash
            "demo.yaml:2: model.name: invalid timestamp value '2001-13-45'",
        ),
        (
            8,
            "        wid_mul: !!float wide",
            "demo.yaml:8: model.architecture.backbone.params.wid_mul: invalid float value",
        ),
    ],
)
def test_params_errors_name_the_line(tmp_path, line, text, expected):
    assert _error(_edited(tmp_path, line, text)).startswith(expected)


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        (
            24,
            "            - [3, 4]",
            "demo.yaml:24: stage_params[1].kernel_sizes[1]: kernel size 4 is even",
        ),
        (
            23,
            "            - [3, 5, 7.5]",
            "demo.yaml:23: stage_params[1].kernel_sizes[0]: expected an integer, got 7.5",
        ),
        (
            27,
            "          stride: [2, 3]",
            "demo.yaml:27: stage_params[1].stride[1]: 3 is out of range (allowed 1 to 2)",
        ),
        (
            28,
            "          act_type: [swish, mish]",
            "demo.yaml:28: stage_params[1].act_type[1]: unknown value 'mish' (str)",
        ),
        # a missing field: the stage it is missing from
        (16, None, "demo.yaml:10: stage_params[0].stride: missing required field"),
        (
            21,
            "          num_blocks: [1, 3, 1]",
            "demo.yaml:19: stage_params[1]: field lists disagree in length",
        ),
    ],
)
def test_stage_errors_name_the_line(tmp_path, line, text, expected):
    assert _error(_edited(tmp_path, line, text)).startswith(expected)


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        (
            15,
            "          num_poi_groups: [1, 5]",
            "demo.yaml:15: stage_params[0].num_poi_groups[1]: 5 groups do not divide",
        ),
        (
            29,
            "          se_reduction_ratio: [2, 1000]",
            "demo.yaml:29: stage_params[1].se_reduction_ratio[1]: ratio 1000 gives 0 squeeze",
        ),
    ],
)
def test_planning_errors_name_the_line(tmp_path, line, text, expected):
    assert _error(_edited(tmp_path, line, text)).startswith(expected)


def test_the_model_factory_path_names_the_line_too(tmp_path):
    path = _edited(tmp_path, 7, "        stem_channels: sixteen")
    for load in (load_config, create_model):
        with pytest.raises(InputError, match=r"^demo\.yaml:7: params\.stem_channels: "):
            load(path)
    path = _edited(tmp_path, 8, "        stem_channels: 24")
    with pytest.raises(InputError, match=r"^demo\.yaml:8: .*: duplicate key"):
        create_model(path)


def test_override_errors_have_no_file_line(tmp_path):
    """An override's value is not in the file: the error names no line of it."""
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO)
    with pytest.raises(InputError) as info:
        create_model(path, drop_rate=1.5)
    assert str(info.value).startswith("demo.yaml (with overrides): params.dropout_rate: 1.5")


def test_bare_backbone_document_lines(tmp_path):
    # the same backbone without the `model: architecture:` wrapper, dedented by 6
    backbone = "\n".join(line[6:] for line in DEMO.splitlines()[4:]) + "\n"
    assert backbone.splitlines()[24 - 4 - 1] == "      - [3, 5]"  # DEMO's line 24
    path = _edited(tmp_path, 24 - 4, "      - [3, 4]", base=backbone, name="bare.yaml")
    assert _error(path).startswith("bare.yaml:20: stage_params[1].kernel_sizes[1]: ")


def test_read_yaml_keeps_dict_data_and_lines(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO)
    document = read_yaml(path)
    assert isinstance(document, LocatedMapping) and document == yaml.safe_load(DEMO)
    assert document.file == "demo.yaml"
    assert document.lines[("model", "architecture", "backbone", "stage_params", 1)] == 19
    # explicit lines work for a plain dict too; without them the old form remains
    plain = yaml.safe_load(DEMO)
    plain["model"]["architecture"]["backbone"]["params"]["wid_mul"] = "x"
    with pytest.raises(InputError, match=r"^d\.yaml:8: params\.wid_mul: "):
        MixNetConfig.from_dict(plain, source="d.yaml", lines=document.lines)
    with pytest.raises(InputError, match=r"^d\.yaml: params\.wid_mul: "):
        MixNetConfig.from_dict(plain, source="d.yaml")


def test_non_mapping_documents(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    assert _error(path).startswith("list.yaml: expected a mapping, got [1, 2]")
    path.write_text("")
    assert _error(path).startswith("list.yaml: expected a mapping, got None")


def test_source_line_resolution():
    lines = {
        (): 1,
        ("model",): 1,
        ("model", "architecture", "backbone"): 4,
        ("model", "architecture", "backbone", "params"): 6,
        ("model", "architecture", "backbone", "params", "odd.key"): 9,
        ("model", "architecture", "backbone", "stage_params"): 10,
        ("model", "architecture", "backbone", "stage_params", 1): 19,
        ("model", "architecture", "backbone", "stage_params", 1, "kernel_sizes", 0): 23,
    }
    roots = {name: f"model.architecture.backbone.{name}" for name in ("params", "stage_params")}
    src = Source("f.yaml", lines, roots=roots)
    assert src.line("stage_params[1].kernel_sizes[0]") == 23
    assert src.line("stage_params[1].kernel_sizes[1]") == 19  # nearest located ancestor
    assert src.line("stage_params[7].stride") == 10
    assert src.line("params.stem_channels") == 6
    assert src.line("params.odd.key") == 9  # keys holding dots still match exactly
    assert src.line("params.a[b") == 6
    assert src.line("params_extra") == 1  # only whole first parts are backbone-relative
    assert src.line("model.eval.crop_pct") == 1
    assert src.line("x[1") == 1 and src.line("") == 1
    assert Source("f.yaml").line("params") is None
    with pytest.raises(
        InputError, match=r"^f\.yaml:23: stage_params\[1\]\.kernel_sizes\[0\]: bad$"
    ):
        src.fail("stage_params[1].kernel_sizes[0]", "bad", "fix it")
    with pytest.raises(InputError, match=r"^f\.yaml:1: bad$"):
        src.fail("", "bad", "fix it")
    with pytest.raises(InputError, match=r"^f\.yaml: params: bad$"):
        Source("f.yaml").fail("params", "bad", "fix it")


# ----------------------------------------------------------------------------- fuzzing

PRESET = resources.files("mixbench.models").joinpath("presets", "mixnet_s.yaml").read_text()
PRESET_LINES = PRESET.splitlines()
# lines holding a value: `key: value` or a `- value` list item
VALUE_LINES = [
    index
    for index, line in enumerate(PRESET_LINES)
    if re.match(r"^\s*(-\s*\S|[A-Za-z_]+:\s*\S)", line) and not line.lstrip().startswith("#")
]

GARBAGE = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10),
    st.text(alphabet="[]{},:-?&*!|>'\"#%@`~ \t01.e+x", max_size=10),
    st.sampled_from(
        [
            "[",
            "]",
            "{a: 1",
            "&a [1]",
            "*a",
            "*undefined",
            "!!int x",
            "!!float x",
            "!!timestamp x",
            "2001-13-45",
            "!!binary ???",
            "!!python/object/apply:os.system [ls]",
            "!!set {a, b}",
            "!!str [1]",
            "'unclosed",
            "1e400",
            "-1",
            "0",
            "~",
            "true",
            ".nan",
            "-.inf",
            "1" * 400,
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1",
            "<<: *x",
            "? [a]",
            "- a",
            "|\n x",
            "mixnet",
            "[3, 4]",
            "[[3], [4]]",
            "{}",
            "[]",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_preset_text_raises_only_located_input_error(data):
    """A value of a valid preset replaced by garbage: either the config still loads, or the
    error is an InputError naming the file (never another exception type)."""
    lines = list(PRESET_LINES)
    for _ in range(data.draw(st.integers(1, 2), label="mutations")):
        index = data.draw(st.sampled_from(VALUE_LINES), label="line")
        head = re.match(r"^(\s*(?:-\s*|[A-Za-z_]+:\s*))", lines[index])
        prefix = head.group(1) if head and data.draw(st.booleans(), label="keep key") else ""
        lines[index] = prefix + data.draw(GARBAGE, label="garbage")
    text = "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mixnet_s.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            config = MixNetConfig.from_yaml(path)
        except InputError as error:
            message = str(error)
            assert message.startswith("mixnet_s.yaml")
            assert "\n" not in message
            located = re.match(r"mixnet_s\.yaml:(\d+): ", message)
            if located:
                assert 1 <= int(located[1]) <= text.count("\n") + 1
                event("refused at a line")
            else:
                event("refused without a line")
        else:
            event("accepted")
            config.resolve()
