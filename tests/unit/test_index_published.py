"""The published cards parse to exactly their published values."""

from __future__ import annotations

import pytest

from mixbench.index import load_index, packaged_index_path

# name: (FLOPs, params, file size, top-1, top-5, collection), as printed in the cards.
PUBLISHED = {
    "mixnet_l": (738671316, 7330000, 29608232, 78.98, 94.18, "MixNet"),
    "mixnet_m": (454543374, 5010000, 20298347, 77.27, 93.42, "MixNet"),
    "mixnet_s": (321264910, 4130000, 16727982, 75.99, 92.79, "MixNet"),
    "mixnet_xl": (1195880424, 11900000, 48001170, 80.47, 94.93, "MixNet"),
    "tf_mixnet_l": (688674516, 7330000, 29620756, 78.78, 94.0, "TF MixNet"),
    "tf_mixnet_m": (416633502, 5010000, 20310871, 76.96, 93.16, "TF MixNet"),
    "tf_mixnet_s": (302587678, 4130000, 16738218, 75.68, 92.64, "TF MixNet"),
}


@pytest.fixture(scope="module")
def index():
    return load_index()


def test_seven_cards_in_published_order(index):
    assert [card.name for card in index] == list(PUBLISHED)
    assert index.collections == ("MixNet", "TF MixNet")
    assert len(index.files) == 3  # the root and the two imported cards


@pytest.mark.parametrize("name", PUBLISHED)
def test_card_values_exactly_as_published(index, name):
    flops, params, file_size, top1, top5, collection = PUBLISHED[name]
    card = index[name]
    assert (card.flops, card.params, card.file_size) == (flops, params, file_size)
    assert (card.top1, card.top5) == (top1, top5)
    assert card.collection == collection
    assert card.crop_pct == 0.875 and isinstance(card.crop_pct, float)
    assert card.image_size == 224 and isinstance(card.image_size, int)
    assert card.interpolation == "bicubic"
    assert card.training_data == ("ImageNet",)
    assert card.training_techniques == ("MNAS",)
    assert "MixConv" in card.architecture
    assert (
        card.paper is not None
        and card.paper.title == "MixConv: Mixed Depthwise Convolutional Kernels"
    )
    assert card.weights_url.startswith(
        "https://github.com/rwightman/pytorch-image-models/releases/"
    )
    assert card.extra["Metadata"] == {"ID": name}  # unknown fields are preserved
    assert card.notes == ()


def test_card_lines_point_into_the_markdown_file(index):
    text = (packaged_index_path() / "mixnet.md").read_text().splitlines()
    source = index["mixnet_xl"].source
    assert source is not None and source.file.endswith("mixnet.md")
    assert text[source.line - 1] == "- Name: mixnet_xl"


def test_tagged_name_finds_the_card(index):
    assert index["mixnet_xl.ra_in1k"].name == "mixnet_xl"


def test_current_timm_card_matches_the_packaged_one(index):
    """timm's current mixnet.mdx (tests/data) carries the same model-index as our copy."""
    from pathlib import Path

    current = load_index(Path(__file__).parents[1] / "data" / "mixnet.mdx")
    for card in current:
        assert card.to_dict() | {"source": None} == index[card.name].to_dict() | {"source": None}
