"""Every input form the parser reads, and collection inheritance."""

from __future__ import annotations

import json

import pytest
import yaml
from index_helpers import MODEL_YAML, write

from mixbench.index import load_index


def _check_m1(index):
    card = index["m1"]
    assert (card.flops, card.params, card.crop_pct, card.image_size) == (1000, 2000, 0.9, 256)
    assert card.interpolation == "bilinear"
    assert (card.top1, card.top5) == (70.5, 90.25)
    assert card.collection == "Mix"
    assert card.paper is not None and card.paper.url == "https://example.org/paper"


@pytest.mark.parametrize("suffix", [".yml", ".yaml"])
def test_yaml(tmp_path, suffix):
    _check_m1(load_index(write(tmp_path, f"index{suffix}", MODEL_YAML)))


def test_json(tmp_path):
    data = yaml.safe_load(MODEL_YAML)
    path = tmp_path / "index.json"
    path.write_text(json.dumps(data, indent=2))
    _check_m1(load_index(path))


def test_json_with_tabs_still_reads(tmp_path):
    path = tmp_path / "index.json"
    path.write_text(
        json.dumps({"Models": [{"Name": "x", "Metadata": {"Parameters": 5}}]}, indent="\t")
    )
    assert load_index(path)["x"].params == 5


@pytest.mark.parametrize("suffix", [".md", ".mdx"])
def test_markdown_comment_blocks_are_merged(tmp_path, suffix):
    collection, models = MODEL_YAML.split("Models:")
    text = (
        "# Card\n\nSome prose.\n\n<!--\nType: model-index\n" + collection.strip() + "\n-->\n\n"
        "More prose with an unrelated <!-- comment -->.\n\n"
        "<!-- Type: model-index\nModels:" + models + "-->\n"
    )
    _check_m1(load_index(write(tmp_path, f"card{suffix}", text)))


def test_hugging_face_front_matter(tmp_path):
    path = write(
        tmp_path,
        "README.md",
        """
        ---
        license: apache-2.0
        library_name: timm
        tags: [image-classification]
        model-index:
        - name: hf_mixnet
          results:
          - task:
              type: image-classification
              name: Image Classification
            dataset:
              name: ImageNet-1k
              type: imagenet-1k
            metrics:
            - name: Top 1 Accuracy
              type: accuracy
              value: 78.98
            - type: top_5_accuracy
              value: 94.18
        ---
        # hf_mixnet
        """,
    )
    card = load_index(path)["hf_mixnet"]
    assert (card.top1, card.top5) == (78.98, 94.18)
    assert card.results[0].dataset == "ImageNet-1k"
    assert card.results[0].dataset_type == "imagenet-1k"
    assert card.metric("top1", dataset="ImageNet") == 78.98  # dataset names match loosely


def test_keys_are_case_insensitive(tmp_path):
    text = """
    collections:
    - name: Mix
      metadata:
        training_data: [ImageNet]
    models:
    - NAME: m2
      in_collection: Mix
      METADATA:
        flops: 10
        crop-pct: 0.95
        image_size: 300
      results:
      - task: Image Classification
        dataset: ImageNet
        metrics:
          top1: 80.0
    """
    card = load_index(write(tmp_path, "i.yml", text))["m2"]
    assert (card.flops, card.crop_pct, card.image_size, card.top1) == (10, 0.95, 300, 80.0)
    assert card.training_data == ("ImageNet",)


def test_collection_inheritance_model_wins_and_nested_mappings_merge(tmp_path):
    text = """
    Collections:
    - Name: Mix
      Metadata:
        Training Data: [ImageNet]
        Crop Pct: '0.875'
        Training Resources: {GPUs: 8, Hours: 10}
      Results:
      - Task: Image Classification
        Dataset: ImageNet
        Metrics: {Top 1 Accuracy: 70.0, Top 5 Accuracy: 90.0}
    Models:
    - Name: child
      In Collection: Mix
      Metadata:
        Crop Pct: '0.9'
        Training Resources: {Hours: 12}
      Results:
      - Task: Image Classification
        Dataset: ImageNet
        Metrics: {Top 1 Accuracy: 71.0}
    """
    card = load_index(write(tmp_path, "i.yml", text))["child"]
    assert card.crop_pct == 0.9  # the model's own value wins
    assert card.training_data == ("ImageNet",)  # inherited
    assert (card.top1, card.top5) == (71.0, 90.0)  # results merge metric by metric
    assert card.extra["Metadata"]["Training Resources"] == {"GPUs": 8, "Hours": 12}


