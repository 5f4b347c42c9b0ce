"""Unknown keys: misspellings warn with a suggestion and a location, --strict rejects them all."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from index_helpers import write

from mixbench.errors import IndexProblems
from mixbench.index import CardWarning, check_index, load_index
from mixbench.index.keys import (
    DOCUMENT_KEYS,
    METADATA_KEYS,
    METRIC_ITEM_KEYS,
    METRIC_NAMES,
    MODEL_KEYS,
    NAMED_KEYS,
    RESULT_KEYS,
    normalise_key,
    suggest,
)
from mixbench.index.normalise import canonical_metric
from mixbench.index.timm_results import read_timm_results

TIMM_DOCS = Path(__file__).parents[1] / "data" / "timm-docs"

CARD = """\
Models:
- Name: m
  Metadata:
    {key}: {value}
  Results:
  - Task: Image Classification
    Dataset: ImageNet
    Metrics:
      Top 1 Accuracy: 75.99%
      {metric}: 92.79%
"""


def card(tmp_path: Path, key: str = "Parameters", value: str = "4130000", metric: str = "top5"):
    return write(tmp_path, "i.yml", CARD.format(key=key, value=value, metric=metric))


@pytest.mark.parametrize(
    ("key", "value", "suggestion"),
    [
        ("Paramters", "4130000", "Parameters"),
        ("Crop Pcts", "'0.875'", "Crop Pct"),
        ("Image Szie", "224", "Image Size"),
        ("Interpolaton", "bicubic", "Interpolation"),
        ("File Sise", "16727982", "File Size"),
        ("CROP-PCT", "'0.875'", None),  # the same key once normalised: no warning at all
    ],
)
def test_misspelled_metadata_key_warns_with_suggestion_and_location(
    tmp_path, key, value, suggestion
):
    index, problems = check_index(card(tmp_path, key, value))
    assert problems == []
    if suggestion is None:
        assert index.warnings == () and index["m"].warnings == ()
        return
    [warning] = index["m"].warnings
    assert index.warnings == (warning,)
    assert isinstance(warning, CardWarning)
    assert (warning.line, warning.field, warning.suggestion) == (
        4,
        f"Models[0].Metadata.{key}",
        suggestion,
    )
    assert warning.file.endswith("i.yml")
    assert str(warning).endswith(
        f"i.yml:4: Models[0].Metadata.{key}: unknown key, not used (did you mean {suggestion!r}?)"
    )
    assert index["m"].extra["Metadata"] == {key: yaml_value(value)}  # still kept as published


def yaml_value(text: str) -> object:
    import yaml

    return yaml.safe_load(text)


def test_misspelled_metric_warns(tmp_path):
    index, problems = check_index(card(tmp_path, metric="Top 5 Acuracy"))
    assert problems == []
    [warning] = index["m"].warnings
    assert warning.line == 10 and warning.suggestions == ("Top 5 Accuracy",)
    assert "Metrics.Top 5 Acuracy: unknown metric, not compared" in str(warning)
    assert index["m"].top5 is None  # not read as top-5: that is what the warning says


def test_hugging_face_metric_name_misspelled_beside_a_generic_type(tmp_path):
    text = (
        "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: image-classification}\n"
        "    dataset: {name: ImageNet, type: imagenet-1k}\n    metrics:\n"
        "    - {type: accuracy, name: Top 5 Acuracy, value: 92.79}\n---\n"
    )
    index, problems = check_index(write(tmp_path, "README.md", text))
    assert problems == []
    [warning] = index["m"].warnings
    assert warning.line == 8 and warning.suggestion == "Top 5 Accuracy"
    assert "metric name not recognised, read as top1" in warning.message


@pytest.mark.parametrize(
    ("text", "line", "field", "suggestion"),
    [
        ("Modles:\n- Name: m\nCollections: []\n", 1, "Modles", "Models"),
        ("Models:\n- Name: m\n  Resutls: []\n", 3, "Models[0].Resutls", "Results"),
        ("Models:\n- Name: m\n  Weigths: x.pth\n", 3, "Models[0].Weigths", "Weights"),
        (
            "Models:\n- Name: m\n  Results:\n  - Task: x\n    Datasett: ImageNet\n"
            "    Dataset: ImageNet\n    Metrics: {top1: 1}\n",
            5,
            "Models[0].Results[0].Datasett",
            "Dataset",
        ),
    ],
)
def test_misspelled_structural_keys_warn(tmp_path, text, line, field, suggestion):
    index, problems = check_index(write(tmp_path, "i.yml", text))
    assert problems == []
    [warning] = index.warnings
    assert (warning.line, warning.field, warning.suggestion) == (line, field, suggestion)


def test_collection_warnings_reach_its_models(tmp_path):
    text = (
        "Collections:\n- Name: C\n  Metadata: {Paramters: 5}\n"
        "Models:\n- Name: a\n  In Collection: C\n- Name: b\n  In Collection: C\n"
    )
    index = load_index(write(tmp_path, "i.yml", text))
    assert [w.field for w in index.warnings] == ["Collections[0].Metadata.Paramters"]
    assert index["a"].warnings == index["b"].warnings == index.warnings


def test_warnings_are_in_the_cards_json(tmp_path):
    data = load_index(card(tmp_path, "Paramters"))["m"].to_dict()
    [warning] = data["warnings"]
    assert warning["suggestions"] == ["Parameters"] and warning["suggestion"] == "Parameters"
    assert warning["line"] == 4 and warning["field"] == "Models[0].Metadata.Paramters"


def test_strict_makes_every_unknown_key_a_problem(tmp_path):
    path = card(tmp_path, "Paramters")
    text = path.read_text().replace("  Results:", "  Metadata Source: lab notes\n  Results:")
    path.write_text(text)
    index, problems = check_index(path, strict=True)
    assert [str(p).split(": ", 1)[1] for p in problems] == [
        "Models[0].Metadata.Paramters: unknown key, not used (did you mean 'Parameters'?)",
        "Models[0].Metadata Source: unknown key, not used (--strict accepts only known keys)",
    ]
    assert (
        len(index.unknown_keys) == 2 and len(index.warnings) == 1
    )  # the far one only fails strict
    with pytest.raises(IndexProblems) as raised:
        load_index(path, strict=True)
    assert "--strict" in (raised.value.hint or "")
    assert load_index(path).warnings == index.warnings  # without strict: warnings only


def test_known_unused_keys_pass_strict(tmp_path):
    """paperswithcode's spec fields and timm's training hyperparameters are known, not used."""
    text = (
        "Models:\n- Name: m\n  Config: c.py\n  README: r.md\n  Metadata:\n    ID: m\n"
        "    Epochs: 450\n    Batch Size: 1024\n    Training Resources: 8x V100\n    LR: 0.1\n"
    )
    index, problems = check_index(write(tmp_path, "i.yml", text), strict=True)
    assert problems == [] and index.unknown_keys == ()


def test_packaged_cards_are_clean_even_strictly():
    index, problems = check_index(strict=True)
    assert problems == [] and index.warnings == () and index.unknown_keys == ()
    assert all(card.warnings == () for card in index)


@pytest.mark.parametrize("path", sorted(TIMM_DOCS.glob("*.mdx")), ids=lambda p: p.stem)
def test_published_timm_cards_load_without_false_warnings(path):
    index, problems = check_index(path)
    assert problems == [] and len(index) > 0
    assert index.warnings == ()


def test_what_strict_rejects_in_the_published_timm_cards():
    """Two one-off keys in 261 published models are unknown to mixbench: --strict says so."""
    unknown = {
        (path.name, warning.field.rsplit(".", 1)[-1])
        for path in TIMM_DOCS.glob("*.mdx")
        for warning in check_index(path)[0].unknown_keys
    }
    assert unknown == {
        ("csp-darknet.mdx", "FPS (GPU RTX 2070)"),
        ("nasnet.mdx", "RMSProp \\\\( \\epsilon \\\\)"),
    }


def test_timm_docs_copy_is_complete():
    assert len(list(TIMM_DOCS.glob("*.mdx"))) == 63
    assert sum(len(check_index(p)[0]) for p in TIMM_DOCS.glob("*.mdx")) == 261


def test_misspelled_csv_column_warns(tmp_path):
    path = write(
        tmp_path, "results-imagenet.csv", "model,top1,top5,img_sise,top1_err\nm,70.0,90.0,224,30\n"
    )
    [row] = read_timm_results(path)
    [warning] = row.warnings
    assert (warning.line, warning.field, warning.suggestion) == (1, "img_sise", "img_size")
    assert row.image_size is None


# ------------------------------------------------------------------------ property: one edit

KEY_SETS = {
    "document": DOCUMENT_KEYS,
    "model": MODEL_KEYS,
    "metadata": METADATA_KEYS,
    "result": RESULT_KEYS,
    "named": NAMED_KEYS,
    "metric item": METRIC_ITEM_KEYS,
    "metric": METRIC_NAMES,
}
LONG_KEYS = [
    (context, spelling)
    for context, known in KEY_SETS.items()
    for norm, spelling in known.items()
    if len(norm) >= 6
]


@st.composite
def one_edit(draw: st.DrawFn) -> tuple[str, str, str]:
    """(context, known spelling, the spelling with one letter inserted/deleted/substituted or
    two neighbours transposed)."""
    context, key = draw(st.sampled_from(LONG_KEYS))
    letter = draw(st.sampled_from(string.ascii_letters))
    edit = draw(st.sampled_from(["insert", "delete", "substitute", "transpose"]))
    at = draw(st.integers(0, len(key) - (0 if edit == "insert" else 1)))
    if edit == "insert":
        edited = key[:at] + letter + key[at:]
    elif edit == "delete":
        edited = key[:at] + key[at + 1 :]
    elif edit == "substitute":
        edited = key[:at] + letter + key[at + 1 :]
    else:
        at = min(at, len(key) - 2)
        edited = key[:at] + key[at + 1] + key[at] + key[at + 2 :]
    return context, key, edited


def is_known(context: str, key: str) -> bool:
    if normalise_key(key) in KEY_SETS[context]:
        return True
    return context == "metric" and canonical_metric(key, None) in ("top1", "top5")


@settings(max_examples=400, deadline=None)
@given(one_edit())
def test_one_edit_of_a_known_key_suggests_it(case):
    context, key, edited = case
    assume(not is_known(context, edited))
    assert key in suggest(edited, KEY_SETS[context])


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(one_edit().filter(lambda case: case[0] == "metadata"))
def test_one_edit_of_a_metadata_key_warns_through_the_loader(case):
    _, key, edited = case
    assume(not is_known("metadata", edited) and edited.strip() == edited)
    with tempfile.TemporaryDirectory() as directory:
        path = write(Path(directory), "i.yml", CARD.format(key=edited, value="1", metric="top5"))
        index, problems = check_index(path)
        assume(not problems)  # e.g. an edit that makes the key YAML syntax
        [warning] = index.warnings
        assert key in warning.suggestions and warning.line == 4
        _, strict_problems = check_index(path, strict=True)
        assert len(strict_problems) == 1
