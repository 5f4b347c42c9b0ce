"""`mixbench diff` with a paperswithcode archive and `--match`: pairs say their rule, nothing
unpaired or unmatched passes unsaid, and nothing paired is bad input with the closest names."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from index_helpers import write

from mixbench.cli import cli

ARCHIVE = str(Path(__file__).parents[1] / "data" / "pwc-archive" / "evaluation-tables-mixconv.json")
PAPER_TO_CARDS = "# the paper's names, the packaged cards'\nMixNet-S,mixnet_s\nMixNet-M,mixnet_m\n" \
    "MixNet-L,mixnet_l\n"  # fmt: skip


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "160"})


def test_the_paper_rows_pair_with_the_packaged_cards_through_match(tmp_path):
    match = write(tmp_path, "match.csv", PAPER_TO_CARDS + "MixNet-XL,mixnet_xl\n")
    result = run("diff", ARCHIVE, "index", "--match", str(match))
    assert result.exit_code == 1, result.output
    assert "3 models matched, 12 fields compared, 7 differ" in result.output
    assert f"paired 3 by --match: MixNet-S = mixnet_s ({match}:2)" in result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│ MixNet-S")]
    assert any("FLOPs" in r and "256,000,000" in r and "321,264,910" in r for r in rows)
    assert any("top1 (ImageNet)" in r and "75.8" in r and "75.99" in r for r in rows)
    assert "4 models only in " in result.output and ": mixnet_xl, tf_mixnet_l, " in result.output
    # a line naming a model the archive lacks is said, with the closest name
    assert f"warning: {match}:5: MixNet-XL,mixnet_xl pairs nothing: 'MixNet-XL' is not in" in (
        result.output
    )
    assert "(did you mean 'MixNet-L'?)" in result.output
    data = json.loads(run("diff", ARCHIVE, "index", "--match", str(match), "--json").stdout)
    assert {(p["a"], p["b"], p["rule"]) for p in data["pairs"]} == {
        ("MixNet-S", "mixnet_s", "match"),
        ("MixNet-M", "mixnet_m", "match"),
        ("MixNet-L", "mixnet_l", "match"),
    }
    assert data["only_in_a"] == [] and len(data["only_in_b"]) == 4


def test_the_tf_ports_too(tmp_path):
    match = write(tmp_path, "tf.csv", "MixNet-S,tf_mixnet_s\nMixNet-L,tf_mixnet_l\n")
    result = run("diff", ARCHIVE, "index", "--match", str(match), "--format", "md")
    assert result.exit_code == 1
    assert (
        "| MixNet-S (tf\\_mixnet\\_s) | top1 (ImageNet) | 75.8 | 75.68 | -0.12 | **differs** |"
        in (result.output)
    )
    assert "- 2 by --match: MixNet-S = tf\\_mixnet\\_s" in result.output
    assert "- 1 models only in " in result.output and ": MixNet-M" in result.output


def test_nothing_paired_is_bad_input_with_the_closest_names():
    for args in ((), ("--json",), ("--format", "md")):
        result = run("diff", ARCHIVE, "index", *args)
        assert result.exit_code == 2, args
        assert "error: nothing to compare: no model is in both" in result.output
        assert "the closest names: 'MixNet-S' ~ 'mixnet_s', 'MixNet-M' ~ 'mixnet_m'" in (
            result.output
        )
        assert "0 differ" not in result.output and "Traceback" not in result.output


def test_a_bad_match_line_is_bad_input_before_any_work(tmp_path):
    match = write(tmp_path, "match.csv", "MixNet-S,mixnet_s\nMixNet-M\n")
    result = run("diff", ARCHIVE, "index", "--match", str(match))
    assert result.exit_code == 2
    assert f"error: {match}:2: expected two names, 'A name,B name'; got 1 field(s)" in (
        result.output
    )
    assert "hint: a match file has one pair a line" in result.output
    assert "Traceback" not in result.output


def test_a_malformed_archive_is_bad_input_naming_file_and_line(tmp_path):
    broken = write(tmp_path, "evaluation-tables.json", '[{"task": "x",\n "datasets": [}]\n')
    result = run("diff", str(broken), "index")
    assert result.exit_code == 2
    assert f"error: {broken}:2: malformed JSON" in result.output
    assert "hint: a paperswithcode archive is a list of tasks" in result.output
    assert "Traceback" not in result.output


def test_the_dataset_option_picks_the_archives_leaderboard(tmp_path):
    result = run("diff", ARCHIVE, "index", "--dataset", "cifar-10")
    assert result.exit_code == 2  # the probe row pairs with no card: said, never "0 differ"
    assert "nothing to compare" in result.output and "on CIFAR-10" in result.output
    result = run("diff", ARCHIVE, "index", "--dataset", "ImageNet-21k")
    assert result.exit_code == 2
    assert "error: " in result.output and "no leaderboard rows on ImageNet-21k" in result.output


def test_a_match_file_that_pairs_nothing_is_bad_input(tmp_path):
    match = tmp_path / "m.csv"
    match.write_text("foo,bar\nbaz,qux\n")
    result = CliRunner().invoke(cli, ["diff", "index", "index", "--match", str(match)])
    assert result.exit_code == 2 and "none of its 2 line(s)" in result.output