def test_import_relative_paths_globs_and_directories(tmp_path):
    write(tmp_path, "collections/mix.yml", "Collections:\n- Name: Mix\n")
    write(tmp_path, "models/a.yml", "Models:\n- Name: a\n  In Collection: Mix\n")
    write(tmp_path, "models/b.yaml", "Models:\n- Name: b\n  In Collection: Mix\n")
    write(tmp_path, "cards/c.md", "<!--\nType: model-index\nModels:\n- Name: c\n-->\n")
    write(
        tmp_path,
        "model-index.yml",
        "Import:\n- collections/mix.yml\n- models/*.y*ml\n- ./cards/c.md\n",
    )
    index = load_index(tmp_path)  # a directory stands for its model-index.yml
    assert [card.name for card in index] == ["a", "b", "c"]
    assert index["a"].collection == "Mix"


def test_diamond_import_reads_each_file_once(tmp_path):
    write(tmp_path, "shared.yml", "Models:\n- Name: s\n")
    write(tmp_path, "left.yml", "Import: [shared.yml]\n")
    write(tmp_path, "right.yml", "Import: [shared.yml]\n")
    root = write(tmp_path, "root.yml", "Import: [left.yml, right.yml]\n")
    assert [card.name for card in load_index(root)] == ["s"]


def test_single_model_file_and_bare_list(tmp_path):
    assert (
        load_index(write(tmp_path, "one.yml", "Name: solo\nMetadata: {Parameters: 7}\n"))[
            "solo"
        ].params
        == 7
    )
    assert len(load_index(write(tmp_path, "list.yml", "- Name: p\n- Name: q\n"))) == 2


@pytest.mark.parametrize(
    ("raw", "expected", "flagged"),
    [
        ("'78.98%'", 78.98, False),
        ("94.0", 94.0, False),
        ("0.7898", 78.98, True),
        ("'75.5'", 75.5, False),
    ],
)
def test_metric_values_become_percent(tmp_path, raw, expected, flagged):
    text = f"""
    Models:
    - Name: m
      Results:
      - Task: Image Classification
        Dataset: ImageNet
        Metrics:
          Top 1 Accuracy: {raw}
    """
    card = load_index(write(tmp_path, "i.yml", text))["m"]
    assert card.top1 == expected
    assert card.results[0].metrics["top1"].converted_from_fraction is flagged
    assert bool(card.notes) is flagged
    if flagged:
        assert "i.yml:7" in card.notes[0] and "fraction" in card.notes[0]


@pytest.mark.parametrize(
    ("raw", "params"),
    [("7330000", 7330000), ("'7,330,000'", 7330000), ("7.33M", 7330000), ("'4.1346 M'", 4134600)],
)
def test_parameter_counts_in_the_wild(tmp_path, raw, params):
    card = load_index(
        write(tmp_path, "i.yml", f"Models:\n- Name: m\n  Metadata:\n    Parameters: {raw}\n")
    )
    assert card["m"].params == params


def test_unknown_fields_are_preserved(tmp_path):
    text = "Models:\n- Name: m\n  README: docs/m.md\n  Metadata:\n    Epochs: 450\n    ID: m\n"
    card = load_index(write(tmp_path, "i.yml", text))["m"]
    assert card.extra == {"README": "docs/m.md", "Metadata": {"Epochs": 450, "ID": "m"}}


def test_to_dict_is_json_ready(tmp_path):
    card = load_index(write(tmp_path, "i.yml", MODEL_YAML))["m1"]
    data = json.loads(json.dumps(card.to_dict()))
    assert data["params"] == 2000 and data["results"][0]["metrics"]["top1"]["value"] == 70.5


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Top-5 acc. on val (%)", "top5"), ("Top-1 error", "Top-1 error"), ("val accuracy", "top1")],
)
def test_a_generic_accuracy_type_follows_what_its_name_says(name, expected):
    """``type: accuracy`` is top-1 only where the free-form name says no other top-k: a top-5
    named so was read as a second top-1, overwriting the first."""
    from mixbench.index.normalise import canonical_metric

    assert canonical_metric(name, "accuracy") == expected
