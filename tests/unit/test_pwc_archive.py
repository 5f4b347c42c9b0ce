"""paperswithcode's archived evaluation tables as a source: rows on one dataset, as cards."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixbench.errors import IndexProblems, InputError, MixbenchError
from mixbench.index import pwc_archive
from mixbench.index.published import load_source
from mixbench.index.pwc_archive import is_pwc_archive, read_pwc_archive

FIXTURE = Path(__file__).parents[1] / "data" / "pwc-archive" / "evaluation-tables-mixconv.json"
PAPER = "MixConv: Mixed Depthwise Convolutional Kernels"


def cards_by_name(path: Path, dataset: str | None = None) -> dict[str, Any]:
    return {card.name: card for card in read_pwc_archive(path, dataset).cards}


def task(rows: list[dict[str, Any]], *, dataset: str = "ImageNet", **extra: Any) -> dict:
    sota = {"metrics": [], "rows": rows}
    return {
        "task": "Image Classification",
        "datasets": [{"dataset": dataset, "sota": sota}],
        **extra,
    }


def row(name: str = "Net-A", **metrics: Any) -> dict[str, Any]:
    return {"model_name": name, "paper_title": "A paper", "paper_url": "https://a.org/1",
            "metrics": metrics}  # fmt: skip


def write_json(directory: Path, value: Any, name: str = "tables.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(value))
    return path


# ------------------------------------------------------------------------ the MixConv fixture


def test_the_fixture_holds_the_papers_imagenet_rows():
    read = read_pwc_archive(FIXTURE)
    assert [card.name for card in read.cards] == ["MixNet-S", "MixNet-M", "MixNet-L"]
    figures = {card.name: (card.params, card.flops, card.top1, card.top5) for card in read.cards}
    assert figures == {
        "MixNet-S": (4_100_000, 256_000_000, 75.8, 92.8),
        "MixNet-M": (5_000_000, 360_000_000, 77.0, 93.3),
        "MixNet-L": (7_300_000, 565_000_000, 78.9, 94.2),
    }
    small = read.cards[0]
    # "4.1M" and "0.256" GFLOPs are published to 100,000 and to 1M; "75.8%" to 0.1 points
    assert small.resolution == {"params": 100_000, "flops": 1_000_000}
    assert small.results[0].metrics["top1"].resolution == pytest.approx(0.1)
    assert small.paper.title == PAPER and small.paper.url == "https://arxiv.org/abs/1907.09595v3"
    assert small.code_url.startswith("https://github.com/tensorflow/tpu")
    assert small.extra["paper_date"] == "2019-07-22"
    assert read.notes[0].endswith("3 models from 2 leaderboard(s) on ImageNet (the default; "
                                  "--dataset NAME for another)")  # fmt: skip


def test_subtasks_are_walked_and_other_datasets_left_out():
    cards = cards_by_name(FIXTURE)
    assert cards["MixNet-L"].tasks == ("Image Classification > Mobile Image Classification",)
    # the CIFAR-10 probe row (99.9) is another dataset's: nothing of it reaches the cards
    assert all(card.top1 != 99.9 and "metrics" not in card.extra for card in cards.values())
    cifar = read_pwc_archive(FIXTURE, "cifar-10")
    [probe] = cifar.cards
    assert probe.metric("top1", "CIFAR-10") == 99.9
    assert probe.extra["metrics"] == {"Percentage correct": "99.9"}
    assert (
        "metrics not compared (kept in the cards' extra): Percentage correct (1)" in cifar.notes[1]
    )


@pytest.mark.parametrize("dataset", ["ImageNet", "imagenet-1k", "ILSVRC2012", "imagenet"])
def test_the_dataset_matches_loosely(dataset):
    assert list(cards_by_name(FIXTURE, dataset)) == ["MixNet-S", "MixNet-M", "MixNet-L"]


def test_load_source_reads_the_archive_form():
    source = load_source(FIXTURE)
    assert len(source.cards) == 3 and not source.used_dataset
    assert load_source(FIXTURE, dataset="imagenet").used_dataset


# ------------------------------------------------------------------------ the forms and slices


def test_a_task_a_list_a_dataset_object_json_lines_and_gzip_read_alike(tmp_path):
    tasks = json.loads(FIXTURE.read_text())
    whole = [card.to_dict() for card in read_pwc_archive(FIXTURE).cards]

    def same(path: Path, names: list[str]) -> None:
        got = read_pwc_archive(path).cards
        assert [card.name for card in got] == names
        wanted = {card["name"]: card for card in whole}
        for card in got:
            data = card.to_dict()
            assert (data["params"], data["flops"]) == (wanted[card.name]["params"],
                                                       wanted[card.name]["flops"])  # fmt: skip

    same(write_json(tmp_path, tasks[0], "task.json"), ["MixNet-S", "MixNet-M", "MixNet-L"])
    subtask = tasks[0]["subtasks"][0]
    same(write_json(tmp_path, subtask["datasets"][0], "dataset.json"), ["MixNet-L"])
    lines = tmp_path / "tables.jsonl"
    lines.write_text("\n".join(json.dumps(t) for t in [tasks[0], subtask]) + "\n")
    # the subtask read again from its own line: the same model and paper, merged into one card
    same(lines, ["MixNet-S", "MixNet-M", "MixNet-L"])
    packed = tmp_path / "evaluation-tables.json.gz"
    packed.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    same(packed, ["MixNet-S", "MixNet-M", "MixNet-L"])


def test_a_list_is_read_one_task_at_a_time(tmp_path, monkeypatch):
    """A window far smaller than one task: each task is decoded as the window grows, and
    what comes out equals reading the file whole."""
    tasks = [task([row(f"Net-{i}", **{"Top 1 Accuracy": f"{70 + i}.5%"})]) for i in range(30)]
    path = tmp_path / "tables.json"
    path.write_text(json.dumps(tasks, indent=2))
    whole = [card.to_dict() for card in read_pwc_archive(path).cards]
    monkeypatch.setattr(pwc_archive, "CHUNK_CHARS", 7)
    assert [card.to_dict() for card in read_pwc_archive(path).cards] == whole
    assert len(whole) == 30 and whole[29]["results"][0]["metrics"]["top1"]["value"] == 99.5


def test_a_model_index_in_json_is_not_taken_for_an_archive(tmp_path):
    index = write_json(tmp_path, {"Models": [{"Name": "m", "Results": []}]}, "index.json")
    hf = write_json(tmp_path, [{"name": "m", "results": [{"dataset": {"name": "x"}}]}], "hf.json")
    assert is_pwc_archive(FIXTURE)
    assert not is_pwc_archive(index) and not is_pwc_archive(hf)
    assert is_pwc_archive(write_json(tmp_path, [task([])], "tables.jsonl"))


# ------------------------------------------------------------------------ values


@pytest.mark.parametrize(
    ("key", "value", "figure", "expected"),
    [
        ("Top 1 Accuracy", "78.9%", "top1", 78.9),
        ("Top-5 Accuracy", 94.2, "top5", 94.2),
        ("Number of params", "4.1M", "params", 4_100_000),
        ("Params", "7330000", "params", 7_330_000),
        ("Parameters", 5.01e6, "params", 5_010_000),
        ("GFLOPs", "0.256", "flops", 256_000_000),
        ("GFLOPs", 1.3, "flops", 1_300_000_000),
        ("FLOPs", "1.3G", "flops", 1_300_000_000),
        ("MFLOPs", "565", "flops", 565_000_000),
    ],
)
def test_values_parse_as_on_any_card(tmp_path, key, value, figure, expected):
    [card] = read_pwc_archive(write_json(tmp_path, [task([row(**{key: value})])])).cards
    got = card.top1 if figure == "top1" else card.top5 if figure == "top5" else card.figure(figure)
    assert got == pytest.approx(expected) and not card.warnings


def test_a_fraction_is_converted_and_said(tmp_path):
    [card] = read_pwc_archive(
        write_json(tmp_path, [task([row(**{"Top 1 Accuracy": 0.789})])])
    ).cards
    assert card.top1 == pytest.approx(78.9)
    assert "read as a fraction" in card.notes[0]


def test_a_value_that_does_not_parse_is_a_warning_naming_the_row(tmp_path):
    metrics = {"Top 1 Accuracy": "see text", "Number of params": "1e999999999", "GFLOPs": "0.3"}
    path = write_json(tmp_path, [task([row("Other"), row("Net-B", **metrics)])])
    cards = cards_by_name(path)
    card = cards["Net-B"]
    assert card.flops == 300_000_000 and card.top1 is None and card.params is None
    fields = {warning.field for warning in card.warnings}
    assert fields == {
        "Image Classification > ImageNet > rows[1] (Net-B) > Top 1 Accuracy",
        "Image Classification > ImageNet > rows[1] (Net-B) > Number of params",
    }
    assert all(warning.file == str(path) and "not compared" in warning.message
               for warning in card.warnings)  # fmt: skip


def test_unknown_metrics_are_kept_and_said_and_misspellings_suggested(tmp_path):
    metrics = {"Hardware Burden": "1.2", "Top 1 Acuracy": "70%", "Top 1 Accuracy": None}
    read = read_pwc_archive(write_json(tmp_path, [task([row(**metrics)])]))
    [card] = read.cards
    assert card.extra["metrics"] == {"Hardware Burden": "1.2", "Top 1 Acuracy": "70%"}
    [warning] = card.warnings
    assert warning.suggestion == "Top 1 Accuracy" and "unknown metric" in warning.message
    assert any("Hardware Burden (1), Top 1 Acuracy (1)" in note for note in read.notes)
    assert any("1 empty metric value(s): not published" in note for note in read.notes)


def test_one_model_in_two_tables_merges_and_a_namesake_from_another_paper_is_renamed(tmp_path):
    first = task(
        [row(**{"Top 1 Accuracy": "70%"})],
        subtasks=[task([row(**{"Top 1 Accuracy": "71%", "GFLOPs": "1"})])],
    )
    other_paper = {**row(**{"Top 1 Accuracy": "60%"}), "paper_url": "https://b.org/2",
                   "paper_title": "B paper"}  # fmt: skip
    read = read_pwc_archive(write_json(tmp_path, [first, task([other_paper])]))
    cards = {card.name: card for card in read.cards}
    assert set(cards) == {"Net-A", "Net-A [B paper]"}
    merged = cards["Net-A"]
    assert merged.top1 == 70.0 and merged.flops == 1_000_000_000  # the first kept, FLOPs added
    [conflict] = merged.warnings
    assert "top1 71.0 differs from" in conflict.message
    assert any("'Net-A' from another paper is named 'Net-A [B paper]'" in n for n in read.notes)


# ------------------------------------------------------------------------ bad input


def test_no_row_on_the_dataset_is_bad_input_with_the_closest_name(tmp_path):
    with pytest.raises(InputError) as raised:
        read_pwc_archive(FIXTURE, "CIFAR-100")
    assert "no leaderboard rows on CIFAR-100" in raised.value.message
    assert raised.value.hint == "did you mean --dataset 'CIFAR-10'?"
    with pytest.raises(InputError, match="no leaderboard rows"):
        read_pwc_archive(write_json(tmp_path, [{"task": "x", "datasets": []}]))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[{"task": "x",\n "datasets": [}]', 2, "malformed JSON"),
        ('[{"task": "x"}\n\n{"task": "y"}]', 3, "expected ',' or ']'"),
        ('[{"task": "x"}', 1, "expected ',' or ']', found the end of the file"),
        ('{"task": "x", "datasets": [', 1, "malformed JSON"),
        ("", None, "empty file"),
    ],
)
def test_malformed_json_is_the_projects_error_with_its_line(
    tmp_path, monkeypatch, text, line, message
):
    monkeypatch.setattr(pwc_archive, "CHUNK_CHARS", 5)  # lines counted across the window
    path = tmp_path / "tables.json"
    path.write_text(text)
    with pytest.raises(IndexProblems) as raised:
        read_pwc_archive(path)
    [problem] = raised.value.problems
    assert (problem.file, problem.line) == (str(path), line) and message in problem.message
    assert "paperswithcode archive" in raised.value.hint


@pytest.mark.parametrize("name", ["tables.json", "tables.jsonl"])
def test_an_integer_too_long_for_python_is_refused_not_a_crash(tmp_path, name):
    path = tmp_path / name
    path.write_text('[{"task": "x", "datasets": [' + "1" * 5000 + "]}]")
    with pytest.raises(IndexProblems, match="unreadable JSON"):
        read_pwc_archive(path)


def test_a_corrupt_gzip_is_refused(tmp_path):
    path = tmp_path / "tables.json.gz"
    path.write_bytes(gzip.compress(FIXTURE.read_bytes())[:40] + b"\x00" * 64)
    with pytest.raises(IndexProblems, match="cannot read file"):
        read_pwc_archive(path)


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ([1], "[0]", "expected a task object, got int 1"),
        ([{"task": 3}], "[0] task", "expected a task name"),
        ([{"task": "t", "datasets": {}}], "[0] t > datasets", "expected a list"),
        ([task([{"metrics": {}}])], "Image Classification > ImageNet > rows[0]", "model_name"),
        ([task([row(), "x"])], "Image Classification > ImageNet > rows[1]", "a row object"),
        ([{"task": "t", "subtasks": [7]}], "[0].subtasks[0]", "expected a task object"),
    ],
)
def test_the_wrong_shape_is_bad_input_naming_the_place(tmp_path, value, field, message):
    with pytest.raises(IndexProblems) as raised:
        read_pwc_archive(write_json(tmp_path, value))
    assert any(p.field == field and message in p.message for p in raised.value.problems), [
        str(p) for p in raised.value.problems
    ]


# ------------------------------------------------------------------------ hostile input: fuzzed

KEYS = ["task", "datasets", "subtasks", "dataset", "subdataset", "subdatasets", "sota", "rows",
        "metrics", "model_name", "paper_title", "paper_url", "code_links", "Top 1 Accuracy",
        "Number of params", "GFLOPs", "url"]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["ImageNet", "78.9%", "4.1M", "0.256", "1e999999999", "-", "", "x"]),
    st.text(max_size=8),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=30,
)
FUZZ = settings(max_examples=150, deadline=None)


def read_or_refuse(path: Path) -> None:
    """Cards, or the project's error: never another exception."""
    try:
        read_pwc_archive(path)
    except MixbenchError as error:
        assert error.lines() and all(isinstance(line, str) for line in error.lines())


