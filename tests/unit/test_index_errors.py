"""Bad input: every problem collected, located as file:line: field: message."""

from __future__ import annotations

import pytest
from index_helpers import write

from mixbench.errors import IndexProblems
from mixbench.index import check_index, load_index


def problems_of(path) -> list[str]:
    _, problems = check_index(path)
    return [str(p) for p in problems]


def test_wrong_type_is_located_in_the_markdown_file(tmp_path):
    text = (
        "# A card\n\nprose\n\n<!--\nType: model-index\nModels:\n- Name: m\n"
        "  Metadata:\n    Parameters: lots\n-->\n"
    )
    path = write(tmp_path, "card.md", text)
    [problem] = problems_of(path)
    # line 10 of card.md, not line 4 of the comment block
    assert problem.endswith(
        "card.md:10: Models[0].Metadata.Parameters: expected a count (e.g. 7330000 or '7.33M'), got 'lots'"
    )


def test_front_matter_lines_count_from_the_file_top(tmp_path):
    text = "---\nmodel-index:\n- name: x\n  results:\n  - dataset: ImageNet\n    metrics: 5\n---\n"
    [problem] = problems_of(write(tmp_path, "README.md", text))
    assert "README.md:6: model-index[0].results[0].metrics: expected a mapping or a list" in problem


def test_malformed_yaml(tmp_path):
    # the line the bracket opens on, not one past the end of the two-line file
    [problem] = problems_of(write(tmp_path, "i.yml", "Models:\n- Name: [unclosed\n"))
    assert "i.yml:2:" in problem and "malformed YAML" in problem


def test_malformed_yaml_inside_markdown_reports_the_file_line(tmp_path):
    text = "intro\n\n<!--\nType: model-index\nModels:\n  - Name: a\n - Name: b\n-->\n"
    [problem] = problems_of(write(tmp_path, "c.md", text))
    assert "c.md:7:" in problem and "malformed YAML" in problem


def test_model_without_name(tmp_path):
    [problem] = problems_of(
        write(tmp_path, "i.yml", "Models:\n- Name: a\n- Metadata: {FLOPs: 1}\n")
    )
    assert problem.endswith("i.yml:3: Models[1]: model has no Name")


def test_duplicate_model_names_across_files(tmp_path):
    write(tmp_path, "a.yml", "Models:\n- Name: dup\n")
    write(tmp_path, "b.yml", "Models:\n\n- Name: dup\n")
    root = write(tmp_path, "root.yml", "Import: [a.yml, b.yml]\n")
    [problem] = problems_of(root)
    assert "b.yml:3: Name: duplicate model name 'dup' (first defined at " in problem
    assert "a.yml:2)" in problem


def test_unknown_collection(tmp_path):
    text = "Collections:\n- Name: Mix\nModels:\n- Name: a\n  In Collection: Mixx\n"
    [problem] = problems_of(write(tmp_path, "i.yml", text))
    assert problem.endswith(
        "i.yml:5: Models[0].In Collection: unknown collection 'Mixx' (known: Mix)"
    )


def test_missing_imported_file(tmp_path):
    write(tmp_path, "ok.yml", "Models:\n- Name: a\n")
    [problem] = problems_of(write(tmp_path, "root.yml", "Import:\n- ok.yml\n- missing.yml\n"))
    assert "root.yml:3: Import[1]: file not found" in problem and "missing.yml" in problem


def test_glob_matching_nothing(tmp_path):
    [problem] = problems_of(write(tmp_path, "root.yml", "Import:\n- models/*.yml\n"))
    assert "root.yml:2: Import[0]: import pattern 'models/*.yml' matched no files" in problem


def test_import_cycle(tmp_path):
    write(tmp_path, "a.yml", "Import: [b.yml]\nModels:\n- Name: a\n")
    write(tmp_path, "b.yml", "Import:\n- a.yml\n")
    [problem] = problems_of(tmp_path / "a.yml")
    assert "b.yml:2: Import[0]: import cycle: " in problem
    assert "a.yml → " in problem and "b.yml → " in problem


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n"])
def test_empty_files(tmp_path, text):
    [problem] = problems_of(write(tmp_path, "i.yml", text) if text else _empty(tmp_path))
    assert "i.yml" in problem and "empty" in problem


def _empty(tmp_path):
    path = tmp_path / "i.yml"
    path.write_text("")
    return path


def test_markdown_without_model_index(tmp_path):
    [problem] = problems_of(write(tmp_path, "card.md", "# Just prose\n<!-- a comment -->\n"))
    assert "no model-index found" in problem


