"""Verdicts that cannot pass silently: bad input refused up front, synthetic data is no evidence,
the weights' hash prefix, accuracy with its 95 % interval, coverage in the headline, --require."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.index import load_index
from mixbench.measure.statistics import (
    AccuracyEvidence,
    expected_classes,
    judge_accuracy,
    sample_selection,
    wilson_interval,
)
from mixbench.report.verify import render_model
from mixbench.store import sha256_file
from mixbench.verify import (
    CHECK_NAMES,
    Check,
    VerifyOptions,
    VerifyReport,
    apply_requirements,
    judge_accuracy_check,
    parse_require,
    verify,
)

CARD = """\
Models:
- Name: mixnet_s
  Metadata:
    Parameters: 4134606
    File Size: {file_size}
    Crop Pct: '0.875'
    Image Size: '224'
    Interpolation: bicubic
  Weights: https://example.org/weights/{weights_file}
  Results:
  - Task: Image Classification
    Dataset: ImageNet
    Metrics:
      Top 1 Accuracy: {top1}%
      Top 5 Accuracy: {top5}%
"""


def _card(tmp_path: Path, weights: Path, weights_file: str, top1: float = 75.0) -> Path:
    path = tmp_path / "index.yml"
    path.write_text(
        CARD.format(
            file_size=weights.stat().st_size, weights_file=weights_file, top1=top1, top5=92.0
        )
    )
    return path


def _invoke(tmp_path: Path, *arguments: str):
    return CliRunner().invoke(cli, ["verify", *arguments, "--db", str(tmp_path / "runs.sqlite")])


# ------------------------------------------------------------------------------ statistics


def test_wilson_interval_known_values():
    low, high = wilson_interval(790, 1000)
    assert (round(low, 2), round(high, 2)) == (76.37, 81.41)
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == pytest.approx(100.0)


@given(st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_holds_the_estimate_and_stays_in_range(hits_count):
    hits, count = hits_count
    low, high = wilson_interval(hits, count)
    assert 0.0 <= low <= 100.0 * hits / count + 1e-9
    assert 100.0 * hits / count - 1e-9 <= high <= 100.0
    assert high - low <= 100.0


def test_more_images_narrow_the_interval():
    widths = [wilson_interval(79 * n, 100 * n) for n in (1, 10, 100)]
    assert [h - lo for lo, h in widths] == sorted((h - lo for lo, h in widths), reverse=True)


@given(
    published=st.floats(0, 100),
    measured=st.floats(0, 100),
    count=st.integers(1, 49_999),
    tolerance=st.floats(0, 20),
)
def test_a_sample_passes_only_when_its_whole_interval_is_within_tolerance(
    published, measured, count, tolerance
):
    evidence = AccuracyEvidence.of(measured, count, "images")
    verdict = judge_accuracy(published, evidence, tolerance)
    inside = (
        published - tolerance - 1e-9 <= evidence.low
        and evidence.high <= published + tolerance + 1e-9
    )
    outside = evidence.high < published - tolerance or evidence.low > published + tolerance
    assert verdict == ("pass" if inside else "fail" if outside else "inconclusive")


@given(published=st.floats(0, 100), measured=st.floats(0, 100), tolerance=st.floats(0, 5))
def test_a_subset_of_classes_never_passes_or_fails(published, measured, tolerance):
    evidence = AccuracyEvidence.of(measured, 5_000, "classes")
    assert judge_accuracy(published, evidence, tolerance) == "inconclusive"


def test_the_full_set_is_judged_on_the_difference():
    evidence = AccuracyEvidence.of(75.95, 50_000, "full")
    assert judge_accuracy(75.99, evidence, 0.1) == "pass"
    assert judge_accuracy(76.2, evidence, 0.1) == "fail"


def test_chosen_classes_are_told_from_a_random_sample():
    assert expected_classes(1000) == pytest.approx(636, abs=1)
    assert sample_selection(1000, 630) == "images"  # what a random 1,000 images span
    assert sample_selection(1000, 100) == "classes"  # 10 images of each of 100 classes
    assert sample_selection(5000, 100) == "classes"  # 100 whole synset folders
    assert sample_selection(50_000, 1000) == "full"


def test_an_accuracy_check_carries_its_interval():
    options = VerifyOptions()
    sample = judge_accuracy_check("top1", 75.99, 70.0, 1000, "images", options)
    assert sample.status == "fail"  # 75.99 lies far outside 67.1–72.7
    assert "95% CI 67.09–72.76" in sample.reason
    assert sample.details["interval"] == pytest.approx([67.09, 72.76], abs=0.01)
    unsure = judge_accuracy_check("top1", 75.99, 76.0, 1000, "images", options)
    assert unsure.status == "inconclusive" and "too wide to tell ±0.1 points" in unsure.reason
    subset = judge_accuracy_check("top1", 75.99, 76.0, 5000, "classes", options)
    assert subset.status == "inconclusive" and "subset of the classes" in subset.reason


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--data", "/nonexistent/val"], "no such data source: /nonexistent/val"),
        (["--labels", "val.txt"], "--labels is for the accuracy check"),
        (["--workers", "2"], "--workers is for the accuracy check"),
        (["--cache-dir", "/tmp"], "--cache-dir is for the accuracy check"),
        (["--batch", "8"], "--batch is for the accuracy and speed checks"),
        (["--amp"], "--amp applies to the accuracy and speed checks"),
        (["--require", "top9"], "'top9' is not a check name"),
        (["--weights", "w.pth", "--pretrained"], "not both"),
    ],
)
def test_bad_or_ignored_options_are_refused_before_anything_runs(tmp_path, arguments, message):
    result = _invoke(tmp_path, "mixnet_s", *arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "hint:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs.sqlite").exists() or not _stored(tmp_path)


def _stored(tmp_path: Path) -> list[object]:
    from mixbench.store import ResultsStore

    return ResultsStore(tmp_path / "runs.sqlite").runs(kind="verify")


def test_a_folder_as_data_with_cache_dir_is_refused(imagenet, tmp_path):
    folder, _weights, _ = imagenet
    result = _invoke(tmp_path, "mixnet_s", "--data", str(folder), "--cache-dir", str(tmp_path))
    assert result.exit_code == 2 and "is not one" in result.output


def test_a_bad_data_folder_is_refused_even_without_weights(tmp_path):
    (tmp_path / "val" / "not_a_synset").mkdir(parents=True)
    result = _invoke(tmp_path, "mixnet_s", "--data", str(tmp_path / "val"))
    assert result.exit_code == 2, result.output
    assert not _stored(tmp_path)


@pytest.mark.slow
def test_synthetic_data_is_no_evidence(imagenet):
    _folder, weights, _ = imagenet
    report = verify("mixnet_s", VerifyOptions(data="synthetic:4", weights=str(weights)))
    for name in ("top1", "top5"):
        check = report.check(name)
        assert check.status == "skipped"
        assert "generated images, not ImageNet" in check.reason


@pytest.mark.slow
def test_data_without_weights_says_the_data_was_not_used(imagenet):
    folder, _weights, _ = imagenet
    reason = verify("mixnet_s", VerifyOptions(data=str(folder))).check("top1").reason
    assert f"--data {folder} was not used" in reason


def test_parse_require():
    assert parse_require("top1, top5,top1") == ("top1", "top5")
    with pytest.raises(InputError, match="names no check"):
        parse_require(" , ")  # never an empty list of requirements
    assert parse_require(None) == ()
    with pytest.raises(InputError, match="not a check name"):
        parse_require("top1,speed")
    assert set(CHECK_NAMES) >= {"params", "flops", "file_size", "weights_hash", "top1"}


# ------------------------------------------------------------------------------ weights identity


@pytest.fixture
def weights_copy(imagenet, tmp_path):
    _folder, weights, _ = imagenet
    copy = tmp_path / "mixnet_s.safetensors"
    shutil.copy(weights, copy)
    return copy


@pytest.mark.slow
def test_the_hash_prefix_of_the_cards_file_passes(weights_copy, tmp_path):
    prefix = sha256_file(weights_copy)[:8]
    index = load_index(_card(tmp_path, weights_copy, f"mixnet_s-{prefix}.pth"))
    report = verify("mixnet_s", VerifyOptions(weights=str(weights_copy)), index=index)
    check = report.check("weights_hash")
    assert (check.status, check.published, check.measured) == ("pass", prefix, prefix)
    # the hash says it is the card's file, whatever its name: its size is held to the card
    assert report.check("file_size").status == "pass"


@pytest.mark.slow
def test_a_file_with_the_cards_name_but_other_content_fails(weights_copy, tmp_path):
    renamed = weights_copy.with_name("mixnet_s-00000000.safetensors")
    weights_copy.rename(renamed)
    index = load_index(_card(tmp_path, renamed, renamed.name))
    check = verify("mixnet_s", VerifyOptions(weights=str(renamed)), index=index).check(
        "weights_hash"
    )
    assert check.status == "fail"
    assert "has the card's name but not its content" in check.reason


@pytest.mark.slow
def test_another_file_is_information_and_says_so(weights_copy, tmp_path):
    index = load_index(_card(tmp_path, weights_copy, "mixnet_s-00000000.pth"))
    report = verify("mixnet_s", VerifyOptions(weights=str(weights_copy)), index=index)
    assert report.check("weights_hash").status == "info"
    assert "is not the card's mixnet_s-00000000.pth" in report.check("weights_hash").reason
    assert report.check("file_size").status == "info"


@pytest.mark.slow
def test_a_url_without_a_hash_skips_the_hash_check(weights_copy, tmp_path):
    index = load_index(_card(tmp_path, weights_copy, "mixnet_s.pth"))
    check = verify("mixnet_s", VerifyOptions(weights=str(weights_copy)), index=index).check(
        "weights_hash"
    )
    assert check.status == "skipped" and "carries no hash prefix" in check.reason


@pytest.mark.slow
def test_the_packaged_cards_carry_hash_prefixes():
    check = verify("mixnet_s").check("weights_hash")
    assert check.published == "a907afbc" and check.status == "skipped"


# ------------------------------------------------------------------------------ equivalence


@pytest.mark.slow
def test_equivalence_counts_the_images_whose_top1_differs(use_native_to_timm):
    import mixbench.models.mixnet_keys as convert

    real = convert.native_to_timm

    def one_class_wins(state, model):
        converted = real(state, model)
        converted["classifier.bias"] = converted["classifier.bias"].clone()
        converted["classifier.bias"][7] += 1e4
        return converted

    use_native_to_timm(one_class_wins)
    check = verify("mixnet_s").check("native_vs_timm")
    assert check.status == "fail"
    assert check.details["top1_differs"] >= 1
    assert f"{check.details['top1_differs']} of 8 images' top-1 differ" in check.reason


@pytest.mark.slow
def test_equivalence_reports_no_disagreement_when_equal():
    check = verify("mixnet_m").check("native_vs_timm")
    assert check.reason.startswith("0 of 8 images' top-1 differ")


# ------------------------------------------------------------------------------ coverage


def _report(*checks: Check) -> VerifyReport:
    return VerifyReport(model="m", checks=list(checks))


def test_the_headline_says_what_did_not_run():
    report = _report(
        Check("params", "parameters", "pass"),
        Check("top1", "ImageNet top-1 (%)", "skipped"),
        Check("file_size", "weights file size", "skipped"),
        Check("flops", "FLOPs", "info"),
    )
    assert report.headline() == "PASS — 2 of 4 checks ran (not run: top-1, file size)"
    data = report.to_dict()
    assert data["coverage"]["ran"] == 2 and data["coverage"]["not_run"] == ["top1", "file_size"]
    assert data["headline"] == report.headline()


def test_an_inconclusive_check_is_never_a_pass():
    report = _report(Check("params", "p", "pass"), Check("top1", "t", "inconclusive"))
    assert report.status == "inconclusive"
    assert report.headline().startswith("INCONCLUSIVE — 2 of 2 checks ran")
    assert "1 inconclusive" in render_model(report)


def test_required_checks_that_did_not_pass_or_fail_fail():
    checks = [
        Check("params", "parameters", "pass"),
        Check("top1", "ImageNet top-1 (%)", "skipped", reason="no evaluation data"),
        Check("flops", "FLOPs", "info"),
    ]
    gated = apply_requirements(checks, ["top1", "flops", "params", "throughput"])
    statuses = {c.name: c.status for c in gated}
    assert statuses == {"params": "pass", "top1": "fail", "flops": "fail", "throughput": "fail"}
    report = _report(*gated)
    # turned into failures, but top-1 and throughput still did not run, and the headline says so
    assert report.headline() == "FAIL — 2 of 4 checks ran (not run: top-1, throughput)"
    assert "required (--require top1) but skipped: no evaluation data" in gated[1].reason
    assert "pass --throughput" in gated[3].reason


@pytest.mark.slow
def test_cli_require_turns_a_skipped_check_into_exit_1(tmp_path):
    out = tmp_path / "verify.json"
    result = _invoke(tmp_path, "mixnet_s", "--require", "top1,top5", "--json", str(out))
    assert result.exit_code == 1, result.output
    assert "FAIL — 6 of 10 checks ran (not run: file size, weights hash, top-1, top-5)" in (
        result.output
    )
    (data,) = json.loads(out.read_text())
    assert data["coverage"]["not_run"] == ["file_size", "weights_hash", "top1", "top5"]
    assert data["settings"]["require"] == ["top1", "top5"]


@pytest.mark.slow
def test_the_markdown_report_shows_coverage(tmp_path):
    out = tmp_path / "r.md"
    result = _invoke(tmp_path, "mixnet_s", "--report", str(out))
    assert result.exit_code == 1, result.output  # the card misstates its FLOPs
    text = out.read_text()
    assert "6 of 10 checks ran (not run: file size, weights hash, top-1, top-5)" in text


@pytest.mark.slow
def test_a_sample_accuracy_is_inconclusive_through_the_cli(imagenet, tmp_path):
    folder, weights, _ = imagenet
    prefix = sha256_file(weights)[:8]
    index = _card(tmp_path, weights, f"mixnet_s-{prefix}.pth", top1=100 * 8 / 24)
    out = tmp_path / "v.json"
    result = _invoke(
        tmp_path,
        "mixnet_s",
        "--weights",
        str(weights),
        "--data",
        str(folder),
        "--batch",
        "8",
        "--workers",
        "0",
        "--index",
        str(index),
        "--json",
        str(out),
    )
    assert result.exit_code == 0, result.output
    (data,) = json.loads(out.read_text())
    top1 = next(c for c in data["checks"] if c["name"] == "top1")
    assert top1["status"] == "inconclusive"
    assert data["status"] == "inconclusive"
    assert "INCONCLUSIVE" in result.output
    low, high = top1["details"]["interval"]
    assert low < top1["measured"] < high and not math.isnan(low)


def test_an_error_before_any_work_is_the_first_thing_printed(tmp_path):
    result = _invoke(tmp_path, "mixnet_s", "--data", "/nonexistent/val")
    assert result.exit_code == 2
    assert result.output.startswith("error: no such data source"), repr(result.output[:80])


@pytest.mark.slow
def test_equivalence_sees_a_small_mistake_in_the_first_layer(use_native_to_timm):
    """On random weights the logits must follow the input, or a wrong early layer passes."""
    from mixbench.models import mixnet_keys as weights

    real = weights.native_to_timm

    def stem_off_by_one_percent(state, model):
        converted = real(state, model)
        converted["conv_stem.weight"] = converted["conv_stem.weight"] * 1.01
        return converted

    use_native_to_timm(stem_off_by_one_percent)
    check = verify("mixnet_s").check("native_vs_timm")
    assert check.status == "fail", check.reason
    assert check.measured > 1e-3


@pytest.mark.slow
def test_outputs_that_ignore_the_input_make_equivalence_inconclusive(monkeypatch):
    import torch

    import mixbench.verify.checks.equivalence as verify_module

    real = verify_module.seeded_weights

    def deaf(model, image_size, seed):
        copied = real(model, image_size, seed)
        with torch.no_grad():
            copied.conv_stem.weight.zero_()  # every image then gives the same logits
        return copied

    monkeypatch.setattr(verify_module, "seeded_weights", deaf)
    check = verify("mixnet_s").check("native_vs_timm")
    assert check.status == "inconclusive"
    assert "hardly depend on the input" in check.reason
    assert check.details["output_spread"] < 1e-3


class _Row:
    def __init__(self, name: str, low: float, high: float, noisy: str | None = None) -> None:
        self.implementation, self.noisy, self._range = name, noisy, (low, high)

    def score(self) -> float:
        return sum(self._range) / 2

    def score_range(self) -> tuple[float, float]:
        return self._range


class _Load:
    busy = "the load average was 3.0 on 2 CPUs when it started"


class _Run:
    def __init__(self, machine: object = None) -> None:
        self.machine = machine


def test_the_speed_checks_say_what_makes_their_ratio_unreliable():
    """Speed is information, never a verdict on a card; noise is said beside the ratio."""
    from mixbench.verify.checks.speed import _noise, _noise_details

    apart = [_Row("native", 50, 52), _Row("timm", 30, 31)]
    assert _noise(_noise_details(_Run(), apart)) == ""
    assert _noise_details(_Run(), apart) == {
        "noisy": {},
        "within_noise": False,
        "machine_busy": None,
    }
    overlapping = [_Row("native", 40, 60, noisy="trials spread 1.6×"), _Row("timm", 35, 45)]
    said = _noise(_noise_details(_Run(_Load()), overlapping))
    assert "native noisy: trials spread 1.6×" in said
    assert "within the noise (inconclusive)" in said
    assert "the machine was busy: the load average was 3.0" in said
    assert _noise_details(_Run(_Load()), overlapping)["within_noise"] is True
