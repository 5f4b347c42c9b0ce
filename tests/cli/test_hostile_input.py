"""Input that once reached an internal error (exit 3) or was found only after the work: each is
now a one-line cause and a hint, exit 2, before anything runs (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mixbench.cli import cli

LONG = "m" * 400  # longer than any file name a file system takes (255 bytes)


def _run(*arguments: str) -> object:
    return CliRunner().invoke(cli, list(arguments))


def _one_error(result: object, *needles: str) -> None:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, output  # type: ignore[attr-defined]
    assert "internal error" not in output and "Traceback" not in output
    assert output.splitlines()[0].startswith("error: ")
    for needle in needles:
        assert needle in output, output


@pytest.mark.parametrize(
    "command", [["index", "check"], ["list", "--index"], ["show", "x", "--index"]]
)
@pytest.mark.slow
def test_a_card_nested_ten_thousand_deep_is_refused(tmp_path, command):
    card = tmp_path / "deep.json"
    card.write_text('{"Models": [{"Name": "m", "x": ' + "[" * 10_000 + "]" * 10_000 + "}]}")
    _one_error(_run(*command, str(card)), "nested too deeply")


@given(depth=st.integers(200, 3000), opener=st.sampled_from(["[", '{"a": ']))
@settings(max_examples=10, deadline=None)
@pytest.mark.slow
def test_deep_json_of_any_shape_is_input_not_a_crash(tmp_path_factory, depth, opener):
    closer = "]" if opener == "[" else "}"
    card = tmp_path_factory.mktemp("deep") / "card.json"
    card.write_text(
        '{"Models": [{"Name": "m", "x": ' + opener * depth + "1" + closer * depth + "}]}"
    )
    result = _run("index", "check", str(card))
    assert result.exit_code in (0, 2) and "internal error" not in result.output


@pytest.mark.parametrize(
    "arguments",
    [
        ["verify", LONG],
        ["eval", LONG, "--data", "synthetic:2"],
        ["flops", LONG],
        ["list", "--index", f"/tmp/{LONG}"],
        ["verify", "all", "--index", f"/tmp/{LONG}"],
        ["diff", "index", f"/tmp/{LONG}"],
        ["eval", "mixnet_s", "--data", f"/tmp/{LONG}"],
        ["eval", "mixnet_s", "--data", "synthetic:2", "--weights", f"/tmp/{LONG}"],
        ["verify", "mixnet_s", "--db", f"/tmp/{LONG}"],
        ["verify", "mixnet_s", "--json", f"/tmp/{LONG}.json"],
        ["verify", "mixnet_s", "--report", f"/tmp/{LONG}.md"],
    ],
)
def test_a_name_no_file_system_takes_is_input(arguments):
    _one_error(_run(*arguments))


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        (
            ["verify", "mixnet_s", "--json", "/proc/x.json"],
            "--json /proc/x.json: cannot write there",
        ),
        (["verify", "mixnet_s", "--report", "/proc/x.md"], "--report /proc/x.md: cannot write"),
        (["export", "mixnet_s", "--out", "/proc/m.onnx"], "--out /proc/m.onnx: cannot write"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(arguments, needle):
    _one_error(_run(*arguments), needle)


def test_a_folder_given_as_the_json_file_is_refused(tmp_path: Path):
    folder = tmp_path / "out.json"
    folder.mkdir()
    _one_error(_run("show", "mixnet_s", f"--json={folder}"), "is a directory")


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        (["throughput", "--batch", "0"], "Invalid value for '--batch'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["eval", "mixnet_s"], "Missing option '--data'"),
    ],
)
def test_usage_errors_are_the_projects_two_lines(arguments, needle):
    result = _run(*arguments)
    _one_error(result, needle)
    hint = result.output.splitlines()[1]
    assert hint.startswith("hint: see `") and hint.endswith("--help`")
    assert "Usage:" not in result.output


# ------------------------------------------------------------------------------ wrong results


@pytest.mark.slow
def test_weights_with_nan_are_refused_naming_the_tensor(imagenet, tmp_path):
    """One NaN in the classifier once gave a stored 12.50 % top-1 and exit 0."""
    import torch
    from safetensors.torch import load_file, save_file

    folder, weights, _reference = imagenet
    state = load_file(str(weights))
    for name in ("classifier.weight", "conv_stem.weight"):
        broken = dict(state)
        broken[name] = state[name].clone()
        broken[name].view(-1)[0] = float("nan")
        path = tmp_path / f"nan-{name}.safetensors"
        save_file(broken, str(path))
        db = tmp_path / "runs.sqlite"
        result = _run(
            "eval", "mixnet_s", "--data", str(folder), "--weights", str(path), "--db", str(db)
        )
        _one_error(result, f"tensor {name} has 1 NaN value(s)")
        assert not db.exists()  # nothing stored
    infinite = dict(state)
    infinite["classifier.bias"] = state["classifier.bias"].clone()
    infinite["classifier.bias"][3] = float("inf")
    path = tmp_path / "inf.safetensors"
    save_file(infinite, str(path))
    _one_error(_run("verify", "mixnet_s", "--weights", str(path)), "infinite value(s)")
    assert torch.isfinite(state["classifier.weight"]).all()  # the fixture is untouched


def test_non_finite_logits_are_refused_not_ranked():
    import torch

    from mixbench.measure.accuracy.loop import NonFiniteOutputs, _ranked

    logits = torch.randn(4, 10)
    assert len(_ranked(logits)) == 4
    logits[2, 5] = float("nan")
    with pytest.raises(NonFiniteOutputs, match="NaN or infinite for 1 of 4 images"):
        _ranked(logits)


def test_links_back_up_a_data_folder_are_read_once(imagenet, tmp_path):
    """`n01440764/up -> ..` once made 6 images count as 246, 120 in the wrong class; two such
    links made the scan endless. Each folder is read once, and the rest is named."""
    import shutil

    from mixbench.data.sources import open_source

    folder, _weights, _reference = imagenet
    data = tmp_path / "val"
    shutil.copytree(folder, data)
    classes = sorted(path.name for path in data.iterdir())
    for name in classes[:2]:
        (data / name / "up").symlink_to("..")
    (data / classes[2] / "twin").symlink_to(data / classes[0])  # a class reached twice
    source = open_source(str(data))
    assert len(source) == 24
    assert sorted(source.skipped) == [
        f"{classes[0]}/up (already read through a link)",
        f"{classes[1]}/up (already read through a link)",
        f"{classes[2]}/twin (already read through a link)",
    ]
    assert source.describe()["skipped_folders"] == source.skipped
    assert {source.name(i).split("/")[0] for i in range(len(source))} == set(classes)


# ------------------------------------------------------------------------------ hostile text


@given(st.text(alphabet=st.sampled_from(["<", "!", "-", ">", "a", "\n"]), max_size=60))
def test_comment_blocks_are_the_regexs_blocks_in_one_pass(text):
    import re

    regex = re.compile(r"<!--(.*?)-->", re.DOTALL)
    from mixbench.index.documents import comment_blocks

    assert list(comment_blocks(text)) == [(m.start(1), m.group(1)) for m in regex.finditer(text)]


def test_a_megabyte_of_unclosed_comments_is_refused_not_scanned_forever(tmp_path):
    card = tmp_path / "card.md"
    card.write_text("<!--" * 262_144)  # once 2 minutes and more: a scan per opener
    _one_error(_run("index", "check", str(card)), "no model-index found")


HOSTILE = "evil\x1b[2J\x1b]0;pwned\x07\r\u202eeman\x9b"


def _raw_controls(text: str) -> list[str]:
    from mixbench.formatting import _INVISIBLE

    return sorted({char for char in text if char in _INVISIBLE})


def test_control_characters_of_a_card_are_shown_never_obeyed(tmp_path):
    """A card's ESC/OSC/BEL/CR once cleared the screen or set the window title through
    list, show, verify, runs and the Markdown report; now every one is printed as its escape."""
    import json as json_module

    index = tmp_path / "cards"
    index.mkdir()
    (index / "model-index.yml").write_text(
        "Models:\n"
        f"- Name: {json_module.dumps(HOSTILE)}\n"
        "  Metadata:\n"
        "    Parameters: 4134606\n"
        f"    Training Data: {json_module.dumps(HOSTILE)}\n"
    )
    db, report = tmp_path / "runs.sqlite", tmp_path / "out" / "verify.md"
    (tmp_path / "out").mkdir()
    outputs = [
        _run("list", "--index", str(index)),
        _run("show", HOSTILE, "--index", str(index)),
        _run("verify", "all", "--index", str(index), "--db", str(db), "--report", str(report)),
        _run("runs", "--db", str(db)),
        _run("report", "--db", str(db), "--out", str(tmp_path / "pages")),
    ]
    for result in outputs:
        assert _raw_controls(result.output) == [], result.output
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\r\\u202eeman\\x9b" in outputs[0].output
    for page in [report, *(tmp_path / "pages").glob("*.md")]:
        assert _raw_controls(page.read_text()) == [], page


@given(st.text(alphabet=st.characters(max_codepoint=0x2070), max_size=30))
def test_visible_leaves_nothing_a_terminal_would_act_on(text):
    from mixbench.formatting import visible

    shown = visible(text)
    assert _raw_controls(shown) == []
    assert visible(shown) == shown  # escapes are printable: nothing left to escape


# ------------------------------------------------------------------------------ work not lost


def test_a_locked_store_is_refused_before_any_work(tmp_path, monkeypatch):
    import sqlite3

    from mixbench import store as store_module
    from mixbench.store import ResultsStore

    db = tmp_path / "runs.sqlite"
    store = ResultsStore(db)
    from store_helpers import eval_run

    store.add(eval_run())
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than we wait
    try:
        result = _run("throughput", "mixnet_s", "--batch", "1", "--db", str(db))
        _one_error(result, "locked")
        assert "memory bandwidth" not in result.output
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_full_disk_for_a_new_store_is_said_before_any_work(tmp_path, monkeypatch):
    import errno
    import tempfile

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    db = tmp_path / "new" / "runs.sqlite"
    _one_error(_run("verify", "mixnet_s", "--db", str(db)), "the disk is full")
    assert not db.exists()


@pytest.mark.slow
def test_results_the_store_refuses_after_the_work_are_shown_then_named(
    imagenet, tmp_path, monkeypatch
):
    """The store went read-only during the run: the table, the JSON and the report come first,
    then one error names what could not be stored (exit 2), and the eval's resume log stays."""
    import json

    from mixbench.errors import InputError
    from mixbench.store import ResultsStore

    def read_only(self, record):
        raise InputError(f"{self.path}: attempt to write a readonly database")

    monkeypatch.setattr(ResultsStore, "add", read_only)
    folder, weights, _reference = imagenet
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "mixnet_s",
            "--data",
            str(folder),
            "--weights",
            str(weights),
            "--workers",
            "0",
            "--db",
            str(tmp_path / "runs.sqlite"),
            "--json",
            str(out),
            "--checkpoint-dir",
            str(tmp_path / "logs"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "33.33" in result.stdout  # the table was printed
    assert json.loads(out.read_text())["metrics"]["top1"] > 33  # the JSON was written
    assert "1 result(s) measured and shown but not stored: eval of mixnet_s" in result.output
    assert list((tmp_path / "logs").iterdir())  # kept: a rerun resumes it and stores it
    report = tmp_path / "out" / "v.md"
    report.parent.mkdir()
    result = CliRunner().invoke(
        cli, ["verify", "mixnet_s", "--db", str(tmp_path / "runs.sqlite"), "--report", str(report)]
    )
    assert result.exit_code == 2 and report.exists()
    assert "not stored: verify of mixnet_s" in " ".join(result.output.split())


# ------------------------------------------------------------------------------ size bounds


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("model-index.yml", ["index", "check"]),
        ("cards.md", ["list", "--index"]),
        ("results-imagenet.csv", ["diff", "index"]),
    ],
)
def test_a_runaway_file_is_refused_before_it_is_parsed(tmp_path, name, arguments):
    """A 50 MB index once took 201 s and 3.4 GB before it was refused; a million-row CSV
    diff peaked at 17.8 GB. The size is checked first (a sparse file: nothing is written)."""
    huge = tmp_path / name
    with huge.open("wb") as stream:
        stream.truncate(50_000_000)
    _one_error(_run(*arguments, str(huge)), "50.0 MB: larger than")


