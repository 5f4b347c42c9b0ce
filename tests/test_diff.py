"""`diff`: our cards against timm's published results, matching and unit alignment."""

from __future__ import annotations

from pathlib import Path

import pytest
from index_helpers import write

from mixbench.diff import compare_values, diff_sources
from mixbench.index import load_index, packaged_index_path
from mixbench.index.sources import load_source
from mixbench.index.timm_results import read_timm_results

TIMM_CSV = Path(__file__).parent / "data" / "results-imagenet.csv"


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