def test_directory_without_root_file(tmp_path):
    [problem] = problems_of(tmp_path)
    assert "directory has no model-index.yml" in problem


def test_all_problems_are_collected(tmp_path):
    text = """
    Models:
    - Name: a
      Metadata:
        Parameters: lots
        Crop Pct: 87.5
        Image Size: big
        Interpolation: sharpest
    - Name: b
      Results:
      - Task: Image Classification
        Dataset: ImageNet
        Metrics:
          Top 1 Accuracy: 178
    """
    found = problems_of(write(tmp_path, "i.yml", text))
    assert [p.split(": ", 2)[1] for p in found] == [
        "Models[0].Metadata.Parameters",
        "Models[0].Metadata.Crop Pct",
        "Models[0].Metadata.Image Size",
        "Models[0].Metadata.Interpolation",
        "Models[1].Results[0].Metrics.Top 1 Accuracy",
    ]
    assert "write a fraction such as 0.875" in found[1]


def test_load_index_raises_the_project_error_with_every_problem(tmp_path):
    path = write(
        tmp_path, "i.yml", "Models:\n- Metadata: {}\n- Name: x\n  Metadata: {FLOPs: many}\n"
    )
    with pytest.raises(IndexProblems) as raised:
        load_index(path)
    assert len(raised.value.problems) == 2
    assert raised.value.exit_code == 2


def test_duplicate_keys_and_recursive_aliases(tmp_path):
    found = problems_of(write(tmp_path, "i.yml", "Models:\n- Name: a\n  Name: b\n"))
    assert any("i.yml:3: Models[0].Name: duplicate key" in p for p in found)
    found = problems_of(write(tmp_path, "j.yml", "Models: &m\n- Name: a\n  Extra: *m\n"))
    assert any("recursive YAML alias" in p for p in found)


def test_python_tags_are_refused(tmp_path):
    # on a scalar PyYAML's safe constructor refuses; on a collection our walker must refuse too
    [problem] = problems_of(write(tmp_path, "i.yml", "Models: !!python/name:os.system x\n"))
    assert "malformed YAML" in problem and "constructor" in problem
    [problem] = problems_of(
        write(tmp_path, "j.yml", "Models: !!python/object/apply:os.system [ls]\n")
    )
    assert (
        "j.yml:1: Models: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"
        in problem
    )


def test_control_characters_are_a_located_problem(tmp_path):
    """Found by hypothesis: PyYAML's reader raised before parsing began."""
    [problem] = problems_of(write(tmp_path, "i.yml", "Models:\n- Name: a\x1b\n"))
    assert "i.yml:2:" in problem and "character 0x1b not allowed" in problem


@pytest.mark.parametrize(
    "value", ['"1e999999999"', "1e999", '"1e-999999"', '"1e-999999999"', "9" * 60]
)
def test_a_figure_too_large_to_read_is_the_fields_problem_not_an_overflow(tmp_path, value):
    path = write(tmp_path, "i.yml", f"Models:\n- Name: a\n  Metadata:\n    Parameters: {value}\n")
    _, problems = check_index(path)
    assert len(problems) == 1 and problems[0].line == 4
    assert "not a plausible figure" in problems[0].message or "expected" in problems[0].message


def test_json_with_an_integer_python_refuses_to_read_is_malformed_json(tmp_path):
    digits = "9" * 5000
    text = '{"Models": [{"Name": "a", "Metadata": {"Parameters": DIGITS}}]}'
    path = write(tmp_path, "i.json", text.replace("DIGITS", digits))
    _, problems = check_index(path)
    assert [p.message for p in problems] == [
        "malformed JSON: an integer of thousands of digits (no figure is)"
    ]


@pytest.mark.parametrize(
    "results",
    [
        "  - Dataset: ImageNet\n    Metrics:\n      Top 1 Accuracy: 10.0\n      top1: 75.99\n",
        "  - Dataset: ImageNet\n    Metrics: {Top 1 Accuracy: 10.0}\n"
        "  - Dataset: ImageNet\n    Metrics: {Top 1 Accuracy: 75.99}\n",
    ],
)
def test_a_metric_published_twice_with_two_values_is_the_models_problem(tmp_path, results):
    """Which of two top-1s a card means is not for mixbench to pick (the last one used to win
    without a word, and the other was never compared)."""
    path = write(tmp_path, "i.yml", f"Models:\n- Name: m\n  Results:\n{results}")
    index, problems = check_index(path)
    assert len(index) == 0 and [left.name for left in index.left_out] == ["m"]
    assert len(problems) == 1 and "top1 published twice" in problems[0].message
