"""`mixbench verify`: every check's verdict, skipped-with-reason, exit codes, the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from imagenet_folder import TOP1, TOP5

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.index import load_index
from mixbench.measure.speed.timing import TimingOptions
from mixbench.pipeline import Pipeline
from mixbench.store import ResultsStore, sha256_file
from mixbench.verify import (
    DEFAULT_TOLERANCE,
    VerifyOptions,
    VerifyReport,
    parse_tolerance,
    verify,
    verify_many,
)

CARD = """\
Models:
- Name: mixnet_s
  Metadata:
    FLOPs: {flops}
    Parameters: {params}
    File Size: {file_size}
    Crop Pct: '{crop}'
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


def _index(tmp_path: Path, weights: Path | None = None, **changes: object) -> Path:
    """A one-card index for mixnet_s whose figures all hold for the test checkpoint."""
    values: dict[str, object] = {
        "flops": 503_473_920,  # 2 × fvcore MACs
        "params": 4_134_606,
        "file_size": weights.stat().st_size if weights else 16_727_982,
        "crop": "0.875",
        "top1": f"{TOP1:.2f}",
        "top5": f"{TOP5:.2f}",
        # torch.hub style: the name carries the first hex digits of the file's sha256
        "weights_file": f"mixnet_s-{sha256_file(weights)[:8]}.safetensors"
        if weights
        else "mixnet_s.safetensors",
    }
    values.update(changes)
    path = tmp_path / "index.yml"
    path.write_text(CARD.format(**values))
    return path


def _statuses(report: VerifyReport) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


# ------------------------------------------------------------------------------ tolerance


def test_tolerance_defaults_and_overrides():
    assert parse_tolerance(None) == DEFAULT_TOLERANCE
    assert parse_tolerance("top1=0.25") == {"top1": 0.25, "top5": 0.1, "deployed": 0.2}
    assert parse_tolerance(" top5 = 1 , top1=0") == {"top1": 0.0, "top5": 1.0, "deployed": 0.2}
    assert parse_tolerance("deployed=0.5")["deployed"] == 0.5


@pytest.mark.parametrize(
    "text", ["top1", "top3=0.1", "top1=-1", "top1=abc", "top1=nan", "top1=inf", "=0.1"]
)
def test_bad_tolerance_is_named(text):
    with pytest.raises(InputError, match="--tolerance"):
        parse_tolerance(text)


@given(st.text(max_size=30))
def test_tolerance_parser_never_crashes(text):
    try:
        parsed = parse_tolerance(text)
    except InputError:
        return
    assert set(parsed) == set(DEFAULT_TOLERANCE)
    assert all(v >= 0 for v in parsed.values())


# ------------------------------------------------------------------------------ the checks


@pytest.fixture(scope="module")
def plain():
    """The packaged mixnet_s card, no weights, no data: what a fresh machine can check."""
    return verify("mixnet_s")


@pytest.mark.slow
def test_a_card_without_weights_or_data(plain):
    assert _statuses(plain) == {
        "params": "pass",
        "flops": "fail",  # the card counts a 224×285 photo, not the 224×224 input
        "file_size": "skipped",
        "weights_hash": "skipped",
        "crop_pct": "pass",
        "image_size": "pass",
        "interpolation": "pass",
        "native_vs_timm": "pass",
        "top1": "skipped",
        "top5": "skipped",
    }
    assert plain.status == "fail"
    assert plain.counts() == {"pass": 5, "fail": 1, "skipped": 4, "info": 0, "inconclusive": 0}


def test_params_are_compared_at_the_cards_rounding(plain):
    params = plain.check("params")
    assert (params.published, params.measured) == (4_130_000, 4_134_606)
    assert params.tolerance == "card rounds to 10,000"


def test_skipped_checks_say_why_and_what_to_pass(plain):
    assert "pass --weights FILE or --pretrained" in plain.check("file_size").reason
    assert plain.check("top1").reason.startswith("no evaluation data: pass --data")
    assert plain.check("top1").published == 75.99
    assert plain.check("top1").measured is None


