"""`mixbench verify` on timm's published cards: a timm model is built on the meta device when
no check needs it real, native = timm is skipped (never passed), a card whose model cannot be
built is a report of skipped checks, and many models print one summary table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import mixbench.verify as verify_module
import mixbench.verify.run as verify_run
from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.index import load_index
from mixbench.models import get_family
from mixbench.pipeline import Pipeline
from mixbench.report.tables import verify_summary_table
from mixbench.resolve import ResolvedModel, resolve_model
from mixbench.store import ResultsStore
from mixbench.verify import (
    CHECK_NAMES,
    VerifyOptions,
    VerifyReport,
    needs_real_model,
    verify,
)

DOCS = Path(__file__).parents[1] / "data" / "timm-docs"

UNBUILDABLE = """\
Models:
- Name: no_such_net_v9
  Metadata:
    FLOPs: 1000000
    Parameters: 1000
    Crop Pct: '0.875'
    Image Size: '224'
    Interpolation: bicubic
  Results:
  - Task: Image Classification
    Dataset: ImageNet
    Metrics:
      Top 1 Accuracy: 70.0%
"""


def _invoke(tmp_path: Path, *arguments: str) -> Any:
    return CliRunner().invoke(cli, ["verify", *arguments, "--db", str(tmp_path / "runs.sqlite")])


@pytest.fixture
def resolved_models(monkeypatch: pytest.MonkeyPatch) -> list[ResolvedModel]:
    """Every model verify resolves, and a convolution on real tensors is an error: the meta
    device must mean no arithmetic ran at all."""
    seen: list[ResolvedModel] = []

    def recording(*args: Any, **kwargs: Any) -> ResolvedModel:
        resolved = resolve_model(*args, **kwargs)
        seen.append(resolved)
        return resolved

    real_conv = nn.Conv2d._conv_forward

    def meta_only(self: nn.Conv2d, input: torch.Tensor, *args: Any) -> torch.Tensor:
        assert input.is_meta, "a real convolution ran"
        return real_conv(self, input, *args)

    monkeypatch.setattr(verify_run, "resolve_model", recording)
    monkeypatch.setattr(nn.Conv2d, "_conv_forward", meta_only)
    return seen


# ------------------------------------------------------------------------------ a timm card


@pytest.mark.slow
def test_a_timm_card_verifies_end_to_end_on_the_meta_device(tmp_path, resolved_models):
    out = tmp_path / "verify.json"
    result = _invoke(tmp_path, "resnet18", "--index", str(DOCS), "--json", str(out))
    assert "Traceback" not in result.output
    (report,) = json.loads(out.read_text())
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    checks = {check["name"]: check for check in report["checks"]}
    # the card rounds to 10,000: 11,689,512 is its 11.69M
    assert statuses["params"] == "pass" and checks["params"]["measured"] == 11_689_512
    # timm's default resnet18 today is a1_in1k (bicubic, crop 0.95), but the card's weights
    # URL names the torchvision file, so it is held to resnet18.tv_in1k (bilinear, 0.875)
    assert (statuses["crop_pct"], statuses["image_size"], statuses["interpolation"]) == (
        "pass",
        "pass",
        "pass",
    )
    assert checks["crop_pct"]["reason"] == (
        "against timm's pretrained_cfg for resnet18.tv_in1k "
        "(the tag whose file the card's weights URL names)"
    )
    assert statuses["native_vs_timm"] == "skipped"
    assert checks["native_vs_timm"]["reason"] == (
        "the card runs on timm's own model (no native implementation to compare)"
    )
    # counted on meta: the card's figure is thop-2021 MACs of an uncropped 224×285 photo
    flops = checks["flops"]["details"]
    assert statuses["flops"] == "fail"
    assert (flops["convention"], flops["input_height"], flops["input_width"]) == (
        "thop_2021",
        224,
        285,
    )
    assert result.exit_code == 1, result.output  # the preprocessing fails
    assert report["not_built"] is None
    (resolved,) = resolved_models
    assert resolved.on_meta and resolved.family.name == "timm"
    assert "1 model(s) verified: FAIL: resnet18" in result.output


@pytest.mark.slow
def test_a_timm_model_is_never_passed_as_equivalent_even_when_required(tmp_path):
    index = load_index(DOCS)
    report = verify("resnet18", VerifyOptions(require=("native_vs_timm",)), index=index)
    check = report.check("native_vs_timm")
    assert check.status == "fail" and "timm's own model" in (check.reason or "")


def test_the_meta_rule_is_whether_any_enabled_check_needs_the_real_model():
    mixnet, timm_family = get_family("mixnet"), get_family("timm")
    assert needs_real_model(VerifyOptions(), mixnet)  # native = timm runs a forward pass
    assert not needs_real_model(VerifyOptions(), timm_family)
    assert not needs_real_model(VerifyOptions(throughput=True), timm_family)  # builds its own
    assert needs_real_model(VerifyOptions(data="synthetic:8"), timm_family)
    assert needs_real_model(VerifyOptions(pretrained=True), timm_family)


@pytest.mark.slow
def test_a_native_preset_keeps_building_for_real():
    resolved = verify_module.resolve_for_checks("mixnet_s", VerifyOptions(), load_index(DOCS))
    assert resolved.family.name == "mixnet" and not resolved.on_meta


# ------------------------------------------------------------------------------ unbuildable


def test_an_unbuildable_card_is_a_report_with_every_check_skipped(tmp_path):
    index = tmp_path / "index.yml"
    index.write_text(UNBUILDABLE)
    out = tmp_path / "verify.json"
    result = _invoke(tmp_path, "no_such_net_v9", "--index", str(index), "--json", str(out))
    assert result.exit_code == 0, result.output  # skipped is no failure without --require
    assert "Traceback" not in result.output
    (report,) = json.loads(out.read_text())
    assert report["not_built"].startswith("cannot build no_such_net_v9: unknown model")
    # every check enabled without --impl/--precision and --throughput
    optional = ("deployed_agreement", "deployed_top1", "throughput", "latency")
    assert [c["name"] for c in report["checks"]] == [n for n in CHECK_NAMES if n not in optional]
    assert {c["status"] for c in report["checks"]} == {"skipped"}
    assert {c["reason"] for c in report["checks"]} == {report["not_built"]}
    assert report["coverage"]["ran"] == 0
    assert report["headline"].startswith("NOT BUILT — 0 of 10 checks ran: cannot build")
    assert report["checks"][0]["published"] == 1000  # the card's figure, unchecked
    assert "NOT BUILT: no_such_net_v9 — 0 of 10 checks ran" in result.output
    # stored like any other run, and read back the same
    (record,) = ResultsStore(tmp_path / "runs.sqlite").runs(kind="verify")
    assert VerifyReport.from_run_record(record).not_built == report["not_built"]


def test_a_required_check_of_an_unbuilt_model_fails(tmp_path):
    index = tmp_path / "index.yml"
    index.write_text(UNBUILDABLE)
    result = _invoke(tmp_path, "no_such_net_v9", "--index", str(index), "--require", "params")
    assert result.exit_code == 1, result.output
    assert "FAIL: no_such_net_v9" in result.output


@pytest.mark.slow
def test_a_model_timm_refuses_is_not_built_and_the_run_goes_on(monkeypatch):
    import timm

    real = timm.create_model

    def refuses_dla34(name: str, *args: Any, **kwargs: Any) -> nn.Module:
        if name.startswith("dla34"):
            raise RuntimeError("no kernel for this")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(timm, "create_model", refuses_dla34)
    reports = Pipeline(None).verify(["dla34", "resnet18"], index_path=str(DOCS))
    assert [r.model for r in reports] == ["dla34", "resnet18"]
    unbuilt, built = reports
    assert unbuilt.not_built is not None
    assert unbuilt.not_built.startswith("timm cannot build dla34: RuntimeError: no kernel")
    assert unbuilt.coverage()["ran"] == 0 and unbuilt.verdict == "NOT BUILT"
    assert built.not_built is None and built.coverage()["ran"] > 0


# ------------------------------------------------------------------------------ many models


def _many_cards(tmp_path: Path) -> Path:
    """timm's RegNetX cards (12 models, as published) and one card timm cannot build."""
    folder = tmp_path / "cards"
    folder.mkdir()
    shutil.copy(DOCS / "regnetx.mdx", folder)
    (folder / "unbuildable.yml").write_text(UNBUILDABLE)
    return folder


