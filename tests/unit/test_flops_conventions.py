"""The cards' FLOPs convention (thop-2021) reproduced exactly, and the verdict built on it."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
import timm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import mixbench
from mixbench.index import load_index
from mixbench.measure.complexity import (
    CONVENTIONS,
    count_complexity,
    explain_flops,
    judge_flops,
    uncropped_photo_size,
)
from mixbench.measure.conventions import THOP_2021, Uncounted, conv_ops
from mixbench.models.layers import SameConv2d
from mixbench.resolve import resolve_model
from mixbench.verify import check_flops

# name: (the card's FLOPs = thop-2021 at 224×285, thop-2021 at the cards' own 224×224)
CARDS = {
    "mixnet_s": (321_264_910, 250_209_422),
    "mixnet_m": (454_543_374, 354_087_886),
    "mixnet_l": (738_671_316, 575_449_460),
    "mixnet_xl": (1_195_880_424, 931_666_152),
    "tf_mixnet_s": (302_587_678, 235_645_054),
    "tf_mixnet_m": (416_633_502, 324_545_982),
    "tf_mixnet_l": (688_674_516, 536_487_796),
}
SMALL = 64  # a synthetic card's image size: fvcore at 64×64 is quick


@pytest.fixture(scope="module")
def mixnet_s() -> nn.Module:
    return mixbench.create_model("mixnet_s")


# ------------------------------------------------------------------ the published cards


@pytest.mark.parametrize("name", CARDS)
@pytest.mark.slow
def test_every_card_is_thop_2021_of_the_uncropped_photo(name):
    published, at_224 = CARDS[name]
    card = load_index()[name]
    assert card.flops == published and card.image_size == 224
    model = mixbench.create_model(name)
    assert uncropped_photo_size(224) == (224, 285)
    assert THOP_2021.count(model, (224, 285)) == published
    assert THOP_2021.count(model, (224, 224)) == at_224


@pytest.mark.parametrize(("short", "width"), [(224, 285), (240, 305), (260, 331), (299, 381)])
def test_the_2021_photo_keeps_its_aspect(short, width):
    assert uncropped_photo_size(short) == (short, width)


@pytest.mark.parametrize("name", ["mixnet_s", "tf_mixnet_m"])
def test_todays_timm_modules_map_onto_the_same_count(name):
    """timm's per-group 1×1 convs, BatchNormAct2d, SelectAdaptivePool2d, Linear head and
    Conv2dSame count as our native modules do."""
    model = timm.create_model(name)
    assert THOP_2021.count(model, (224, 285)) == CARDS[name][0]


def test_tf_ports_lose_their_stride_2_same_convs():
    tf_s = mixbench.create_model("tf_mixnet_s")
    photo = (224, 285)
    assert CARDS["mixnet_s"][0] - CARDS["tf_mixnet_s"][0] == 18_677_232
    same = [m for m in tf_s.modules() if type(m) is SameConv2d]
    assert len(same) == 13 and all(m.stride == (2, 2) for m in same)
    # counted like plain convs, the tf_ port is mixnet_s again
    aliases = {k: v for k, v in THOP_2021.aliases.items() if k is not SameConv2d}
    as_plain = replace(THOP_2021, rules={**THOP_2021.rules, SameConv2d: conv_ops}, aliases=aliases)
    assert as_plain.count(tf_s, photo) == CARDS["mixnet_s"][0]
    stem = nn.Sequential(tf_s.conv_stem)
    assert as_plain.count(stem, photo) == 6_918_912  # 16 × 112×143 × 27


# ------------------------------------------------------------------ the rules


def test_rules_dispatch_on_the_exact_type():
    class ConvSubclass(nn.Conv2d):
        pass

    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=True),  # 8·16·16 × (27 + 1)
        ConvSubclass(8, 8, 1),  # a subclass: thop had no rule for it
        nn.BatchNorm2d(8),  # 2 × 8·16·16
        nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False),  # 8·16·16 × 2·9
        nn.AdaptiveAvgPool2d(1),  # (256 + 1) × 8
        nn.Flatten(),
        nn.Linear(8, 5),  # 8 × 5: not a classifier here, so counted
    )
    pixels = 8 * 16 * 16
    assert THOP_2021.count(model, (16, 16)) == (
        pixels * 28 + 2 * pixels + pixels * 18 + 257 * 8 + 40
    )


def test_the_classifier_and_mapped_types_count_nothing(mixnet_s):
    assert THOP_2021.era_type(mixnet_s.classifier, mixnet_s) is Uncounted
    assert THOP_2021.era_type(mixnet_s.bn1, mixnet_s) is nn.BatchNorm2d
    without_head = replace(THOP_2021, classifier_aliases={})
    extra = without_head.count(mixnet_s, (224, 224)) - THOP_2021.count(mixnet_s, (224, 224))
    assert extra == 1536 * 1000  # what counting the Linear classifier would add


def test_the_native_global_pool_is_counted_once(mixnet_s):
    without_pool = replace(THOP_2021, functional_as={})
    pool = THOP_2021.count(mixnet_s, (224, 224)) - without_pool.count(mixnet_s, (224, 224))
    assert pool == (7 * 7 + 1) * 1536


def test_counting_runs_no_convolution(mixnet_s):
    before = {k: v.clone() for k, v in mixnet_s.state_dict().items()}
    mixnet_s.train()
    expected = CARDS["mixnet_s"][0]
    assert THOP_2021.count(mixnet_s, (224, 285)) == expected
    assert mixnet_s.training  # mode restored
    after = mixnet_s.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics untouched
    mixnet_s.eval()
    # a model with no data at all (meta weights) counts the same: no arithmetic is done
    on_meta = copy.deepcopy(mixnet_s).to("meta")
    assert THOP_2021.count(on_meta, (224, 285)) == expected


def test_counting_twice_gives_the_same_count():
    """Counting is deterministic (how fast it is: benchmarks/responsiveness.py, not a timed
    test)."""
    model = mixbench.create_model("mixnet_xl")
    first = THOP_2021.count(model, (224, 285))
    assert THOP_2021.count(model, (224, 285)) == first > 0


# ------------------------------------------------------------------ the explainer


def test_a_figure_counted_at_the_cards_size_passes(mixnet_s):
    published = THOP_2021.count(mixnet_s, (SMALL, SMALL))
    finding = explain_flops(mixnet_s, "mixnet_s", image_size=SMALL, published=published)
    verdict = finding.verdict
    assert (verdict.status, verdict.convention, verdict.input_size) == (
        "pass",
        "thop_2021",
        (SMALL, SMALL),
    )
    assert finding.measured == verdict.count_at_card_size == published
    assert verdict.reason == f"the card's {published:,} is thop-2021 MACs of the 64×64 model input"
    assert list(finding.counts) == [(SMALL, SMALL)]  # nothing else needed trying


@pytest.mark.slow
def test_fvcore_flops_at_the_cards_size_pass(mixnet_s):
    flops = count_complexity(mixnet_s, SMALL).flops
    finding = explain_flops(mixnet_s, "mixnet_s", image_size=SMALL, published=flops)
    assert (finding.verdict.status, finding.verdict.convention) == ("pass", "fvcore_flops")
    assert finding.measured == flops and finding.to_dict()["measured_convention"] == "fvcore_flops"


@pytest.mark.slow
def test_a_figure_of_the_uncropped_photo_fails(mixnet_s):
    photo = uncropped_photo_size(SMALL)
    assert photo == (64, 81)
    published = THOP_2021.count(mixnet_s, photo)
    at_card = THOP_2021.count(mixnet_s, (SMALL, SMALL))
    finding = explain_flops(mixnet_s, "mixnet_s", image_size=SMALL, published=published)
    verdict = finding.verdict
    assert (verdict.status, verdict.convention, verdict.input_size) == ("fail", "thop_2021", photo)
    assert finding.measured == verdict.count_at_card_size == at_card
    macs = finding.fvcore.macs
    assert verdict.reason == (
        f"the card's {published:,} is thop-2021 MACs of a 64×81 input (an uncropped photo), "
        f"not of the 64×64 model input: at 64×64 the same rule counts {at_card:,}, so the "
        f"card overstates the model's cost at its resolution {published / at_card:.2f}×; "
        f"fvcore: {macs:,} MACs ({2 * macs:,} FLOPs)"
    )


@pytest.mark.slow
def test_a_figure_nothing_reproduces_is_information(mixnet_s):
    finding = explain_flops(mixnet_s, "mixnet_s", image_size=SMALL, published=123_456_789)
    verdict = finding.verdict
    assert (verdict.status, verdict.convention, verdict.input_size) == ("info", None, None)
    assert verdict.reason.startswith("no counting convention explains the card's 123,456,789")
    assert "× fvcore MACs" in verdict.reason and "none matches at 64×81 either" in verdict.reason
    assert finding.measured == finding.fvcore.flops
    data = finding.to_dict()
    assert set(data["counts"]) == {"64x64", "64x81"}
    assert set(data["counts"]["64x81"]) == set(CONVENTIONS)  # every convention was tried
    assert data["ratios"]["fvcore_macs"] == pytest.approx(123_456_789 / finding.fvcore.macs)


@pytest.mark.slow
def test_check_flops_carries_the_finding(mixnet_s):
    resolved = resolve_model("mixnet_s")
    card = resolved.card.with_figures(image_size=SMALL)
    photo_count = THOP_2021.count(resolved.model, uncropped_photo_size(SMALL))
    check = check_flops(card.with_figures(flops=photo_count), resolved)
    at_card = THOP_2021.count(resolved.model, (SMALL, SMALL))
    assert (check.status, check.published, check.measured) == ("fail", photo_count, at_card)
    assert check.delta == at_card - photo_count
    details = check.details
    assert (details["convention"], details["input_height"], details["input_width"]) == (
        "thop_2021",
        64,
        81,
    )
    assert details["count_at_card_size"] == at_card and details["flops"] == 2 * details["macs"]
    assert json.loads(json.dumps(details)) == details  # plain JSON: stored and read back as is
    unpublished = check_flops(card.with_figures(flops=None), resolved)
    assert unpublished.status == "info" and unpublished.measured == details["flops"]
    assert unpublished.reason.startswith("the card publishes no FLOPs")


# ------------------------------------------------------------------ the verdict, in general

SIZES = st.integers(min_value=1, max_value=600)
COUNTS = st.integers(min_value=0, max_value=2_000_000_000)


@st.composite
def tried(draw: st.DrawFn) -> tuple[int, dict[tuple[int, int], dict[str, int]]]:
    """A card size S and counts at S×S (every convention) and maybe at other inputs."""
    size = draw(SIZES)
    counts = {(size, size): {key: draw(COUNTS) for key in CONVENTIONS}}
    for other in draw(st.lists(st.tuples(SIZES, SIZES), max_size=2)):
        if other != (size, size):
            keys = draw(st.lists(st.sampled_from(list(CONVENTIONS)), min_size=1, unique=True))
            counts[other] = {key: draw(COUNTS) for key in keys}
    return size, counts


@settings(max_examples=300)
@given(data=st.data(), case=tried())
def test_the_verdict_passes_only_on_integer_equality_at_the_cards_size(data, case):
    size, counts = case
    every_count = [value for values in counts.values() for value in values.values()]
    # mostly a count that was tried, or one off it: the edges of integer equality
    near = st.sampled_from(every_count).flatmap(lambda v: st.sampled_from([v, v, v - 1, v + 1]))
    published = data.draw(st.one_of(st.none(), COUNTS, near))
    verdict = judge_flops(published, size, counts)
    at_card = counts[(size, size)]
    assert verdict.status in ("pass", "fail", "info")
    assert verdict.reason
    if published is None:
        assert verdict.status == "info" and verdict.convention is None
        return
    assert (verdict.status == "pass") == (published in at_card.values())
    elsewhere = any(
        published in values.values() for s, values in counts.items() if s != (size, size)
    )
    assert (verdict.status == "fail") == (published not in at_card.values() and elsewhere)
    if verdict.status == "info":
        assert verdict.convention is None and verdict.input_size is None
        return
    assert verdict.input_size is not None and verdict.convention is not None
    assert counts[verdict.input_size][verdict.convention] == published
    assert verdict.count_at_card_size == at_card[verdict.convention]
    assert (verdict.input_size == (size, size)) == (verdict.status == "pass")