def test_the_cards_flops_are_of_an_uncropped_photo_so_they_fail(plain):
    flops = plain.check("flops")
    assert flops.published == 321_264_910
    assert flops.status == "fail"
    assert flops.measured == 250_209_422  # the card's convention at its own 224×224
    assert flops.delta == 250_209_422 - 321_264_910
    assert flops.reason.startswith(
        "the card's 321,264,910 is thop-2021 MACs of a 224×285 input (an uncropped photo), "
        "not of the 224×224 model input"
    )
    assert "251,736,960 MACs (503,473,920 FLOPs)" in flops.reason
    details = flops.details
    assert (details["convention"], details["input_height"], details["input_width"]) == (
        "thop_2021",
        224,
        285,
    )
    assert details["ratios"]["fvcore_macs"] == pytest.approx(1.276, abs=1e-3)


def test_native_and_timm_agree_on_seeded_random_weights(plain):
    check = plain.check("native_vs_timm")
    assert check.measured <= 1e-4
    assert "random weights (seeded)" in check.reason


def _as_a_random_sample(monkeypatch):
    """The fixture's 24 images sit in 14 synset folders (a random model labelled them), which
    a random sample of ImageNet-val would almost never do; let them stand for one."""
    import mixbench.verify.checks.accuracy as verify_module

    monkeypatch.setattr(verify_module, "sample_selection", lambda count, classes: "images")


@pytest.mark.slow
def test_every_check_passes_with_weights_data_and_a_true_card(imagenet, tmp_path, monkeypatch):
    _as_a_random_sample(monkeypatch)
    folder, weights, _ = imagenet
    index = load_index(_index(tmp_path, weights))
    # 24 images give a 95% interval about ±18 points wide: only a wide tolerance can pass
    options = VerifyOptions(
        data=str(folder),
        weights=str(weights),
        batch_size=8,
        workers=0,
        tolerance=parse_tolerance("top1=50,top5=50"),
    )
    report = verify("mixnet_s", options, index=index)
    assert set(_statuses(report).values()) == {"pass"}, report.to_dict()["checks"]
    assert report.check("top1").measured == pytest.approx(TOP1)
    assert report.check("top5").measured == pytest.approx(TOP5)
    assert "on 24 images, a sample of the 50,000 of ImageNet-val" in report.check("top1").reason
    assert report.coverage() == {"ran": 10, "total": 10, "not_run": [], "not_run_labels": []}
    flops = report.check("flops")
    assert flops.reason == (
        "the card's 503,473,920 is fvcore FLOPs (2 × MACs) of the 224×224 model input"
    )
    assert flops.details["convention"] == flops.details["measured_convention"] == "fvcore_flops"
    assert "given weights" in report.check("native_vs_timm").reason


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"params": 4_200_000}, "params"),
        ({"crop": "0.9"}, "crop_pct"),
        ({"file_size": 123}, "file_size"),
        ({"top1": "80.00"}, "top1"),
    ],
)
@pytest.mark.slow
def test_a_card_that_lies_fails(imagenet, tmp_path, changes, failing, monkeypatch):
    _as_a_random_sample(monkeypatch)
    folder, weights, _ = imagenet
    index = load_index(_index(tmp_path, weights, **changes))
    data = str(folder) if failing == "top1" else None
    # --workers and --batch without --data are refused as ignored input
    workers, batch = (0, 8) if data else (None, None)
    options = VerifyOptions(data=data, weights=str(weights), batch_size=batch, workers=workers)
    report = verify("mixnet_s", options, index=index)
    failed = [c.name for c in report.checks if c.status == "fail"]
    assert failed == [failing]
    assert report.status == "fail"


@pytest.mark.slow
def test_accuracy_within_tolerance_passes(imagenet, tmp_path, monkeypatch):
    import mixbench.verify.checks.accuracy as verify_module

    # the 24 images stand for the whole validation set: no sampling error, Δ decides
    monkeypatch.setattr(verify_module, "IMAGENET_VAL_IMAGES", 24)
    folder, weights, _ = imagenet
    index = load_index(_index(tmp_path, weights, top1=f"{TOP1 + 0.4:.2f}"))
    options = VerifyOptions(
        data=str(folder),
        weights=str(weights),
        batch_size=8,
        workers=0,
        tolerance=parse_tolerance("top1=0.5"),
    )
    check = verify("mixnet_s", options, index=index).check("top1")
    assert check.status == "pass" and check.tolerance == "±0.5 points"


