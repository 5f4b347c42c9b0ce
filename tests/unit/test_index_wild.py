"""Indexes as published in the wild: a null is a figure not published (a warning with its
file:line), a broken value costs only the model it is in, and nothing is dropped silently."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import write

from mixbench.cli import cli
from mixbench.errors import IndexProblems, InputError
from mixbench.index import NOT_PUBLISHED, check_index, load_index
from mixbench.index.published import load_source

MMPRETRAIN = Path(__file__).parents[1] / "data" / "mmpretrain-index"
#: what the paperswithcode `model-index` package (0.1.11) loads from the same tree
PAPERSWITHCODE_COUNT = 548
MMPRETRAIN_FILES = 85  # model-index.yml and the 84 metafiles it imports
MMPRETRAIN_NULLS = 145  # every null value in it, counted by yaml.safe_load


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "160"})


# ------------------------------------------------------------------------ a real zoo: mmpretrain


@pytest.fixture(scope="module")
def mmpretrain():
    return load_index(MMPRETRAIN)


def test_every_mmpretrain_model_loads(mmpretrain):
    assert len(mmpretrain) == PAPERSWITHCODE_COUNT
    assert not mmpretrain.problems and not mmpretrain.left_out
    assert len(mmpretrain.files) == MMPRETRAIN_FILES
    assert mmpretrain.headline().startswith(
        f"{PAPERSWITHCODE_COUNT} models loaded from {MMPRETRAIN_FILES} files; "
    )
    assert f"(not published: {MMPRETRAIN_NULLS} fields)" in mmpretrain.headline()
    assert mmpretrain.headline().endswith("; 0 left out")


def test_every_mmpretrain_null_is_a_warning_on_its_line(mmpretrain):
    assert len(mmpretrain.not_published) == MMPRETRAIN_NULLS
    for warning in mmpretrain.not_published:
        assert warning.kind == NOT_PUBLISHED and warning.message == "empty: not published"
        line = (MMPRETRAIN / warning.file.split("mmpretrain-index/")[-1]).read_text()
        key = warning.field.rsplit(".", 1)[-1].split("[")[0]
        assert warning.line is not None
        assert f"{key}:" in line.splitlines()[warning.line - 1], str(warning)


def test_mmpretrain_nulls_are_absent_figures_and_other_metrics_are_kept(mmpretrain):
    llava = mmpretrain["llava-7b-v1_caption"]  # FLOPs: null, BLEU-4: null, CIDER: null
    assert llava.flops is None and llava.params == 7045816320
    assert [result.metrics for result in llava.results] == [{}]
    fields = [warning.field for warning in llava.not_published]
    assert fields == [
        "Models[0].Metadata.FLOPs",
        "Models[0].Results[0].Metrics.BLEU-4",
        "Models[0].Results[0].Metrics.CIDER",
    ]
    # the collection's `Code: {URL: null, Version: null}` is each of its models' gap too
    eva = mmpretrain["eva-mae-style_vit-base-p16_16xb256-coslr-400e_in1k"]
    assert eva.code_url is None
    assert "Collections[0].Code.URL" in [warning.field for warning in eva.not_published]
    # metrics mixbench does not compare are on the card as published
    assert mmpretrain["ofa-base_3rdparty-finetuned_caption"].metric("BLEU-4", "COCO") == 42.64
    assert mmpretrain["resnet101-csra_1xb16_voc07-448px"].metric("mAP", "PASCAL VOC 2007") == 94.98


@pytest.mark.slow  # the command end to end on a 548-model zoo
def test_index_check_on_mmpretrain_warns_and_strict_fails(tmp_path):
    report = tmp_path / "check.json"
    result = run("index", "check", str(MMPRETRAIN), "--json", str(report))
    assert result.exit_code == 0, result.output
    assert f"ok: {MMPRETRAIN}: {PAPERSWITHCODE_COUNT} models loaded" in result.stdout
    assert "warning: " in result.stderr and "llava/metafile.yml:22: " in result.stderr
    assert "Models[0].Results[0].Metrics.BLEU-4: empty: not published" in result.stderr
    strict = run("index", "check", "--strict", str(MMPRETRAIN))
    assert strict.exit_code == 2
    assert "BLEU-4: empty: not published (--strict refuses empty values)" in strict.stderr
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["models"] == PAPERSWITHCODE_COUNT
    assert len(data["not_published"]) == MMPRETRAIN_NULLS and data["left_out"] == []


@pytest.mark.slow  # the command end to end on a 548-model zoo
def test_list_on_mmpretrain_lists_every_model_with_the_headline(tmp_path):
    listed = tmp_path / "cards.json"
    result = run("list", "--index", str(MMPRETRAIN), "--json", str(listed))
    assert result.exit_code == 0, result.output
    assert f"{PAPERSWITHCODE_COUNT} model cards" in result.stdout
    assert f"note: {PAPERSWITHCODE_COUNT} models loaded from {MMPRETRAIN_FILES} files" in (
        result.stderr
    )
    cards = json.loads(listed.read_text())
    assert len(cards) == PAPERSWITHCODE_COUNT
    assert all(card["name"] in result.stdout for card in cards)


# ------------------------------------------------------------------------ a broken model costs itself

THREE = """
Collections:
- Name: C
  Metadata:
    Image Size: 224