@pytest.mark.slow
def test_many_models_print_one_summary_table(tmp_path, resolved_models):
    folder = _many_cards(tmp_path)
    names = [card.name for card in load_index(folder)]
    assert len(names) == 13
    out = tmp_path / "verify.json"
    result = _invoke(tmp_path, "all", "--index", str(folder), "--json", str(out))
    assert "Traceback" not in result.output
    assert result.output.count("checks ran") == 1  # the summary line: no per-model table
    assert "13 models:" in result.output and "1 not built" in result.output
    for name in names:
        assert name in result.output
    data = json.loads(out.read_text())
    assert [r["model"] for r in data] == names  # the JSON keeps its shape: one report each
    assert all(r.on_meta for r in resolved_models) and len(resolved_models) == 12


def test_a_few_models_keep_one_checks_table_each(tmp_path):
    index = tmp_path / "index.yml"
    index.write_text(UNBUILDABLE)
    result = _invoke(tmp_path, "no_such_net_v9", "--index", str(index))
    assert "no_such_net_v9: NOT BUILT — 0 of 10 checks ran" in result.output


def _check(name: str, status: str, **fields: Any) -> verify_module.Check:
    return verify_module.Check(name, name.replace("_", " "), status, **fields)  # type: ignore[arg-type]


def test_the_summary_table_reads_the_checks_details():
    flops_details = {
        "verdict": "fail",
        "convention": "thop_2021",
        "convention_label": "thop-2021 MACs",
        "input_height": 224,
        "input_width": 285,
    }
    report = VerifyReport(
        "resnet18",
        [
            _check("params", "fail", published=11_690_000, measured=11_700_000, delta=10_000),
            _check("flops", "fail", published=1, details=flops_details),
            _check("crop_pct", "fail", published=0.875, measured=0.95),
            _check("image_size", "pass", published=224, measured=224),
            _check("interpolation", "skipped"),
            _check("top1", "fail"),
        ],
    )
    unbuilt = VerifyReport("dla46_c", [_check("params", "skipped")], not_built="timm says no")
    spec = verify_summary_table([report, unbuilt])
    assert spec.title == "2 models: 1 fail, 1 not built"
    row, other = (row.cells for row in spec.rows)
    assert row[:6] == [
        "resnet18",
        "fail (Δ +10,000)",
        "fail: thop-2021 MACs @224×285",
        "fail: crop pct 0.875≠0.95",
        "FAIL",
        "5 of 6",
    ]
    assert row[6] == "also failed: top1"
    assert other[4:] == ["NOT BUILT", "0 of 1", "timm says no"]
    assert spec.rows[1].status == "skipped"  # not coloured as a pass