@pytest.mark.slow
def test_a_weights_file_that_is_not_the_cards_is_information(imagenet):
    _folder, weights, _ = imagenet
    report = verify("mixnet_s", VerifyOptions(weights=str(weights)))
    check = report.check("file_size")
    assert check.status == "info"
    assert "mixnet_s-a907afbc.pth" in check.reason and weights.name in check.reason


@pytest.mark.slow
def test_data_without_weights_skips_accuracy(imagenet):
    folder, _weights, _ = imagenet
    report = verify("mixnet_s", VerifyOptions(data=str(folder)))
    assert report.check("top1").status == "skipped"
    assert "no weights" in report.check("top1").reason


@pytest.mark.slow
def test_a_broken_equivalence_fails(use_native_to_timm):
    import mixbench.models.mixnet_keys as convert

    real = convert.native_to_timm

    def off_by_a_little(state, model):
        converted = real(state, model)
        converted["classifier.bias"] = converted["classifier.bias"] + 1.0
        return converted

    use_native_to_timm(off_by_a_little)
    check = verify("mixnet_s").check("native_vs_timm")
    assert check.status == "fail" and check.measured > 1e-4


@pytest.mark.slow
def test_throughput_is_information(tmp_path):
    quick = TimingOptions(
        trials=2, trial_seconds=0.02, warmup_seconds=0, warmup_iterations=1, latency_iterations=4
    )
    report = verify("mixnet_s", VerifyOptions(throughput=True, batch_size=2, speed_timing=quick))
    speed = [c for c in report.checks if c.name in ("throughput", "latency")]
    assert [c.status for c in speed] == ["info", "info"]
    assert speed[0].measured > 0 and "timm" in speed[0].reason
    assert [c.name for c in report.checks if c.status == "fail"] == ["flops"]  # the card's


def test_a_model_without_a_card_is_refused(tmp_path):
    other = tmp_path / "other.yml"
    other.write_text("Models:\n- Name: tf_mixnet_s\n  Metadata:\n    Parameters: 4130000\n")
    with pytest.raises(InputError, match="no published card"):
        verify("mixnet_s", index=load_index(other))


def test_one_weights_file_for_many_models_is_refused(imagenet):
    with pytest.raises(InputError, match="--weights names one file"):
        verify_many(["all"], VerifyOptions(weights=str(imagenet[1])))


# ------------------------------------------------------------------------------ store, CLI


@pytest.mark.slow
def test_the_report_is_stored_and_read_back(tmp_path, plain):
    store = ResultsStore(tmp_path / "runs.sqlite")
    (report,) = Pipeline(store, command="mixbench verify tf_mixnet_s").verify(["tf_mixnet_s"])
    (record,) = store.runs(kind="verify")
    assert record.id == report.run_id
    assert record.metrics["status"] == "fail" and record.metrics["skipped"] == 4  # FLOPs
    assert record.metrics["params"] == report.check("params").measured
    again = VerifyReport.from_run_record(record)
    assert again.to_dict() == report.to_dict()


def _invoke(tmp_path: Path, *arguments: str):
    db = tmp_path / "runs.sqlite"
    return CliRunner().invoke(cli, ["verify", *arguments, "--db", str(db)])


@pytest.mark.slow
def test_cli_shows_the_verdict_and_skipped_with_reasons(tmp_path):
    result = _invoke(tmp_path, "mixnet_m")
    assert result.exit_code == 1, result.output  # the packaged card's FLOPs fail
    assert (
        "mixnet_m: FAIL — 6 of 10 checks ran (not run: file size, weights hash, top-1, top-5)"
        in result.output
    )
    assert "5 passed, 1 failed, 4 skipped, 0 info" in result.output
    assert "no evaluation data: pass --data" in result.output
    assert "1 model(s) verified: FAIL: mixnet_m — 6 of 10 checks ran" in result.output