Models:
- Name: good
  In Collection: C
  Metadata:
    Parameters: 5
- Name: bad
  Metadata:
    Parameters: lots
- Name: also_good
  Metadata:
    FLOPs:
"""


def test_a_broken_value_leaves_out_only_its_model(tmp_path):
    path = write(tmp_path, "i.yml", THREE)
    index = load_index(path)
    assert [card.name for card in index] == ["good", "also_good"]
    [left] = index.left_out
    assert left.name == "bad" and left.source.line == 10
    assert str(left.problems[0]).endswith(
        "i.yml:12: Models[1].Metadata.Parameters: expected a count (e.g. 7330000 or '7.33M'), "
        "got 'lots'"
    )
    assert index["also_good"].flops is None
    assert index.headline() == (
        "2 models loaded from 1 file; 1 with warnings (not published: 1 field); "
        "1 left out (1 error)"
    )
    _, problems = check_index(path)
    assert problems == list(index.problems)  # index check still names it (exit 2)
    with pytest.raises(IndexProblems):
        load_index(path, strict=True)


def test_asking_for_a_left_out_model_says_why(tmp_path):
    index = load_index(write(tmp_path, "i.yml", THREE))
    with pytest.raises(InputError) as raised:
        index["bad"]
    assert "no model card named 'bad' in the index: left out (" in raised.value.message
    assert "i.yml:12: Models[1].Metadata.Parameters: expected a count" in raised.value.message
    assert "index check" in (raised.value.hint or "")


def test_the_cli_lists_the_rest_and_names_what_was_left_out(tmp_path):
    path = str(write(tmp_path, "i.yml", THREE))
    listed = run("list", "--index", path)
    assert listed.exit_code == 0, listed.output
    assert "good" in listed.stdout and "also_good" in listed.stdout and "bad" not in listed.stdout
    assert "error: left out: bad (" in listed.stderr and "i.yml:12: " in listed.stderr
    assert "note: 2 models loaded from 1 file;" in listed.stderr
    assert "1 left out (1 error)" in listed.stderr
    shown = run("show", "good", "--index", path)
    assert shown.exit_code == 0 and "1 left out" in shown.stderr
    missing = run("show", "bad", "--index", path)
    assert missing.exit_code == 2
    assert "error: no model card named 'bad' in the index: left out (" in missing.output
    assert "i.yml:12: Models[1].Metadata.Parameters" in missing.output
    checked = run("index", "check", path)
    assert checked.exit_code == 2 and "error: " in checked.stderr and "i.yml:12: " in checked.stderr
    for command in (("list",), ("show", "good")):
        strict = run(*command, "--strict", "--index", path)
        assert strict.exit_code == 2 and "i.yml:12: " in strict.output


def test_verify_of_a_left_out_model_says_why_and_the_index_is_said(tmp_path):
    from mixbench.pipeline import Pipeline

    said: list[str] = []
    path = str(write(tmp_path, "i.yml", THREE))
    with pytest.raises(InputError, match=r"left out .*i\.yml:12: Models\[1\]\.Metadata"):
        Pipeline(None, warn=said.append).verify(["bad"], index_path=path)
    assert said[0].startswith("index: left out: bad (") and "i.yml:12: " in said[0]
    assert said[-1].startswith("index: 2 models loaded from 1 file")


def test_diff_says_what_an_index_left_out(tmp_path):
    source = load_source(write(tmp_path, "i.yml", THREE))
    assert [card.name for card in source.cards] == ["good", "also_good"]
    assert any("left out: bad (" in note and "i.yml:12" in note for note in source.notes)
    assert source.notes[-1].endswith("1 left out (1 error)")


def test_a_broken_collection_leaves_out_its_models(tmp_path):
    text = (
        "Collections:\n- Name: C\n  Metadata:\n    Crop Pct: 87.5\n"
        "Models:\n- Name: a\n  In Collection: C\n- Name: b\n"
    )
    index = load_index(write(tmp_path, "i.yml", text))
    assert [card.name for card in index] == ["b"]
    [left] = index.left_out
    assert left.name == "a" and left.collection == "C"
    assert "its collection 'C' has a problem: " in left.reason()
    assert "i.yml:4: Collections[0].Metadata.Crop Pct" in left.reason()


def test_duplicates_unknown_collections_and_unnamed_models_cost_themselves(tmp_path):
    text = (
        "Models:\n- Name: a\n- Name: a\n  Metadata: {Parameters: 5}\n"
        "- Name: b\n  In Collection: Nope\n- Metadata: {FLOPs: 1}\n- Name: c\n"
    )
    index = load_index(write(tmp_path, "i.yml", text))
    assert [card.name for card in index] == ["a", "c"]
    assert index["a"].params is None  # the first of the name is the card
    reasons = [left.reason() for left in index.left_out]
    assert [left.name for left in index.left_out] == ["a", "b", None]
    assert "i.yml:3: Name: duplicate model name 'a'" in reasons[0]
    assert "i.yml:6: Models[2].In Collection: unknown collection 'Nope'" in reasons[1]
    assert reasons[2].endswith("i.yml:7: Models[3]: model has no Name")


def test_a_missing_import_or_a_broken_file_costs_only_itself(tmp_path):
    write(tmp_path, "ok.yml", "Models:\n- Name: a\n")
    write(tmp_path, "broken.yml", "Models:\n- Name: [unclosed\n")
    root = write(tmp_path, "root.yml", "Import:\n- ok.yml\n- missing.yml\n- broken.yml\n")
    index = load_index(root)
    assert [card.name for card in index] == ["a"]
    assert len(index.problems) == 2 and not index.left_out
    assert len(index.problems_outside_models()) == 2
    assert index.headline().endswith(
        "0 left out (2 errors, 2 outside any model: a file or import not read)"
    )
    listed = run("list", "--index", str(root))
    assert listed.exit_code == 0
    assert "error: not read: " in listed.stderr and "root.yml:3: Import[1]: file not found" in (
        listed.stderr
    )
    assert "broken.yml:2: malformed YAML" in listed.stderr


def test_nothing_loadable_is_still_an_error(tmp_path):
    path = write(tmp_path, "i.yml", "Models:\n- Name: a\n  Metadata: {Parameters: lots}\n")
    with pytest.raises(IndexProblems) as raised:
        load_index(path)
    assert "i.yml:3: Models[0].Metadata.Parameters" in str(raised.value.problems[0])
    assert run("list", "--index", str(path)).exit_code == 2


def test_unknown_metrics_of_any_value_are_kept(tmp_path):
    text = (
        "Models:\n- Name: m\n  Results:\n  - Task: Caption\n    Dataset: COCO\n    Metrics:\n"
        "      BLEU-4: n/a\n      CIDEr: 144.5\n      mAP: [1, 2]\n      Recall@1: .nan\n"
        "      SPICE: null\n"
    )
    card = load_index(write(tmp_path, "i.yml", text))["m"]
    assert card.metric("BLEU-4", "COCO") == "n/a" and card.metric("CIDEr", "COCO") == 144.5
    assert card.metric("mAP", "COCO") == "[1, 2]" and card.metric("Recall@1", "COCO") == "nan"
    assert card.metric("SPICE", "COCO") is None
    assert [w.field for w in card.not_published] == ["Models[0].Results[0].Metrics.SPICE"]
    json.dumps(card.to_dict(), allow_nan=False)  # every kept value is valid JSON


def test_a_model_value_wins_over_its_collections_null_and_back(tmp_path):
    text = (
        "Collections:\n- Name: C\n  Code: {URL: null}\n  Metadata: {FLOPs: 7}\n"
        "Models:\n- Name: m\n  In Collection: C\n  Code: https://example.org\n"
        "  Metadata: {FLOPs: null}\n"
    )
    index = load_index(write(tmp_path, "i.yml", text))
    card = index["m"]
    assert card.code_url == "https://example.org" and card.flops == 7
    assert card.not_published == ()  # each gap is filled by the other side
    assert len(index.not_published) == 2  # the source still has both nulls: index check says


# ------------------------------------------------------------------------ hypothesis: every empty form

EMPTY_FORMS = ["null", "~", "", "''", '""', "[]", "{}", "'  '"]


@dataclass(frozen=True)
class Slot:
    """One field the generated card may leave empty, and how the card shows it."""

    key: str
    value: str
    indent: int
    field: str  # its path in the warning
    check: str  # the card attribute (or metric) that is then absent


METADATA = [
    Slot("Parameters", "5000000", 4, "Models[0].Metadata.Parameters", "params"),
    Slot("FLOPs", "400000000", 4, "Models[0].Metadata.FLOPs", "flops"),
    Slot("File Size", "2000", 4, "Models[0].Metadata.File Size", "file_size"),
    Slot("Crop Pct", "'0.875'", 4, "Models[0].Metadata.Crop Pct", "crop_pct"),
    Slot("Image Size", "224", 4, "Models[0].Metadata.Image Size", "image_size"),
    Slot("Interpolation", "bicubic", 4, "Models[0].Metadata.Interpolation", "interpolation"),
    Slot("Architecture", "[MixConv]", 4, "Models[0].Metadata.Architecture", "architecture"),
]
METRICS = [
    Slot("Top 1 Accuracy", "78.98%", 8, "Models[0].Results[0].Metrics.Top 1 Accuracy", "top1"),
    Slot("Top 5 Accuracy", "94.5%", 8, "Models[0].Results[0].Metrics.Top 5 Accuracy", "top5"),
    Slot("BLEU-4", "42.6", 8, "Models[0].Results[0].Metrics.BLEU-4", "BLEU-4"),
]
CODE = Slot("URL", "https://example.org/code", 4, "Collections[0].Code.URL", "code_url")
WEIGHTS = Slot("Weights", "https://example.org/w.pth", 2, "Models[0].Weights", "weights_url")


@dataclass
class Card:
    lines: list[str]
    expected: dict[str, int]  # warning field → the line it must name
    absent: set[str]


def _slot(card: Card, slot: Slot, empty: str | None) -> None:
    value = slot.value if empty is None else empty
    card.lines.append(" " * slot.indent + f"{slot.key}: {value}".rstrip())
    if empty is not None:
        card.expected[slot.field] = len(card.lines)
        card.absent.add(slot.check)


def _block(card: Card, key: str, indent: int, field: str, empty: str | None, whole: list[str]):
    """A mapping key that may itself be empty: then nothing under it is published."""
    if empty is None:
        card.lines.append(" " * indent + f"{key}:")
        return True
    card.lines.append(" " * indent + f"{key}: {empty}".rstrip())
    card.expected[field] = len(card.lines)
    card.absent.update(whole)
    return False


@st.composite
def cards(draw):
    """A card in which any subset of fields, metrics, Code, Metrics, Results and Metadata is
    left empty, in any of the forms indexes use (`Key:`, null, ~, '', [], {})."""

    def empty() -> str | None:
        return draw(st.one_of(st.none(), st.sampled_from(EMPTY_FORMS)))

    card = Card(["Collections:", "- Name: C"], {}, set())
    if _block(card, "  Code", 0, "Collections[0].Code", empty(), ["code_url"]):
        _slot(card, CODE, empty())
    card.lines += ["Models:", "- Name: m", "  In Collection: C"]
    if _block(card, "  Metadata", 0, "Models[0].Metadata", empty(), [s.check for s in METADATA]):
        for slot in METADATA:
            _slot(card, slot, empty())
    everything = [s.check for s in METRICS]
    if _block(card, "  Results", 0, "Models[0].Results", empty(), everything):
        card.lines += ["  - Task: Image Classification", "    Dataset: ImageNet"]
        if _block(card, "    Metrics", 0, "Models[0].Results[0].Metrics", empty(), everything):
            for slot in METRICS:
                _slot(card, slot, empty())
    _slot(card, WEIGHTS, empty())
    return card


HYPOTHESIS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(cards())
def test_any_empty_field_loads_absent_with_a_located_warning(card):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "i.yml"
        path.write_text("\n".join(card.lines) + "\n")
        index, problems = check_index(path)
        assert problems == [], "\n".join(card.lines)
        loaded = load_index(path)["m"]
        strict = check_index(path, strict=True)[1]
    found = {warning.field: warning.line for warning in index.not_published}
    assert found == card.expected, "\n".join(card.lines)
    assert all(w.file == str(path) or w.file.endswith("i.yml") for w in index.not_published)
    for name in ("params", "flops", "file_size", "crop_pct", "image_size", "interpolation"):
        assert (loaded.figure(name) is None) == (name in card.absent), name
    assert (loaded.architecture == ()) == ("architecture" in card.absent)
    assert (loaded.code_url is None) == ("code_url" in card.absent)
    assert (loaded.weights_url is None) == ("weights_url" in card.absent)
    assert (loaded.top1 is None) == ("top1" in card.absent)
    assert (loaded.top5 is None) == ("top5" in card.absent)
    assert (loaded.metric("BLEU-4") is None) == ("BLEU-4" in card.absent)
    # the card carries its own gaps and its collection's; --strict makes each an error
    assert {w.field for w in loaded.not_published} == set(card.expected)
    assert len(strict) == len(card.expected) + len(index.unknown_keys)


BREAKS = [
    ("    Parameters: lots", "Models[{i}].Metadata.Parameters"),
    ("    Crop Pct: 87.5", "Models[{i}].Metadata.Crop Pct"),
    ("    Image Size: big", "Models[{i}].Metadata.Image Size"),
    ("    Interpolation: sharpest", "Models[{i}].Metadata.Interpolation"),
    ("    FLOPs: -5", "Models[{i}].Metadata.FLOPs"),
]


@HYPOTHESIS
@given(
    count=st.integers(2, 6),
    data=st.data(),
    broken=st.sampled_from(BREAKS),
    null=st.sampled_from(EMPTY_FORMS),
)
def test_a_broken_value_costs_only_its_model(count, data, broken, null):
    bad = data.draw(st.integers(0, count - 1))
    lines = ["Models:"]
    for i in range(count):
        lines += [f"- Name: m{i}", "  Metadata:", f"    File Size: {null}".rstrip()]
        if i == bad:
            lines.append(broken[0])
            broken_line = len(lines)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "i.yml"
        path.write_text("\n".join(lines) + "\n")
        index = load_index(path)
    assert [card.name for card in index] == [f"m{i}" for i in range(count) if i != bad]
    [left] = index.left_out
    assert left.name == f"m{bad}"
    [problem] = left.problems
    assert (problem.line, problem.field) == (broken_line, broken[1].format(i=bad))
    assert len(index.not_published) == count  # every null said, the left-out model's too


@pytest.mark.parametrize("text", ["Models: []\n", "Models:\n", "Collections:\n- Name: c\n"])
def test_a_source_with_no_model_is_refused_never_ok(tmp_path, text):
    """Zero models checks nothing: `index check` exits 2, and `list` too."""
    from mixbench.cli import cli

    path = write(tmp_path, "i.yml", text)
    checked = CliRunner().invoke(cli, ["index", "check", str(path)])
    assert checked.exit_code == 2 and "no models" in checked.output
    listed = CliRunner().invoke(cli, ["list", "--index", str(path)])
    assert listed.exit_code == 2 and "no models" in listed.output
