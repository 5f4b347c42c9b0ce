"""Accuracy through the path people deploy: ``eval --impl --precision`` on the ImageNet-shaped
folder gives timm's top-1 exactly through every CPU runtime at fp32, reports its agreement with
eager fp32 at bf16; ``verify --impl --precision`` adds the deployed checks; the paired interval
behind them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from mixbench.cli import cli
from mixbench.measure.accuracy.agreement import (
    Agreement,
    judge_agreement,
    judge_difference,
    paired_difference_interval,
)

# ONNX/OpenVINO exports, evaluations, audits: left out by `pytest -m "not slow"`
pytestmark = pytest.mark.slow

#: every runtime a CPU has, on both graphs where both exist
CPU_PATHS = ("native+noopt", "native", "timm", "ort", "native+ort", "openvino", "native+openvino")


@pytest.fixture(scope="module")
def exports_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("deployed-cache")


@pytest.fixture(autouse=True)
def _cache(exports_cache, monkeypatch):
    monkeypatch.setenv("MIXBENCH_CACHE", str(exports_cache))


def _eval(imagenet, tmp_path, *arguments):
    folder, weights, _reference = imagenet
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "mixnet_s",
            "--weights",
            str(weights),
            "--data",
            str(folder),
            "--workers",
            "0",
            "--batch",
            "10",  # 24 images: the last batch is short, as a real run's
            "--no-resume",
            "--db",
            str(tmp_path / "runs.sqlite"),
            "--json",
            "-",
            *arguments,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_cpu_runtime_at_fp32_gives_timms_top1_exactly(imagenet, tmp_path):
    from imagenet_folder import TOP1, TOP5

    for path in CPU_PATHS:
        data = _eval(imagenet, tmp_path, "--impl", path)
        settings = data["settings"]
        assert settings["implementation"] == path
        assert settings["precision"] == settings["precision_computed"] == "fp32", path
        assert data["metrics"]["top1"] == pytest.approx(TOP1, abs=1e-9), path
        assert data["metrics"]["top5"] == pytest.approx(TOP5, abs=1e-9), path
        assert data["agreement"] is None  # fp32: no reference run unless asked


def _bf16_path() -> str:
    """OpenVINO where this CPU computes bf16 (AVX-512 BF16, AMX); PyTorch eager elsewhere,
    which computes bf16 on any CPU, so the pairing is tested on every machine."""
    import openvino

    capabilities = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "native+openvino" if "BF16" in capabilities else "native"


def test_bf16_reports_its_agreement_with_eager_fp32(imagenet, tmp_path):
    data = _eval(imagenet, tmp_path, "--impl", _bf16_path(), "--precision", "bf16")
    assert data["settings"]["precision_computed"] == "bf16"
    agreement = data["agreement"]
    assert agreement["images"] == 24
    assert agreement["reference"].startswith("native+noopt (PyTorch eager, float32)")
    assert agreement["same_top1"] >= 20  # bf16 moves a near tie at most
    low, high = agreement["agreement_interval"]
    assert low <= agreement["agreement"] <= high
    assert agreement["reference_run_id"] is not None  # the reference is a stored run too
    from mixbench.store import ResultsStore

    runs = ResultsStore(tmp_path / "runs.sqlite").runs(kind="eval")
    assert len(runs) == 2
    assert runs[0].details["agreement"]["same_top1"] == agreement["same_top1"]


def test_agreement_can_be_asked_at_fp32_and_is_printed(imagenet, tmp_path):
    folder, weights, _reference = imagenet
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "mixnet_s",
            "--weights",
            str(weights),
            "--data",
            str(folder),
            "--workers",
            "0",
            "--impl",
            "ort",
            "--compare-fp32",
            "--no-resume",
            "--db",
            str(tmp_path / "runs.sqlite"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "through ort in fp32" in text
    assert "top-1 unchanged on 100.00% of 24" in text and "0 images lost, 0 gained" in text


def test_a_path_its_runtime_cannot_run_is_refused_before_any_image(imagenet, tmp_path):
    folder, weights, _reference = imagenet
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "mixnet_s",
            "--weights",
            str(weights),
            "--data",
            str(folder),
            "--impl",
            "ort",
            "--precision",
            "bf16",
            "--db",
            str(tmp_path / "runs.sqlite"),
        ],
    )
    assert result.exit_code == 2
    assert "ONNX Runtime on cpu cannot compute in bf16; it supports fp32" in result.output
    assert not (tmp_path / "runs.sqlite").exists()


def test_verify_checks_the_deployed_path(imagenet, tmp_path):
    folder, weights, _reference = imagenet
    report = tmp_path / "out" / "verify.md"
    (tmp_path / "out").mkdir()
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            "mixnet_s",
            "--weights",
            str(weights),
            "--data",
            str(folder),
            "--workers",
            "0",
            "--impl",
            "native+ort",
            "--require",
            "deployed_agreement",
            "--json",
            str(tmp_path / "v.json"),
            "--report",
            str(report),
            "--db",
            str(tmp_path / "runs.sqlite"),
        ],
    )
    assert result.exit_code == 1, result.output  # the card's other checks fail on 24 images
    [data] = json.loads((tmp_path / "v.json").read_text())
    checks = {check["name"]: check for check in data["checks"]}
    agreement, change = checks["deployed_agreement"], checks["deployed_top1"]
    assert agreement["measured"] == 100.0 and change["measured"] == 0.0
    # 24 images cannot show ≥ 99.9 % agreement at 95 %: required, so it fails, and says why
    assert (
        agreement["status"] == "fail"
        and "required (--require deployed_agreement)" in agreement["reason"]
    )
    assert agreement["details"]["was"] == "inconclusive"
    assert change["status"] == "inconclusive"  # ±0.2 points cannot be shown on 24 images
    assert agreement["details"]["precision_computed"] == "fp32"
    assert agreement["details"]["provider"] == "CPUExecutionProvider"
    text = report.read_text()
    assert "Deployed as" in text and "native+ort (ort, CPUExecutionProvider) in fp32" in text
    # the eager fp32 evaluation of the accuracy check was the reference: three runs, not four
    from mixbench.store import ResultsStore

    assert len(ResultsStore(tmp_path / "runs.sqlite").runs(kind="eval")) == 2


def test_deployed_checks_need_data_and_a_path_a_runtime_has(tmp_path):
    cases = [
        (["verify", "mixnet_s", "--impl", "ort"], "pass --data"),
        (
            ["verify", "mixnet_s", "--data", "synthetic:4", "--impl", "ort", "--precision", "bf16"],
            "cannot compute in bf16",
        ),
        (["verify", "mixnet_s", "--data", "synthetic:4", "--impl", "native+onnx"], "unknown word"),
    ]
    for arguments, message in cases:
        result = CliRunner().invoke(cli, [*arguments, "--db", str(tmp_path / "runs.sqlite")])
        assert result.exit_code == 2, (arguments, result.output)
        assert message in result.output, (arguments, result.output)
    assert not (tmp_path / "runs.sqlite").exists()


def test_deployed_checks_without_weights_are_skipped_with_the_reason(tmp_path):
    from mixbench.verify import VerifyOptions, verify

    report = verify("mixnet_s", VerifyOptions(data="synthetic:4", implementation="ort"))
    deployed = [c for c in report.checks if c.name.startswith("deployed_")]
    assert [c.status for c in deployed] == ["skipped", "skipped"]
    assert "generated images, not ImageNet" in deployed[0].reason
    assert report.coverage()["not_run"][-2:] == ["deployed_agreement", "deployed_top1"]


# ------------------------------------------------------------------------------ the statistics


def test_paired_predictions():
    pairs = Agreement.of({0: 1, 1: 2, 2: 3, 3: 4}, {0: 1, 1: 2, 2: 3, 3: 5}, [1, 2, 0, 4])
    assert (pairs.images, pairs.same_top1, pairs.lost, pairs.gained) == (4, 3, 1, 0)
    assert pairs.reference_correct == 3 and pairs.deployed_correct == 2
    assert pairs.top1_difference == -25.0
    with pytest.raises(ValueError, match="no image"):
        Agreement.of({0: 1}, {1: 1}, [1, 1])


def test_the_paired_interval_on_a_large_run():
    """500 images moved either way on 50,000: the difference is 0 ± about 0.088 points (the
    standard error of a paired difference, sqrt(b + c) / n)."""
    low, high = paired_difference_interval(both=38_750, lost=250, gained=250, neither=10_750)
    assert low == pytest.approx(-high) and high == pytest.approx(0.00088, rel=0.05)
    moved = Agreement(50_000, 49_600, 39_000, 38_990, 205, 195)
    assert judge_difference(moved, 0.2) == "pass"
    assert judge_agreement(moved, "bf16") == "pass"  # 99.2 % of 50,000: the CI is above 99.0
    assert judge_agreement(moved, "fp32") == "fail"  # far below 99.9 %
    edge = Agreement(50_000, 49_500, 39_000, 38_990, 255, 245)
    assert judge_agreement(edge, "bf16") == "inconclusive"  # 99.0 % exactly: half its CI below


def test_verdicts_that_the_images_cannot_decide_are_inconclusive():
    few = Agreement(24, 24, 8, 8, 0, 0)
    assert judge_agreement(few, "fp32") == "inconclusive"
    assert judge_difference(few, 0.2) == "inconclusive"
    lost = Agreement(10_000, 9_000, 8_000, 7_000, 1_000, 0)
    assert judge_difference(lost, 0.2) == "fail"


@given(st.integers(0, 400), st.integers(0, 60), st.integers(0, 60), st.integers(0, 400))
def test_the_paired_interval_holds_the_difference(both, lost, gained, neither):
    if both + lost + gained + neither == 0:
        with pytest.raises(ValueError):
            paired_difference_interval(both, lost, gained, neither)
        return
    n = both + lost + gained + neither
    low, high = paired_difference_interval(both, lost, gained, neither)
    difference = (gained - lost) / n
    assert -1.0 <= low <= difference + 1e-12 <= high + 2e-12 <= 1.0 + 2e-12


def test_torchrun_pairs_a_bf16_path_with_fp32_on_every_rank(imagenet, tmp_path):
    """Both runs (the path, then eager fp32) go through every rank; rank 0 pairs them."""
    import os
    import subprocess
    import sys

    from mixbench.store import ResultsStore

    folder, weights, _reference = imagenet
    env = {
        **os.environ,
        "MIXBENCH_DB": str(tmp_path / "results.sqlite"),
        "MIXBENCH_CACHE": str(tmp_path / "cache"),
    }
    env.pop("WORLD_SIZE", None)
    out = tmp_path / "bf16.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--standalone",
            "-m",
            "mixbench",
            "eval",
            "mixnet_s",
            "--data",
            str(folder),
            "--weights",
            str(weights),
            "--batch",
            "4",
            "--workers",
            "0",
            "--precision",
            "bf16",
            "--no-resume",
            "--json",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert data["settings"]["world_size"] == 2 and data["settings"]["precision"] == "bf16"
    assert data["agreement"]["images"] == 24 and data["agreement"]["unpaired"] == 0
    stored = ResultsStore(tmp_path / "results.sqlite").runs(kind="eval")
    assert len(stored) == 2 and {r.details["settings"]["world_size"] for r in stored} == {2}


def test_the_reference_path_is_not_a_deployed_path(tmp_path, imagenet):
    folder, weights, _reference = imagenet
    cases = [
        (
            [
                "verify",
                "mixnet_s",
                "--data",
                str(folder),
                "--weights",
                str(weights),
                "--impl",
                "native+noopt",
            ],
            "is the reference the deployed path is checked against",
        ),
        (
            [
                "verify",
                "mixnet_s",
                "--data",
                str(folder),
                "--weights",
                str(weights),
                "--precision",
                "fp32",
            ],
            "compared with itself",
        ),
        (
            [
                "verify",
                "mixnet_s",
                "--data",
                str(folder),
                "--weights",
                str(weights),
                "--impl",
                "ort",
                "--amp",
            ],
            "--amp is the accuracy check's precision",
        ),
        (
            [
                "eval",
                "mixnet_s",
                "--data",
                str(folder),
                "--weights",
                str(weights),
                "--compare-fp32",
            ],
            "is the reference itself",
        ),
    ]
    for arguments, message in cases:
        result = CliRunner().invoke(cli, [*arguments, "--db", str(tmp_path / "runs.sqlite")])
        assert result.exit_code == 2, (arguments, result.output)
        assert message in " ".join(result.output.split()), (arguments, result.output)
    assert not (tmp_path / "runs.sqlite").exists()


def test_a_runtime_path_says_how_its_outputs_compare_and_that_it_is_not_paired(imagenet, tmp_path):
    data = _eval(imagenet, tmp_path, "--impl", "native+ort")
    check = data["settings"]["outputs_check"]
    assert check["agree"] and check["images"] == 8 and check["precision"] == "fp32"
    assert check["reference"] == "timm (PyTorch eager, float32)"
    assert data["agreement"] is None
    folder, weights, _ = imagenet
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "mixnet_s",
            "--weights",
            str(weights),
            "--data",
            str(folder),
            "--workers",
            "0",
            "--impl",
            "native+ort",
            "--no-resume",
            "--db",
            str(tmp_path / "runs.sqlite"),
        ],
        env={"COLUMNS": "200"},
    )
    text = " ".join(result.stdout.split())
    assert "outputs of the first 8 images vs timm (PyTorch eager, float32): agree" in text
    assert "not paired with eager float32 on these images (pass --compare-fp32" in text