@pytest.mark.slow
def test_cli_passes_when_the_cards_figures_hold(tmp_path):
    result = _invoke(tmp_path, "mixnet_s", "--index", str(_index(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "mixnet_s: PASS — 6 of 10 checks ran" in result.output
    assert "1 model(s) verified: PASS — 6 of 10 checks ran" in result.output


@pytest.mark.slow
def test_cli_fails_with_exit_1_and_writes_json(imagenet, tmp_path):
    _folder, weights, _ = imagenet
    index = _index(tmp_path, weights, params=9_000_000)
    out = tmp_path / "verify.json"
    result = _invoke(
        tmp_path,
        "mixnet_s",
        "--weights",
        str(weights),
        "--index",
        str(index),
        "--json",
        str(out),
    )
    assert result.exit_code == 1, result.output
    assert "FAIL: mixnet_s" in result.output
    (data,) = json.loads(out.read_text())
    assert data["status"] == "fail" and data["counts"]["fail"] == 1


@pytest.mark.slow
def test_cli_all_as_json(tmp_path):
    result = _invoke(tmp_path, "all", "--json", "-")
    assert result.exit_code == 1, result.output  # every packaged card's FLOPs fail
    data = json.loads(result.stdout)
    assert [r["model"] for r in data] == [card.name for card in load_index()]
    assert len(ResultsStore(tmp_path / "runs.sqlite").runs(kind="verify")) == len(data)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["mixnet_s", "--tolerance", "top1=x"], "--tolerance top1"),
        (["all", "--weights", "w.safetensors"], "--weights names one file"),
        (["mixnet_q"], "mixnet_q"),
        (["mixnet_s", "--weights", "a.pth", "--pretrained"], "not both"),
        (["mixnet_s", "--report", "/proc/no/such/r.md"], "cannot create the folder"),
    ],
)
def test_cli_bad_input_is_exit_2(tmp_path, arguments, message):
    result = _invoke(tmp_path, *arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs.sqlite").exists()


@pytest.mark.slow
def test_pretrained_weights_from_the_hub_cache(imagenet, offline_hub, monkeypatch):
    """--pretrained through huggingface_hub (offline cache): file size and accuracy run."""
    from hub_cache import cache_entry
    from safetensors.torch import load_file

    _as_a_random_sample(monkeypatch)
    folder, weights, _ = imagenet
    cache_entry(offline_hub, "timm/mixnet_s.ft_in1k", "model.safetensors", load_file(weights))
    options = VerifyOptions(data=str(folder), pretrained=True, batch_size=8, workers=0)
    report = verify("mixnet_s", options)
    assert report.weights == "timm/mixnet_s.ft_in1k"
    size = report.check("file_size")
    assert size.status == "info" and size.measured > 0
    assert "model.safetensors" in size.reason
    top1 = report.check("top1")
    assert top1.measured == pytest.approx(TOP1)
    assert top1.status == "fail"  # the randomised checkpoint is not the card's model
    assert "given weights" in report.check("native_vs_timm").reason


@pytest.mark.slow
def test_cli_writes_the_models_finished_before_an_error(tmp_path, monkeypatch):
    import mixbench.verify.checks.equivalence as verify_module

    real = verify_module.check_equivalence

    def broken_for_mixnet_m(card, resolved, options):
        if card.name == "mixnet_m":
            raise InputError("mixnet_m: simulated failure")
        return real(card, resolved, options)

    monkeypatch.setattr(verify_module, "check_equivalence", broken_for_mixnet_m)
    out, report = tmp_path / "verify.json", tmp_path / "out" / "verify.md"
    result = _invoke(tmp_path, "mixnet_s", "mixnet_m", "--json", str(out), "--report", str(report))
    assert result.exit_code == 2, result.output
    assert "simulated failure" in result.output
    assert [r["model"] for r in json.loads(out.read_text())] == ["mixnet_s"]
    assert "mixnet\\_s: FAIL" in report.read_text()  # the card's FLOPs
    stored = ResultsStore(tmp_path / "runs.sqlite").runs(kind="verify")
    assert [r.model for r in stored] == ["mixnet_s"]
