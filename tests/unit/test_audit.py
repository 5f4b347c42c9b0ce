"""``mixbench audit``: a whole index verified weights-free, read as findings for maintainers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mixbench.audit import audit_findings
from mixbench.cli import cli
from mixbench.index import load_index
from mixbench.index.values import parse_count
from mixbench.models import timm_config
from mixbench.models.timm_family import tag_for_weights
from mixbench.pipeline import Pipeline
from mixbench.store import ResultsStore

# ONNX/OpenVINO exports, evaluations, audits: left out by `pytest -m "not slow"`
pytestmark = pytest.mark.slow

TIMM_DOCS = Path(__file__).parents[1] / "data" / "timm-docs"

#: one card of each finding, cut from timm's docs cards
PICKED = ("resnet18", "dla34", "resnetv2_50x1_bitm", "tresnet_m", "ig_resnext101_32x16d")

BROKEN = """\
Collections:
- Name: Made Up
Models:
- Name: no_such_net_v9
  In Collection: Made Up
  Metadata:
    FLOPs: 1000
    Parameters: 10
"""


def _as_yaml_entry(card) -> dict:
    """A published card, as the model-index YAML it came from (the fields the audit reads)."""
    metadata = {
        "FLOPs": card.flops,
        "Parameters": card.params,
        "Crop Pct": str(card.crop_pct),
        "Image Size": str(card.image_size),
        "Interpolation": card.interpolation,
    }
    return {
        "Name": card.name,
        "In Collection": card.collection,
        "Metadata": metadata,
        "Weights": card.weights_url,
    }


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """A folder of card files: the picked timm cards (one file) and a card timm lacks."""
    import yaml

    folder = tmp_path_factory.mktemp("cards")
    cards = load_index(TIMM_DOCS)
    picked = [cards[name] for name in PICKED]
    document = {
        "Collections": [{"Name": name} for name in sorted({c.collection for c in picked})],
        "Models": [_as_yaml_entry(card) for card in picked],
    }
    (folder / "timm-picked.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    (folder / "zz-broken.yml").write_text(BROKEN)
    (folder / "README.md").write_text("# not a card\n")
    return folder


@pytest.fixture(scope="module")
def findings(index_dir, tmp_path_factory):
    store = ResultsStore(tmp_path_factory.mktemp("db") / "runs.sqlite")
    names = [*PICKED, "no_such_net_v9"]
    reports = Pipeline(store).verify(names, index_path=str(index_dir))
    assert len(store.runs()) == len(names)  # each model stored as it finished
    return audit_findings(reports, load_index(index_dir))


def _finding(findings, name):
    return next(f for f in findings.models if f.model == name)


def test_each_card_gets_where_its_flops_come_from(findings):
    assert _finding(findings, "resnet18").flops_rule == "photo"
    assert _finding(findings, "dla34").flops_rule == "square"
    assert _finding(findings, "tresnet_m").flops_rule == "square"
    bit = _finding(findings, "resnetv2_50x1_bitm")
    assert (bit.flops_rule, bit.flops_convention, bit.flops_input) == (
        "photo",
        "thop_2021_x2",
        "480×611",
    )
    assert bit.blind and bit in findings.blind
    assert _finding(findings, "resnet18").card_over_macs == pytest.approx(1.2848, abs=1e-3)


def test_maintainers_get_the_parameters_the_aliases_and_the_unbuilt(findings):
    assert {f.model for f in findings.params_mismatches} == {"tresnet_m", "ig_resnext101_32x16d"}
    renamed = findings.renamed_to_another_model
    assert [(f.model, f.timm_name) for f in renamed] == [
        ("ig_resnext101_32x16d", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k")
    ]
    [unbuilt] = findings.not_built
    assert unbuilt.model == "no_such_net_v9" and unbuilt.status == "not built"
    assert unbuilt.flops_rule == "not counted"
    assert findings.statuses == {"fail": 4, "pass": 1, "not built": 1}  # dla34 alone passes


def test_the_card_is_held_to_the_preprocessing_of_its_own_weights(findings):
    resnet18 = _finding(findings, "resnet18")  # the torchvision weights, not today's a1_in1k
    assert resnet18.timm_name == "resnet18.tv_in1k" and resnet18.tag_source == "card weights"
    assert resnet18.preprocessing_mismatches == {}


def test_the_audit_command_writes_the_report_and_its_plot(index_dir, tmp_path):
    out = tmp_path / "audit"
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "--index",
            str(index_dir),
            "--out",
            str(out),
            "--db",
            str(tmp_path / "runs.sqlite"),
            "--json",
            str(tmp_path / "audit.json"),
        ],
    )
    assert result.exit_code == 1, result.output  # cards fail their checks: said, not hidden
    assert "Traceback" not in result.output
    assert "models that could not be built" in result.output
    page = (out / "audit.md").read_text()
    assert (out / "audit.png").stat().st_size > 10_000
    assert "![card FLOPs ÷ MACs at the card's size](audit.png)" in page
    for heading in (
        "are for a photo, not for the model's input",
        "figures leave out most of the model",
        "parameter counts do not round",
        "card names that timm resolves to another model",
        "whose model could not be built",
    ):
        assert heading in page
    assert "| Made Up | no\\_such\\_net\\_v9 | not built |" in page
    data = json.loads((tmp_path / "audit.json").read_text())
    assert data["flops_rules"]["photo"] == 2 and data["flops_rules"]["square"] == 2
    assert data["not_built"] == {"no_such_net_v9": data["models"][-1]["not_built"]}
    # the wrong alias comes with the model it should name, checked against the card
    [fix] = data["alias_fixes"]
    assert fix["should_be"] == "resnext101_32x16d.fb_wsl_ig1b_ft_in1k" and fix["confirmed"]
    assert "It should point at `resnext101_32x16d.fb_wsl_ig1b_ft_in1k`" in page


def test_a_bad_index_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "bad.yml").write_text("Models:\n- Name: x\n  Metadata:\n    FLOPs: lots\n")
    result = CliRunner().invoke(cli, ["audit", "--index", str(tmp_path), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "FLOPs" in result.output
    assert not (tmp_path / "audit.md").exists()


def test_a_card_weights_url_picks_its_timm_tag():
    cards = load_index(TIMM_DOCS)
    assert tag_for_weights("resnet18", cards["resnet18"].weights_url) == "resnet18.tv_in1k"
    assert tag_for_weights("mixnet_s", cards["mixnet_s"].weights_url) == "mixnet_s.ft_in1k"
    assert tag_for_weights("resnet18.a1_in1k", cards["resnet18"].weights_url) is None
    assert tag_for_weights("resnet18", None) is None
    assert tag_for_weights("resnet18", "https://example.com/other-1234abcd.pth") is None
    assert timm_config("gluon_resnet50_v1b").tag_origin.startswith("what timm's deprecation")


def test_a_float_written_count_keeps_its_rounding():
    assert parse_count(66_349_999) == (66_349_999, 10_000)  # int(66.35 * 1e6)
    assert parse_count(8_199_999) == (8_199_999, 100_000)
    assert parse_count(29_278_464) == (29_278_464, 1)  # an exact count stays exact
    assert parse_count(9_999) == (9_999, 1)  # too small to call a rounding


def test_a_crop_pct_written_shorter_passes_only_when_it_resizes_alike():
    from mixbench.verify import verify

    cards = load_index(TIMM_DOCS)
    alike = verify("inception_resnet_v2", index=cards).check("crop_pct")  # 0.897 vs 0.8975
    assert alike.status == "pass" and alike.tolerance == "the same resize before the centre crop"
    assert "both resize to 333 px before the 299 px crop" in (alike.reason or "")
    differs = verify("resnet101d", index=cards).check("crop_pct")  # 0.94 vs 0.95 at 256
    assert differs.status == "fail" and differs.tolerance == "exact"


def test_an_alias_to_a_model_timm_no_longer_has_gets_no_suggestion():
    from mixbench.audit import suggest_alias_fixes
    from mixbench.verify import verify

    cards = load_index(TIMM_DOCS)
    found = audit_findings([verify("ig_resnext101_32x48d", index=cards)], cards)
    [fix] = suggest_alias_fixes(found, cards)
    from timm.models import get_deprecated_models  # the installed timm's table, not a copy

    assert fix.points_at == get_deprecated_models()["ig_resnext101_32x48d"]
    assert fix.should_be is None and not fix.confirmed
