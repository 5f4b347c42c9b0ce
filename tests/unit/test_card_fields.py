"""The card-figure schema (mixbench.index.fields) is the one place a figure is described:
every row is read from an index, shown, diffed, stored with its unit and exported so that it
reads back, with nothing else to edit."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from mixbench.cli import cli
from mixbench.diff import FIELD_LABELS, compare_cards
from mixbench.export import MeasuredModel, to_model_index_yaml
from mixbench.index import load_index
from mixbench.index.fields import CARD_FIGURES, FIELDS
from mixbench.index.keys import METADATA_KEYS, normalise_key
from mixbench.records import UNITS

ROWS = [pytest.param(card_field, id=card_field.name) for card_field in CARD_FIGURES]


def _index(tmp_path, key: str, value: str, name: str = "m"):
    path = tmp_path / f"{name}.yml"
    path.write_text(f"Models:\n- Name: {name}\n  Metadata:\n    {key}: {value!r}\n")
    return path


@pytest.mark.parametrize("card_field", ROWS)
def test_every_spelling_of_a_row_is_read_into_the_card(tmp_path, card_field):
    want = card_field.parse(card_field.example)[0]
    for number, key in enumerate(card_field.keys):
        card = load_index(_index(tmp_path, key, card_field.example, f"m{number}"), strict=True)[
            f"m{number}"
        ]
        assert card.figure(card_field.name) == want, key
        assert card.to_dict()[card_field.name] == want
        assert normalise_key(key) in METADATA_KEYS


@pytest.mark.parametrize("card_field", ROWS)
def test_a_row_is_labelled_diffed_and_stored_with_its_unit(tmp_path, card_field):
    assert FIELD_LABELS[card_field.name] == card_field.label
    assert UNITS[card_field.name] == card_field.unit
    path = _index(tmp_path, card_field.export_key, card_field.example)
    card = load_index(path)["m"]
    [comparison] = compare_cards(card, card, tolerance=0.0)
    assert comparison.field == card_field.label and comparison.agree
    shown = CliRunner().invoke(cli, ["show", "m", "--index", str(path)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert card_field.label in shown.output


@pytest.mark.parametrize("card_field", ROWS)
def test_an_exported_figure_reads_back_equal(tmp_path, card_field):
    value = card_field.parse(card_field.example)[0]
    text = to_model_index_yaml([MeasuredModel.of("m", **{card_field.name: value})])
    path = tmp_path / "measured.yml"
    path.write_text(text)
    assert load_index(path, strict=True)["m"].figure(card_field.name) == value


def test_a_card_holds_only_schema_figures():
    from mixbench.index.cards import ModelCard

    with pytest.raises(ValueError, match="not card figures: shoe_size"):
        ModelCard("m", figures={"shoe_size": 42})
    with pytest.raises(KeyError):
        ModelCard("m").figure("shoe_size")


def test_the_checks_hold_cards_to_schema_figures_or_metrics():
    from mixbench.verify import CHECKS

    card_fields = {spec.card_field for group in CHECKS for spec in group.specs} - {None}
    assert card_fields - set(FIELDS) == {"top1", "top5"}  # the two accuracies are metrics


@given(st.integers(min_value=1, max_value=10**12))
def test_counts_survive_the_written_form(count):
    for name in ("params", "flops", "file_size"):
        card_field = FIELDS[name]
        assert card_field.read(card_field.written(count)) == count
