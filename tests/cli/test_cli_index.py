"""The CLI a user types: tables, JSON, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from index_helpers import write

from mixbench.cli import cli

ROOT = Path(__file__).resolve().parents[2]
TIMM_CSV = Path(__file__).parents[1] / "data" / "results-imagenet.csv"


def run(*args: str, env: dict[str, str] | None = None):
    # the width of a pipe: the console honours COLUMNS, which a developer's shell may export
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "160", **(env or {})})


def test_list_shows_all_seven_cards():
    result = run("list")
    assert result.exit_code == 0
    for name in (
        "mixnet_s",
        "mixnet_m",
        "mixnet_l",
        "mixnet_xl",
        "tf_mixnet_s",
        "tf_mixnet_m",
        "tf_mixnet_l",
    ):
        assert name in result.output
    assert "80.47" in result.output and "11.90 M" in result.output and "bicubic" in result.output


def test_list_json():
    cards = json.loads(run("list", "--json").output)
    assert [c["name"] for c in cards][:2] == ["mixnet_l", "mixnet_m"]
    assert cards[3]["params"] == 11900000


def test_show_json_is_the_normalised_card():
    card = json.loads(run("show", "mixnet_xl", "--json").output)
    assert card["flops"] == 1195880424 and card["crop_pct"] == 0.875 and card["image_size"] == 224
    assert card["results"][0]["metrics"]["top1"]["value"] == 80.47


def test_show_unknown_model_suggests_names():
    result = run("show", "mixnet_xxl")
    assert result.exit_code == 2
    assert "error: no model card named 'mixnet_xxl'" in result.output
    assert "hint: did you mean mixnet_xl" in result.output


def test_index_check_clean_and_broken(tmp_path):
    assert run("index", "check", str(ROOT / "model_index")).exit_code == 0
    broken = write(
        tmp_path, "i.yml", "Models:\n- Name: a\n  Metadata:\n    Parameters: lots\n- Metadata: {}\n"
    )
    result = run("index", "check", str(broken))
    assert result.exit_code == 2
    assert "i.yml:4: Models[0].Metadata.Parameters: expected a count" in result.output
    assert "i.yml:5: Models[1]: model has no Name" in result.output
    assert "Traceback" not in result.output
    report = json.loads(run("index", "check", str(broken), "--json").output)
    assert report["ok"] is False and len(report["problems"]) == 2


def test_bad_index_for_list_exits_2_with_hint(tmp_path):
    broken = write(tmp_path, "i.yml", "Models: [\n")
    result = run("list", "--index", str(broken))
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "malformed YAML" in result.output
    assert "hint: " in result.output


def test_index_from_environment(tmp_path):
    path = write(tmp_path, "i.yml", "Models:\n- Name: only_one\n")
    result = run("list", "--json", env={"MIXBENCH_INDEX": str(path)})
    assert [c["name"] for c in json.loads(result.output)] == ["only_one"]


def test_diff_exit_codes_and_markdown(tmp_path):
    clean = run("diff", "index", str(TIMM_CSV), "--tolerance", "0.05")
    assert clean.exit_code == 0, clean.output
    assert "7 models matched, 42 fields compared, 0 differ" in clean.output
    drift = run("diff", "index", str(TIMM_CSV), "--format", "md")
    assert drift.exit_code == 1
    assert (
        "| mixnet\\_xl (mixnet\\_xl.ra\\_in1k) | top1 (ImageNet) | 80.47 | 80.494 | +0.024 | **differs** |"
        in drift.output
    )
    data = json.loads(run("diff", "index", "timm:imagenet", "--json").output)
    assert data["ok"] is False and len(data["differences"]) == 9


def test_diff_missing_source_is_bad_input():
    result = run("diff", "index", "nowhere.csv")
    assert result.exit_code == 2
    assert "error: nowhere.csv: no such file or directory" in result.output


def test_diff_with_nothing_in_common_is_bad_input(tmp_path):
    other = write(tmp_path, "o.yml", "Models:\n- Name: resnet50\n  Metadata: {FLOPs: 1}\n")
    result = run("diff", "index", str(other))
    assert result.exit_code == 2
    assert "error: nothing to compare: no model is in both" in result.output
    assert "hint: models match by name" in result.output


def test_hostile_card_text_cannot_break_the_markdown_table(tmp_path):
    a = write(tmp_path, "a.yml", "Models:\n- Name: 'x|y'\n  Metadata: {Interpolation: bicubic}\n")
    b = write(tmp_path, "b.yml", "Models:\n- Name: 'x|y'\n  Metadata: {Interpolation: bilinear}\n")
    table = [
        line
        for line in run("diff", str(a), str(b), "--format", "md").output.splitlines()
        if line.startswith("| x")
    ]
    assert table == ["| x\\|y | interpolation | bicubic | bilinear |  | **differs** |"]


def test_debug_shows_the_traceback(tmp_path):
    """With --debug the traceback comes before the one-line error; without it, only the line.
    The exit code is 2 (bad input) either way."""
    broken = write(tmp_path, "i.yml", "Models: [\n")
    plain = run("list", "--index", str(broken))
    debugging = run("--debug", "list", "--index", str(broken))
    assert plain.exit_code == debugging.exit_code == 2
    assert "Traceback (most recent call last)" not in plain.output
    assert "Traceback (most recent call last)" in debugging.output
    assert debugging.output.index("Traceback") < debugging.output.index("error: ")
    assert plain.output.strip().startswith("error: ")


def test_python_dash_m_and_console_script():
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "mixbench", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 7


@pytest.mark.slow
def test_wheel_carries_the_index(tmp_path):
    """A wheel install (not only an editable one) finds the cards, templates and presets."""
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    [wheel] = (tmp_path / "dist").glob("mixbench-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import mixbench.index as i, mixbench.report as r, mixbench.models as m; "
        "print(i.packaged_index_path()); print(len(i.load_index())); "
        "print(','.join(sorted(r.environment().list_templates()))); print(len(m.list_presets()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert proc.returncode == 0, proc.stderr
    location, count, templates, presets = proc.stdout.split()
    assert location.startswith(str(target)) and count == "7"
    assert templates == "audit.md.j2,diff.md.j2,speed.md.j2,verify.md.j2,verify_summary.md.j2"
    assert presets == "7"


# ------------------------------------------------------------------------ diff: never a silent pass


def planted(tmp_path: Path, name: str = "planted.csv") -> Path:
    """timm's MixNet rows, mixnet_l's top-1 lowered by a full point."""
    rows = [
        line
        for line in TIMM_CSV.read_text().splitlines()
        if line.startswith(("model,", "mixnet_", "tf_mixnet_"))
    ]
    text = "\n".join(rows).replace("mixnet_l.ft_in1k,224,78.970,", "mixnet_l.ft_in1k,224,77.970,")
    return write(tmp_path, name, text + "\n")


def test_diff_csv_without_a_dataset_is_bad_input(tmp_path):
    result = run("diff", "index", str(planted(tmp_path)), "--tolerance", "0.05")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "planted.csv" in result.output
    assert "hint: pass --dataset imagenet (or name the file results-<dataset>.csv)" in result.output
    assert "0 differ" not in result.output and "Traceback" not in result.output


def test_diff_csv_with_its_dataset_finds_the_lowered_top1(tmp_path):
    result = run(
        "diff", "index", str(planted(tmp_path)), "--tolerance", "0.05", "--dataset", "imagenet"
    )
    assert result.exit_code == 1, result.output
    assert "7 models matched, 42 fields compared, 1 differ" in result.output
    [row] = [line for line in result.output.splitlines() if "differs" in line]
    assert "mixnet_l" in row and "top1 (ImageNet)" in row and "-1.01" in row


def test_diff_dataset_option_without_a_csv_is_bad_input():
    result = run("diff", "index", "timm:imagenet", "--dataset", "imagenet")
    assert result.exit_code == 2
    assert (
        "error: --dataset imagenet: neither" in result.output
        and "hint: drop --dataset" in result.output
    )


def test_diff_lists_what_it_could_not_compare(tmp_path):
    result = run("diff", "index", str(TIMM_CSV), "--tolerance", "0.05")
    assert result.exit_code == 0
    assert "0 differ (tolerance ±0.05 points); 14 not compared:" in result.output
    assert "one side only: FLOPs: only in " in result.output
    assert "one side only: file size: only in " in result.output
    other_dataset = run("diff", "index", str(TIMM_CSV), "--dataset", "imagenet-real", "--json")
    data = json.loads(other_dataset.stdout)
    fields = {(s["field"], s["side"]) for s in data["not_compared_summary"]}
    assert ("top1 (ImageNet)", "a") in fields and ("top1 (ImageNet-ReaL)", "b") in fields
    assert "read as results on ImageNet-ReaL (--dataset), not ImageNet" in data["notes"][0]
    markdown = run("diff", "index", str(TIMM_CSV), "--format", "md").output
    assert "Not compared (one side only):" in markdown
    assert "14 not compared (one side only)." in markdown


def test_diff_of_models_sharing_no_field_is_bad_input(tmp_path):
    a = write(tmp_path, "a.yml", "Models:\n- Name: m\n  Metadata: {FLOPs: 5}\n")
    b = write(tmp_path, "b.yml", "Models:\n- Name: m\n  Metadata: {Parameters: 7}\n")
    for args in ((), ("--json",), ("--format", "md")):
        result = run("diff", str(a), str(b), *args)
        assert result.exit_code == 2, args
        assert "error: nothing to compare: the 1 models in both" in result.output
        assert "hint: " in result.output
        assert "0 differ" not in result.output  # nothing compared is never agreement
    assert (
        "1 models matched, nothing compared; 2 not compared:" in run("diff", str(a), str(b)).output
    )
    assert "**Nothing to compare:**" in run("diff", str(a), str(b), "--format", "md").output


def test_diff_shows_the_sources_warnings(tmp_path):
    a = write(tmp_path, "a.yml", "Models:\n- Name: m\n  Metadata: {Paramters: 7, FLOPs: 1}\n")
    b = write(tmp_path, "b.yml", "Models:\n- Name: m\n  Metadata: {Parameters: 7, FLOPs: 1}\n")
    result = run("diff", str(a), str(b))
    assert result.exit_code == 0
    assert "warning: " in result.output and "did you mean 'Parameters'?" in result.output
    assert "one side only: params: only in " in result.output


# ------------------------------------------------------------------------ misspelled keys

MISSPELLED = "Models:\n- Name: m\n  Metadata:\n    Paramters: 4130000\n    Lab Notes: x\n"


def test_index_check_warns_on_misspelled_keys_and_hints(tmp_path):
    path = write(tmp_path, "i.yml", MISSPELLED)
    result = run("index", "check", str(path))
    assert result.exit_code == 0
    assert (
        "warning: " + str(path) + ":4: Models[0].Metadata.Paramters: unknown key, not used "
        "(did you mean 'Parameters'?)" in result.output
    )
    assert "Lab Notes" not in result.output  # unknown but close to nothing: only --strict says
    assert "hint: fix the key, or pass --strict to treat unknown keys as errors" in result.output
    assert "ok: " in result.output and "1 warning(s)" in result.output
    data = json.loads(run("index", "check", str(path), "--json").stdout)
    assert data["ok"] is True and data["warnings"][0]["suggestion"] == "Parameters"


def test_strict_rejects_every_unknown_key(tmp_path):
    path = write(tmp_path, "i.yml", MISSPELLED)
    result = run("index", "check", "--strict", str(path))
    assert result.exit_code == 2
    assert "error: " + str(path) + ":4: Models[0].Metadata.Paramters: unknown key" in result.output
    assert "error: " + str(path) + ":5: Models[0].Metadata.Lab Notes: unknown key" in result.output
    assert result.output.count("Paramters") == 1  # said once, as an error
    assert "hint: " in result.output
    for command in (("show", "m"), ("list",)):
        strict = run(*command, "--strict", "--index", str(path))
        assert strict.exit_code == 2 and "Lab Notes" in strict.output and "hint: " in strict.output
        assert "Traceback" not in strict.output


def test_show_and_list_print_the_warnings(tmp_path):
    path = write(tmp_path, "i.yml", MISSPELLED)
    for command in (("show", "m"), ("list",)):
        result = run(*command, "--index", str(path))
        assert result.exit_code == 0
        assert "did you mean 'Parameters'?" in result.output and "hint: " in result.output
    card = json.loads(run("show", "m", "--index", str(path), "--json").stdout)
    assert card["warnings"][0]["field"] == "Models[0].Metadata.Paramters"


def test_index_check_problems_come_with_a_hint(tmp_path):
    broken = write(tmp_path, "i.yml", "Models:\n- Name: a\n  Metadata:\n    Parameters: lots\n")
    result = run("index", "check", str(broken))
    assert result.exit_code == 2 and "hint: fix the fields named above" in result.output


def test_packaged_index_is_clean_strictly():
    result = run("index", "check", "--strict")
    assert result.exit_code == 0 and "warning" not in result.output