def test_a_table_of_bad_rows_stops_at_a_hundred_problems(tmp_path):
    table = tmp_path / "results-imagenet.csv"
    table.write_text("model,top1\n" + "".join(f"m{i},lots\n" for i in range(1000)))
    result = _run("diff", "index", str(table))
    assert result.exit_code == 2
    assert result.output.count("top1") <= 102
    assert "and more problems from here on: not read" in result.output


def test_an_unknown_model_is_said_before_the_bandwidth_is_measured():
    result = _run("throughput", "mixnet_s", "mixnet_q")
    _one_error(result, "unknown model 'mixnet_q'")
    assert "memory bandwidth" not in result.output


@pytest.mark.slow
def test_fvcore_prints_no_deprecation_note():
    """In a fresh process (a warning shows once per process): fvcore's import touches the
    deprecated torch.jit.script, which once printed on every measuring command."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "mixbench", "flops", "mixnet_s", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1  # the card fails, as verify says
    assert "FutureWarning" not in run.stderr and "torch.jit.script" not in run.stderr


def test_random_weights_are_said_where_the_results_are(tmp_path):
    """A random model's top-5 and scores once looked like results (the warning only on
    stderr); the table, the JSON and `runs` say it."""
    from PIL import Image

    def words(text: str) -> str:
        # a table title wraps at the table's width, which the (random) classes shown decide:
        # "RANDOM\n   WEIGHTS" is still said
        return " ".join(text.split())

    image = tmp_path / "cat.jpg"
    Image.new("RGB", (64, 64), (120, 40, 200)).save(image)
    predicted = _run("predict", "mixnet_s", str(image))
    assert predicted.exit_code == 0
    assert "RANDOM WEIGHTS" in words(predicted.stdout)
    assert "randomly initialised" in words(predicted.stderr)
    db = tmp_path / "runs.sqlite"
    evaluated = _run("eval", "mixnet_s", "--data", "synthetic:2", "--workers", "0", "--db", str(db))
    assert evaluated.exit_code == 0 and "RANDOM WEIGHTS" in words(evaluated.stdout)
    listed = CliRunner().invoke(cli, ["runs", "--db", str(db)], env={"COLUMNS": "200"})
    assert "RANDOM WEIGHTS" in words(listed.stdout)


def test_runs_lists_the_newest_twenty_and_fits_the_terminal(tmp_path):
    """`runs` once printed all 559 runs and cut words at 100 columns (`top-`, `throughpu`)."""
    from store_helpers import eval_run

    from mixbench.store import ResultsStore

    store = ResultsStore(tmp_path / "runs.sqlite")
    for number in range(25):
        store.add(eval_run(f"model_{number:02d}"))
    result = CliRunner().invoke(cli, ["runs", "--db", str(store.path)], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    rows = [
        line for line in result.stdout.splitlines() if line.startswith("│ ") and "model_" in line
    ]
    assert len(rows) == 20
    assert "the newest 20 shown; pass --limit N for more, --limit 0 for all" in result.stdout
    for line in result.stdout.splitlines():
        if line[:1] in ("┏", "┃", "┡", "│", "└"):
            assert len(line.rstrip()) <= 100, line
    headers = next(line for line in result.stdout.splitlines() if line.startswith("┃"))
    assert "top-1" in headers and "top-5" in headers  # whole words, not `top-`
    everything = CliRunner().invoke(cli, ["runs", "--db", str(store.path), "--limit", "0"])
    assert sum("model_" in line for line in everything.stdout.splitlines()) >= 25


def test_a_config_typo_says_what_was_meant(tmp_path):
    from mixbench.models.mixnet import _preset_dir

    config = tmp_path / "mine.yaml"
    config.write_text(
        (_preset_dir() / "mixnet_s.yaml").read_text().replace("stem_channels", "stem_chanels")
    )
    _one_error(
        _run("flops", str(config)), "stem_chanels: unknown field (did you mean 'stem_channels'?)"
    )


@pytest.mark.slow
def test_report_renders_what_was_verified_last_and_the_audit_keeps_its_own_store(tmp_path):
    """`report` after `audit` once rendered all 261 audited models from the default store."""
    import json

    cards = Path(__file__).parents[1] / "data" / "timm-docs"
    some = sorted(cards.glob("*.mdx"))[:1]
    index = tmp_path / "index"
    index.mkdir()
    for card in some:
        (index / card.name).write_text(card.read_text())
    db = tmp_path / "runs.sqlite"
    audited = CliRunner().invoke(
        cli,
        ["audit", "--index", str(index), "--out", str(tmp_path / "audit")],
        env={"MIXBENCH_DB": str(db)},
    )
    assert audited.exit_code in (0, 1), audited.output
    assert "stored in" in " ".join(audited.output.split())
    # MIXBENCH_DB set: the audit honours it, like --db
    assert db.exists()
    first = _run("verify", "mixnet_m", "tf_mixnet_s", "--db", str(db))
    second = _run("verify", "mixnet_s", "--db", str(db))  # what was verified last
    assert first.exit_code == second.exit_code == 1
    rendered = _run("report", "--db", str(db), "--out", str(tmp_path / "pages"), "--json", "-")
    data = json.loads(rendered.stdout)
    assert [run["model"] for run in data["runs"]] == ["mixnet_s"]
    alone = tmp_path / "alone"
    audited = CliRunner().invoke(
        cli, ["audit", "--index", str(index), "--out", str(alone)], env={"MIXBENCH_DB": ""}
    )
    assert (alone / "audit.sqlite").exists()


@pytest.mark.slow
def test_a_plot_left_out_is_said_in_the_report(tmp_path):
    """Without --throughput, verify all --report once skipped the accuracy plot silently."""
    report = tmp_path / "out" / "verify.md"
    report.parent.mkdir()
    result = _run(
        "verify", "mixnet_s", "--db", str(tmp_path / "runs.sqlite"), "--report", str(report)
    )
    assert result.exit_code == 1
    text = " ".join(report.read_text().split())
    assert "Accuracy vs throughput: not drawn: no model has both a top-1 and images/s" in text
    assert "pass --throughput" in text


@pytest.mark.slow
def test_a_plot_of_hundreds_of_models_stays_a_plot(tmp_path):
    """After an audit, the published-vs-measured plot was 1126×5548 px, its legend filling it."""
    from PIL import Image

    from mixbench.report.verify import plot_accuracy_vs_throughput, plot_published_vs_measured
    from mixbench.verify import Check, VerifyReport

    reports = [
        VerifyReport(
            model=f"model_with_a_long_name_{number:03d}",
            checks=[
                Check(
                    "params", "parameters", "pass", published=1000 + number, measured=1000 + number
                ),
                Check("top1", "top-1", "info", published=70.0, measured=70.0 + number / 100),
                Check(
                    "throughput",
                    "images/s, batch 16, fp32, channels_last",
                    "info",
                    measured=10.0 + number,
                ),
            ],
        )
        for number in range(261)
    ]
    published = plot_published_vs_measured(reports, tmp_path / "pvm.png")
    accuracy = plot_accuracy_vs_throughput(reports, tmp_path / "avt.png")
    for path in (published, accuracy):
        assert path is not None
        with Image.open(path) as image:
            width, height = image.size
        assert width < 1600 and height < 1600, (path, image.size)
