"""`diff`: our cards against timm's published results, matching and unit alignment."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from index_helpers import write

from mixbench.diff import compare_values, diff_sources
from mixbench.errors import InputError
from mixbench.index import load_index, packaged_index_path
from mixbench.index.published import load_source
from mixbench.index.timm_results import dataset_from_filename, read_timm_results

TIMM_CSV = Path(__file__).parents[1] / "data" / "results-imagenet.csv"


@pytest.fixture(scope="module")
def timm_cards():
    return read_timm_results(TIMM_CSV)


def test_real_timm_csv_diffs_clean_within_five_hundredths(timm_cards):
    report = diff_sources(list(load_index()), timm_cards, tolerance=0.05)
    assert len(report.pairs) == 7
    assert ("mixnet_xl", "mixnet_xl.ra_in1k") in report.pairs
    assert ("tf_mixnet_s", "tf_mixnet_s.in1k") in report.pairs
    # params, image size, crop pct, interpolation, top-1, top-5 for each model
    assert len(report.comparisons) == 7 * 6
    assert report.ok, report.differences


def test_without_tolerance_the_drift_shows(timm_cards):
    report = diff_sources(list(load_index()), timm_cards)
    drift = {(c.model_a, c.field): c.delta for c in report.differences}
    assert drift[("mixnet_xl", "top1 (ImageNet)")] == pytest.approx(0.024)
    assert drift[("tf_mixnet_s", "top1 (ImageNet)")] == pytest.approx(-0.024)
    assert all(not field.startswith("params") for _, field in drift)  # 4.13M == 4,130,000


def test_a_changed_figure_is_reported(tmp_path, timm_cards):
    text = (packaged_index_path() / "mixnet.md").read_text()
    changed = write(
        tmp_path, "card.md", text.replace("Top 1 Accuracy: 75.99%", "Top 1 Accuracy: 77.99%")
    )
    report = diff_sources(list(load_index(changed)), timm_cards, tolerance=0.05)
    [difference] = report.differences
    assert (difference.model_a, difference.field) == ("mixnet_s", "top1 (ImageNet)")
    assert difference.delta == pytest.approx(-1.99)
    assert not report.ok


def test_older_column_order_and_params_in_millions(tmp_path):
    csv = write(
        tmp_path,
        "results-imagenet.csv",
        "model,top1,top5,param_count,img_size,interpolation,crop_pct,top1_err\n"
        'mixnet_s,75.990,92.790,"4.13",224,bicubic,0.875,24.01\n',
    )
    [card] = read_timm_results(csv)
    assert (card.params, card.top1, card.image_size, card.crop_pct) == (4130000, 75.99, 224, 0.875)
    report = diff_sources(list(load_index()), [card])
    assert report.pairs == [("mixnet_s", "mixnet_s")] and report.ok


def test_fractions_align_with_percent(tmp_path):
    left = write(
        tmp_path,
        "a.yml",
        "Models:\n- Name: m\n  Results:\n  - Dataset: ImageNet\n    Metrics: {Top 1 Accuracy: 0.7898}\n",
    )
    right = write(
        tmp_path,
        "b.yml",
        "Models:\n- Name: m\n  Results:\n  - Dataset: imagenet-1k\n    Metrics: {top1: 78.98%}\n",
    )
    report = diff_sources(list(load_index(left)), list(load_index(right)))
    assert report.ok and len(report.comparisons) == 1


def test_counts_compare_at_the_coarser_rounding():
    assert compare_values(7330000, 7329252, resolution=10000, tolerance=0) == (True, -748)
    assert compare_values(7330000, 7339252, resolution=10000, tolerance=0)[0] is False
    assert compare_values(78.98, 78.97, resolution=0.01, tolerance=0.0)[0] is False
    assert compare_values(78.98, 78.97, resolution=0.01, tolerance=0.01)[0] is True
    assert compare_values("bicubic", "BICUBIC", resolution=None, tolerance=0) == (True, None)


def test_tags_match_only_when_the_other_side_has_none(tmp_path):
    tagged = write(
        tmp_path,
        "t.yml",
        "Models:\n- Name: m.a\n  Metadata: {FLOPs: 1}\n- Name: m.b\n  Metadata: {FLOPs: 1}\n",
    )
    plain = write(tmp_path, "p.yml", "Models:\n- Name: m\n  Metadata: {FLOPs: 1}\n")
    report = diff_sources(list(load_index(plain)), list(load_index(tagged)))
    assert report.pairs == [] and "several tagged models match" in report.notes[0]
    report = diff_sources(list(load_index(tagged)), list(load_index(plain)))
    assert report.pairs == [("m.a", "m"), ("m.b", "m")]


def test_named_sources():
    assert len(load_source("timm:imagenet").cards) > 1000
    assert len(load_source("index").cards) == 7


# ------------------------------------------------------------------------ which dataset a CSV is on


def planted_csv(directory: Path, name: str = "planted.csv") -> Path:
    """timm's MixNet rows with mixnet_l's top-1 lowered by a full point (78.970 → 77.970)."""
    rows = [
        line
        for line in TIMM_CSV.read_text().splitlines()
        if line.startswith(("model,", "mixnet_", "tf_mixnet_"))
    ]
    text = "\n".join(rows).replace("mixnet_l.ft_in1k,224,78.970,", "mixnet_l.ft_in1k,224,77.970,")
    assert "77.970" in text
    return write(directory, name, text + "\n")


def test_a_csv_not_named_for_its_dataset_is_bad_input(tmp_path):
    with pytest.raises(InputError) as raised:
        read_timm_results(planted_csv(tmp_path))
    assert "planted.csv" in raised.value.message
    assert raised.value.hint == "pass --dataset imagenet (or name the file results-<dataset>.csv)"


def test_with_its_dataset_the_lowered_top1_is_found(tmp_path):
    cards = read_timm_results(planted_csv(tmp_path), dataset="imagenet")
    report = diff_sources(list(load_index()), cards, tolerance=0.05)
    [difference] = report.differences
    assert (difference.model_a, difference.field) == ("mixnet_l", "top1 (ImageNet)")
    assert difference.delta == pytest.approx(-1.01)


def test_the_dataset_option_wins_over_the_name_and_says_so(tmp_path):
    path = planted_csv(tmp_path, "results-imagenet.csv")
    source = load_source(path, dataset="imagenet-real")
    assert source.used_dataset
    [note] = source.notes
    assert "ImageNet-ReaL (--dataset), not ImageNet (its name)" in note
    assert source.cards[0].results[0].dataset == "ImageNet-ReaL"
    assert load_source(path, dataset="ImageNet-1k").notes == ()  # the same dataset: no note


def test_named_sources_do_not_take_the_dataset_option():
    assert not load_source("timm:imagenet", dataset="imagenet").used_dataset
    assert not load_source("index", dataset="imagenet").used_dataset


FILE_CHARS = string.ascii_letters + string.digits + "-_."
DATASET_NAMES = st.one_of(
    st.sampled_from(["imagenet", "imagenet-real", "imagenetv2-matched-frequency", "sketch"]),
    st.text(FILE_CHARS, min_size=1, max_size=16),
).filter(lambda name: any(ch.isalnum() for ch in name))
CSV = "model,top1,top5\nm,70.0,90.0\n"
FUZZ = settings(max_examples=80, deadline=None)


@FUZZ
@given(st.text(FILE_CHARS + " ", min_size=1, max_size=24))
def test_any_other_csv_name_needs_a_dataset(stem):
    name = f"{stem}.csv"
    assume(dataset_from_filename(Path(name)) is None)
    with tempfile.TemporaryDirectory() as directory:
        path = write(Path(directory), "x.csv", CSV).rename(Path(directory) / name)
        with pytest.raises(InputError) as raised:
            read_timm_results(path)
        assert raised.value.hint and "--dataset" in raised.value.hint


@FUZZ
@given(DATASET_NAMES)
def test_a_dataset_named_either_way_is_the_one_its_metrics_are_found_under(dataset):
    with tempfile.TemporaryDirectory() as directory:
        by_name = write(Path(directory), f"results-{dataset}.csv", CSV)
        [named] = read_timm_results(by_name)
        [given_] = read_timm_results(write(Path(directory), "table.csv", CSV), dataset=dataset)
    assert named.results == given_.results
    assert named.metric("top1", dataset) == 70.0 and given_.metric("top5", dataset) == 90.0


@FUZZ
@given(st.text(" -_.,;", max_size=5))
def test_a_dataset_without_a_name_is_bad_input(dataset):
    with pytest.raises(InputError):
        read_timm_results("table.csv", dataset=dataset)


# ------------------------------------------------------------------------ what was not compared


def yaml_source(tmp_path: Path, name: str, models: str) -> list:
    return list(load_index(write(tmp_path, name, "Models:\n" + models)))


def test_fields_on_one_side_only_are_listed_with_the_reason(tmp_path):
    a = yaml_source(
        tmp_path,
        "a.yml",
        "- Name: m\n  Metadata: {FLOPs: 5, Parameters: 7}\n  Results:\n"
        "  - {Dataset: ImageNet, Metrics: {top1: 70%, top5: 90%}}\n"
        "- Name: n\n  Metadata: {FLOPs: 5, Parameters: 7}\n",
    )
    b = yaml_source(
        tmp_path,
        "b.yml",
        "- Name: m\n  Metadata: {Parameters: 7}\n  Results:\n"
        "  - {Dataset: ImageNet, Metrics: {top1: 70%}}\n"
        "  - {Dataset: ImageNet-ReaL, Metrics: {top1: 77%}}\n"
        "- Name: n\n  Metadata: {Parameters: 7, FLOPs: 5}\n",
    )
    report = diff_sources(a, b, label_a="A", label_b="B")
    assert report.ok and len(report.comparisons) == 4  # params ×2, FLOPs of n, top1 of m
    assert {(f.model_a, f.field, f.side, f.reason) for f in report.one_sided} == {
        ("m", "FLOPs", "a", "only in A"),
        ("m", "top5 (ImageNet)", "a", "only in A"),
        ("m", "top1 (ImageNet-ReaL)", "b", "only in B: A has no results on ImageNet-ReaL"),
    }
    lines = report.not_compared()
    # B has FLOPs for n, so m's missing FLOPs is listed per model; the others are summarised
    assert "m: FLOPs: only in A" in lines
    assert (
        "top1 (ImageNet-ReaL): only in B (1 matched model); A has no results on ImageNet-ReaL "
        "for any of them" in lines
    )
    data = report.to_dict()
    assert data["fields_not_compared"] == 3 and len(data["not_compared"]) == 3
    assert {s["field"] for s in data["not_compared_summary"]} == {
        "top5 (ImageNet)",
        "top1 (ImageNet-ReaL)",
    }


def test_fields_one_side_never_publishes_are_summarised(timm_cards):
    report = diff_sources(list(load_index()), timm_cards, label_a="index", label_b="timm")
    assert len(report.one_sided) == 14  # FLOPs and file size of 7 models
    assert report.not_compared() == [
        "FLOPs: only in index (7 matched models); timm has it for none of them",
        "file size: only in index (7 matched models); timm has it for none of them",
    ]


def test_matched_models_sharing_no_field_compared_nothing(tmp_path):
    a = yaml_source(tmp_path, "a.yml", "- Name: m\n  Metadata: {FLOPs: 5}\n")
    b = yaml_source(tmp_path, "b.yml", "- Name: m\n  Metadata: {Parameters: 7}\n")
    report = diff_sources(a, b)
    assert report.pairs == [("m", "m")] and report.compared_nothing and not report.ok
    assert "m: matched, but no field in common" in report.notes
    assert report.to_dict()["compared_nothing"] is True
    assert len(report.not_compared()) == 2


def test_the_sources_warnings_are_carried_into_the_report(tmp_path):
    a = yaml_source(tmp_path, "a.yml", "- Name: m\n  Metadata: {Paramters: 7, FLOPs: 1}\n")
    b = yaml_source(tmp_path, "b.yml", "- Name: m\n  Metadata: {Parameters: 7, FLOPs: 1}\n")
    report = diff_sources(a, b)
    [warning] = report.warnings
    assert "Paramters" in warning and "did you mean 'Parameters'?" in warning
    assert "params: only in B" in report.not_compared()[0]


@pytest.mark.parametrize("tolerance", [float("nan"), float("inf"), -5.0])
def test_a_tolerance_that_compares_nothing_is_refused(tolerance):
    """NaN makes every figure differ, infinity every accuracy agree, a negative one agreeing
    figures differ: the API refuses them as the command line does."""
    from mixbench.diff import DiffOptions

    with pytest.raises(InputError, match="not a tolerance"):
        DiffOptions(tolerance=tolerance)