@FUZZ
@given(JSON, st.sampled_from(["tables.json", "tables.jsonl"]))
def test_any_json_shape_reads_or_is_refused_never_a_crash(value, name):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_text(json.dumps(value))
        read_or_refuse(path)


@FUZZ
@given(st.lists(JSON, max_size=4), st.integers(min_value=0, max_value=200))
def test_any_list_of_tasks_cut_anywhere_reads_or_is_refused(tasks, cut):
    text = json.dumps([task([row()]), *tasks])
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "tables.json"
        path.write_text(text[: len(text) - cut])
        read_or_refuse(path)


@FUZZ
@given(st.binary(max_size=64))
def test_any_bytes_read_or_are_refused(data):
    with tempfile.TemporaryDirectory() as directory:
        for name in ("tables.json", "tables.jsonl", "tables.json.gz"):
            path = Path(directory) / name
            path.write_bytes(data)
            read_or_refuse(path)


ROWS = st.lists(
    st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"model_name": st.one_of(st.sampled_from(["Net-A", "Net-B"]), SCALARS)},
            optional={
                "metrics": st.one_of(
                    JSON, st.dictionaries(st.sampled_from(KEYS[-4:]), SCALARS, max_size=4)
                ),
                "paper_url": SCALARS,
                "paper_title": SCALARS,
                "code_links": JSON,
                "uses_additional_data": SCALARS,
            },
        ),
    ),
    max_size=5,
)


@FUZZ
@given(ROWS)
def test_any_rows_on_the_dataset_read_or_are_refused(rows):
    with tempfile.TemporaryDirectory() as directory:
        path = write_json(Path(directory), [task(rows), task(rows, dataset="imagenet-1k")])
        read_or_refuse(path)
