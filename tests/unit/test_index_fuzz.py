"""Random and mutated sources only ever produce the project's own error type, or an index
that says what it left out."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixbench.errors import IndexProblems
from mixbench.index import load_index, packaged_index_path

KEYS = [
    "Models", "Collections", "Import", "Name", "In Collection", "in_collection", "Metadata",
    "FLOPs", "Parameters", "File Size", "Crop Pct", "Image Size", "Interpolation", "Results",
    "Task", "Dataset", "Metrics", "Top 1 Accuracy", "top5", "Paper", "Title", "URL", "Code",
    "Weights", "Architecture", "Training Data", "model-index", "name", "type", "value", "metrics",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["78.98%", "0.875", "224", "bicubic", "7.33M", "lots", "*.yml", "../x.md"]),
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5
        ),
    ),
    max_leaves=25,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_text(text: str, suffix: str) -> None:
    """Parse ``text``; anything but success or IndexProblems fails the test. A success with
    problems loaded what it could: each model left out carries its problems, and the headline
    counts them."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"fuzz{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            index = load_index(path)
        except IndexProblems as error:
            assert error.problems and all(str(p) for p in error.problems)
            return
        assert len(index) > 0 or not index.problems  # nothing loaded with problems: raised
        for left in index.left_out:
            assert left.problems and left.reason() and str(left)
        assert f"{len(index.left_out)} left out" in index.headline()
        for card in index:
            assert all(w.file for w in card.not_published)
            card.to_dict()


@FUZZ
@given(STRUCTURES, st.sampled_from([".yml", ".json", ".md"]))
def test_random_structures(data, suffix):
    text = yaml.safe_dump(data, allow_unicode=True)
    if suffix == ".md":
        text = f"# card\n<!--\nType: model-index\n{text}-->\n"
    load_text(text, suffix)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), STRUCTURES, max_size=4))
@pytest.mark.slow
def test_random_models_in_a_valid_frame(model):
    load_text(yaml.safe_dump({"Models": [model]}, allow_unicode=True), ".yml")


_CARD = (packaged_index_path() / "mixnet.md").read_text()
_CARD_LINES = _CARD.splitlines(keepends=True)


@FUZZ
@given(st.data())
@pytest.mark.slow
def test_mutated_published_card(data):
    lines = list(_CARD_LINES)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "retype"]))
        i = data.draw(st.integers(0, len(lines) - 1))
        j = data.draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(j, lines[i])
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "insert":
            lines.insert(i, data.draw(st.text(max_size=20)) + "\n")
        else:  # change a value's text, keeping the key
            key, sep, _ = lines[i].partition(":")
            lines[i] = key + (sep or ":") + " " + data.draw(st.text(max_size=10)) + "\n"
        if not lines:
            break
    load_text("".join(lines), ".md")


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text):
    load_text(text, ".yml")
