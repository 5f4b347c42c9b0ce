"""The CLI a user types: tables, JSON, exit codes, one-line errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from index_helpers import write

from mixbench.cli import cli

ROOT = Path(__file__).resolve().parents[1]
TIMM_CSV = Path(__file__).parent / "data" / "results-imagenet.csv"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


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


def test_diff_with_nothing_in_common_fails(tmp_path):
    other = write(tmp_path, "o.yml", "Models:\n- Name: resnet50\n  Metadata: {FLOPs: 1}\n")
    result = run("diff", "index", str(other))
    assert result.exit_code == 1 and "no model is in both" in result.output


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
    broken = write(tmp_path, "i.yml", "Models: [\n")
    result = run("--debug", "list", "--index", str(broken))
    assert result.exit_code != 0 and result.exception is not None


def test_python_dash_m_and_console_script():
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "mixbench", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 7


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
    assert templates == "diff.md.j2,speed.md.j2,verify.md.j2,verify_summary.md.j2"
    assert presets == "7"
