"""timm's published docs cards: the 2021 thop rule reproduces their FLOPs integer for integer,
on today's timm modules mapped to the types they had then, on the meta device."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mixbench.errors import IndexProblems
from mixbench.index import load_index
from mixbench.measure.complexity import CountingFailed, explain_flops, uncropped_photo_size
from mixbench.measure.conventions import THOP_2021, Uncounted, input_channels
from mixbench.models import create_model

TIMM_DOCS = Path(__file__).parents[1] / "data" / "timm-docs"


@pytest.fixture(scope="module")
def cards():
    return load_index(TIMM_DOCS)


def _meta(name):
    with torch.device("meta"):
        return create_model(name)


# one card per kind of finding: (card, convention, input found, verdict)
FINDINGS = {
    "resnet18": ("thop_2021", "photo", "fail"),  # the usual: the uncropped photo, 224×285
    "efficientnet_b0": ("thop_2021", "photo", "fail"),  # BatchNormAct2d counted as its BN
    "gluon_inception_v3": ("thop_2021", "photo", "fail"),  # ConvNormAct then a plain BN
    "dla34": ("thop_2021", "square", "pass"),  # DLA cannot run on 224×285
    "tresnet_m": ("thop_2021", "square", "pass"),  # InplaceAbn then: nothing counted
    "hrnet_w18_small": ("thop_2021", "photo", "fail"),
    "resnetv2_50x1_bitm": ("thop_2021_x2", "photo", "fail"),  # twice a head-only count
}


@pytest.mark.parametrize("name", FINDINGS)
@pytest.mark.slow
def test_timm_cards_are_reproduced_integer_for_integer(cards, name):
    convention, where, status = FINDINGS[name]
    card = cards[name]
    finding = explain_flops(_meta(name), name, image_size=card.image_size, published=card.flops)
    size = card.image_size
    expected = uncropped_photo_size(size) if where == "photo" else (size, size)
    assert (finding.verdict.convention, finding.verdict.input_size) == (convention, expected)
    assert finding.counts[expected][convention] == card.flops
    assert finding.verdict.status == status


def test_a_figure_blind_to_most_of_the_model_says_so(cards):
    card = cards["resnetv2_50x1_bitm"]
    model = _meta(card.name)
    finding = explain_flops(model, card.name, image_size=card.image_size, published=card.flops)
    assert finding.coverage is not None and finding.coverage < 0.001
    assert "sees only 0.013 %" in finding.verdict.reason
    assert "understates the cost 3,577×" in finding.verdict.reason
    assert finding.to_dict()["coverage"] == finding.coverage
    # what the rule saw: the head, as thop did on timm 0.4.5 (2,665,448 at 480×611)
    by_module = THOP_2021.count_by_module(model, (480, 611))
    assert {k: v for k, v in by_module.items() if v} == {
        "head.global_pool.pool": 616_448,
        "head.fc": 2_049_000,
    }


def test_a_model_that_cannot_take_the_photo_input_is_named_not_matched(cards):
    card = cards["dla34"]
    finding = explain_flops(_meta("dla34"), "dla34", image_size=224, published=card.flops + 1)
    assert finding.verdict.status == "info"
    assert set(finding.unrunnable) == {(224, 285)}
    assert "cannot run at 224×285" in finding.verdict.reason
    assert finding.to_dict()["unrunnable"] == {"224x285": finding.unrunnable[(224, 285)]}


def test_a_model_that_cannot_run_at_its_own_size_is_an_input_error():
    with pytest.raises(CountingFailed, match="cannot count at its own 20×20"):
        explain_flops(_meta("dla34"), "dla34", image_size=20, published=1)


def test_mapped_types_follow_the_architecture_they_sit_in():
    tresnet, inception, mixnet = _meta("tresnet_m"), _meta("inception_v3"), _meta("tf_mixnet_s")
    bn_act = type(tresnet.body.conv1.bn)
    assert type(inception.Conv2d_1a_3x3.bn) is bn_act  # the same type today ...
    assert THOP_2021.era_type(tresnet.body.conv1.bn, tresnet) is Uncounted  # InplaceAbn then
    assert THOP_2021.era_type(inception.Conv2d_1a_3x3.bn, inception) is nn.BatchNorm2d
    assert THOP_2021.era_type(mixnet.bn1, mixnet) is nn.BatchNorm2d
    dla = _meta("dla34")
    assert THOP_2021.era_type(dla.get_classifier(), dla) is nn.Conv2d  # a conv head counts
    assert THOP_2021.era_type(inception.get_classifier(), inception) is Uncounted


def test_count_by_module_adds_up_to_the_count():
    model = _meta("mixnet_s")
    parts = THOP_2021.count_by_module(model, (224, 285))
    assert sum(parts.values()) == THOP_2021.count(model, (224, 285)) == 321_264_910
    assert parts["conv_stem"] == 3 * 3 * 3 * 16 * 112 * 143  # 16 output channels


def test_input_channels_come_from_the_config_not_the_first_conv():
    tresnet = _meta("tresnet_m")  # its first conv takes the space-to-depth's 48 channels
    assert input_channels(tresnet) == 3
    assert input_channels(nn.Sequential(nn.Conv2d(5, 2, 1))) == 5


def test_a_folder_of_cards_is_read_whole(cards, tmp_path):
    assert len(cards) == 261
    assert any("README.md: no model-index block" in note for note in cards.notes)
    (tmp_path / "notes.txt").write_text("not a card")
    with pytest.raises(IndexProblems, match=r"no model-index\.yml and no card files"):
        load_index(tmp_path)
    (tmp_path / "one.yml").write_text("Models:\n- Name: resnet18\n  Metadata:\n    FLOPs: 1\n")
    assert [card.name for card in load_index(tmp_path)] == ["resnet18"]