# ------------------------------------------------------------------------------ resolve


def test_resolved_model_carries_its_family():
    native = resolve_model("mixnet_s")
    assert native.family.name == "mixnet" and not native.on_meta
    timm_model = resolve_model("resnet18", meta=True)
    assert timm_model.family.name == "timm" and timm_model.on_meta


@pytest.mark.parametrize("weights", [{"pretrained": True}, {"weights": "w.safetensors"}])
def test_meta_refuses_weights(weights: dict[str, Any]):
    with pytest.raises(InputError, match="meta device has no storage for weights"):
        resolve_model("resnet18", meta=True, **weights)


def test_the_markdown_report_counts_a_model_not_built_apart(tmp_path):
    from mixbench.report.verify import write_markdown_report

    unbuilt = VerifyReport("no_such_net_v9", [_check("params", "skipped")], not_built="no")
    built = VerifyReport("resnet18", [_check("params", "pass")])
    out = tmp_path / "verify.md"
    write_markdown_report([unbuilt, built], out)
    text = out.read_text()
    assert "| no\\_such\\_net\\_v9 | NOT BUILT | 0 of 1 |" in text
    assert "2 models: 1 passed, 0 failed, 1 not built." in text
    assert "no\\_such\\_net\\_v9: NOT BUILT — 0 of 1 checks ran: no" in text
