"""One set of conventions on every command: --json [FILE], the shared options, tables that fit
the terminal without cutting a figure, help without markup, exit codes kept under --debug."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner
from index_helpers import write
from rich.cells import cell_len

from mixbench.cli import cli
from mixbench.cli.app import json_word_as_argument
from mixbench.formatting import fmt_delta

WIDTHS = (80, 200)


def run(*args: str, columns: int | None = None, env: dict[str, str] | None = None):
    env = dict(env or {})
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return CliRunner().invoke(cli, list(args), env=env)


def _commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(_commands())


def _option(command: click.Command, name: str) -> click.Option | None:
    return next((p for p in command.params if isinstance(p, click.Option) and name in p.opts), None)


# ------------------------------------------------------------------------ shared options


@pytest.mark.parametrize("path", list(COMMANDS), ids=" ".join)
def test_every_command_takes_json_with_an_optional_file(path):
    option = _option(COMMANDS[path], "--json")
    assert option is not None, path
    assert option.name == "json_out" and option.flag_value == "-" and not option.is_flag
    assert option.metavar == "[FILE]"


def test_shared_options_are_declared_once():
    for name in ("--json", "--index", "--db", "--device", "--debug"):
        declared = {
            (option.help, option.envvar, type(option.type).__name__)
            for command in COMMANDS.values()
            if (option := _option(command, name)) is not None
        }
        assert len(declared) == 1, (name, declared)
    have_device = {" ".join(p) for p, c in COMMANDS.items() if _option(c, "--device")}
    assert have_device == {"eval", "latency", "throughput", "verify"}


def test_the_word_after_json_is_a_file_only_when_it_looks_like_one():
    assert json_word_as_argument(["--json", "mixnet_s"]) == ["--json", "-", "mixnet_s"]
    for word in ("out.json", "OUT.JSON", "./out", "runs/out", "-"):
        assert json_word_as_argument(["--json", word]) == ["--json", word]
    assert json_word_as_argument(["--json", "--db", "x"]) == ["--json", "--db", "x"]
    assert json_word_as_argument(["--json"]) == ["--json"]
    assert json_word_as_argument(["--", "--json", "x"]) == ["--", "--json", "x"]


@pytest.mark.parametrize(
    "args",
    [
        ("show", "mixnet_s", "--json"),
        ("show", "--json", "mixnet_s"),
        ("show", "mixnet_s", "--json", "-"),
        ("show", "--json=-", "mixnet_s"),
    ],
)
def test_json_alone_is_stdout_and_never_swallows_the_argument(args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "mixnet_s"


@pytest.mark.parametrize("where", ["before", "after"])
def test_diff_json_before_or_after_the_sources(where):
    sources = ("index", "timm:imagenet")
    args = ("diff", "--json", *sources) if where == "before" else ("diff", *sources, "--json")
    result = run(*args)
    assert result.exit_code == 1  # the cards drift from timm's results
    assert json.loads(result.stdout)["ok"] is False
    assert json.loads(run("diff", *sources, "--format", "json").stdout)["ok"] is False


@pytest.mark.parametrize("form", ["spaced", "equals"])
def test_json_file_is_written_and_the_table_still_printed(tmp_path, form):
    out = tmp_path / "cards.json"
    option = ("--json", str(out)) if form == "spaced" else (f"--json={out}",)
    result = run("list", *option)
    assert result.exit_code == 0, result.output
    assert "7 model cards" in result.stdout and "mixnet_xl" in result.stdout
    assert len(json.loads(out.read_text())) == 7
    assert not list(tmp_path.glob(".*partial"))  # written whole, then renamed


def test_json_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("show", "mixnet_m", "--json", "card.json")
    assert result.exit_code == 0 and "mixnet_m" in result.stdout
    assert json.loads((tmp_path / "card.json").read_text())["name"] == "mixnet_m"


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("show", "mixnet_s"),
        ("index", "check"),
        ("diff", "index", "timm:imagenet"),
        ("flops", "mixnet_s"),
        ("runs",),
        ("report",),
        ("export-index",),
        ("throughput", "mixnet_s"),
        ("verify", "mixnet_s"),
    ],
    ids=lambda args: args[0],
)
def test_json_file_in_a_missing_folder_is_refused_before_any_work(tmp_path, args):
    db = tmp_path / "runs.sqlite"
    path = tuple(args[:2]) if args[0] == "index" else args[:1]
    store = ("--db", str(db)) if _option(COMMANDS[path], "--db") else ()
    result = run(*args, "--json", str(tmp_path / "no" / "out.json"), *store)
    assert result.exit_code == 2, result.output
    assert "the folder" in result.output and "does not exist" in result.output
    assert "hint: " in result.output and "Traceback" not in result.output
    assert not db.exists()


def test_json_help_states_the_rule():
    text = run("show", "--help", columns=100).output
    assert "--json [FILE]" in text
    assert "ends in .json" in " ".join(text.split())


# ------------------------------------------------------------------------ help, --debug


@pytest.mark.parametrize("path", [(), ("index",), *COMMANDS], ids=lambda p: " ".join(p) or "-")
def test_help_has_no_restructuredtext_markup(path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "``" not in result.output


def test_index_check_help_is_plain():
    text = " ".join(run("index", "check", "--help").output.split())
    assert "(Paramters) are warnings; --strict makes every unknown key a problem" in text


@pytest.fixture
def broken_list(monkeypatch):
    import mixbench.cli.cards as cards

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cards, "load_index", boom)


def test_internal_error_is_exit_3_with_a_hint(broken_list):
    result = run("list")
    assert result.exit_code == 3
    assert "internal error: RuntimeError: boom" in result.output
    assert "hint: this is a bug in mixbench" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("where", ["group", "command", "environment"])
def test_debug_prints_the_traceback_and_keeps_exit_3(broken_list, where):
    args = {"group": ("--debug", "list"), "command": ("list", "--debug"), "environment": ("list",)}
    env = {"MIXBENCH_DEBUG": "1"} if where == "environment" else None
    result = run(*args[where], env=env)
    assert result.exit_code == 3, result.output
    assert "Traceback (most recent call last)" in result.output
    assert 'raise RuntimeError("boom")' in result.output
    assert "internal error: RuntimeError: boom" in result.output


def test_debug_keeps_the_exit_code_of_bad_input(tmp_path):
    broken = write(tmp_path, "i.yml", "Models: [\n")
    result = run("--debug", "list", "--index", str(broken))
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.output
    assert "error: " in result.output and "malformed YAML" in result.output


# ------------------------------------------------------------------------ small fixes


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path):
    path = write(tmp_path, "i.yml", 'Models:\n- Name: "mixnet_s\n  Metadata: {}\n')
    result = run("index", "check", str(path))
    assert result.exit_code == 2
    assert f"{path}:2: malformed YAML" in result.output  # not :4:, past the 3-line file


def test_a_bracket_open_at_the_end_is_reported_on_the_last_line(tmp_path):
    path = write(tmp_path, "i.yml", "Models: [\n")
    result = run("index", "check", str(path))
    assert result.exit_code == 2 and f"{path}:1: malformed YAML" in result.output


def test_speed_environment_names_cuda_only_on_cuda():
    from mixbench.report.speed import environment_line as _environment_line

    environment = {"cpu": "AMD EPYC", "torch": "2.5", "timm": "1.0", "cuda": "12.4", "cudnn": "9"}
    on_cpu = _environment_line(environment, on_cuda=False)
    assert on_cpu == "CPU AMD EPYC · torch 2.5 · timm 1.0"
    assert "CUDA 12.4 · cuDNN 9" in _environment_line(environment, on_cuda=True)


@pytest.mark.slow
def test_throughput_on_cpu_prints_no_cuda_versions(tmp_path):
    result = run(
        "throughput",
        "mixnet_s",
        "--impl",
        "native",
        "--batch",
        "1",
        "--trials",
        "1",
        "--trial-seconds",
        "0.01",
        "--image-size",
        "64",
        "--warmup-seconds",
        "0",
        "--device",
        "cpu",
        "--db",
        str(tmp_path / "runs.sqlite"),
        columns=80,
    )
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if line.startswith("CPU ")]
    assert "torch " in line and "CUDA" not in line and "cuDNN" not in line
    _assert_fits(result.stdout, 80)
    assert "% bw" not in result.stdout  # neither the column nor its explanation: no room


def test_verify_shows_speed_as_the_speed_tables_do():
    # the one formatter of check figures, for the console table and the Markdown report
    from mixbench.report.tables import fmt_figure

    assert fmt_figure(38.5313, "throughput") == "38.5"
    assert fmt_figure(12.345678, "latency") == "12.346"
    assert fmt_figure(1.12e-07, "native_vs_timm") == "1.12e-07"
    assert fmt_figure(4_134_606, "params") == "4,134,606"


# ------------------------------------------------------------------------ tables fit


def _assert_fits(output: str, width: int) -> None:
    """No cell cut short, and no table line wider than the terminal (lines of text are
    the terminal's to wrap)."""
    assert "…" not in output
    for line in output.splitlines():
        if line[:1] in ("┏", "┃", "┡", "│", "└"):
            assert cell_len(line.rstrip()) <= width, line


def _whole(number: str, output: str) -> bool:
    """``number`` appears in ``output`` whole, not as a piece of a longer number."""
    return (
        re.search(rf"(?<![\d.])(?<!\d,){re.escape(number)}(?![\d])(?![.,]\d)", output) is not None
    )


def _row(output: str, first_cell: str) -> str:
    """The table line whose first cell is ``first_cell`` (left or right aligned)."""
    pattern = re.compile(rf"│ *{re.escape(first_cell)} *│")
    return next(line for line in output.splitlines() if pattern.match(line))


@pytest.mark.parametrize("width", WIDTHS)
def test_list_fits_without_cutting_a_figure(width):
    from mixbench.index import load_index
    from mixbench.report.tables import cards_table

    result = run("list", columns=width)
    assert result.exit_code == 0
    _assert_fits(result.stdout, width)
    for card in load_index():
        row = _row(result.stdout, card.name)
        for cell in cards_table([card], "").rows[0].cells[2:8]:  # params ... crop: the figures
            assert f" {cell} │" in row, (card.name, cell, row)


def test_a_narrow_terminal_drops_columns_not_figures():
    result = run("list", columns=60)
    _assert_fits(result.stdout, 60)
    assert "collection" not in result.stdout and "interp." not in result.stdout
    assert " 4.13 M │ 321.26 M │ 75.99 │ 92.79 │" in _row(result.stdout, "mixnet_s")


def test_piped_without_columns_is_wide(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    result = CliRunner().invoke(cli, ["list"])
    assert "collection" in result.stdout and "interp." in result.stdout
    assert max(cell_len(line) for line in result.stdout.splitlines()) > 80


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    """``verify mixnet_s`` at each width, its JSON, and the results store it wrote."""
    folder = tmp_path_factory.mktemp("verified")
    db = folder / "runs.sqlite"
    outputs = {}
    for width in WIDTHS:
        out = folder / f"verify-{width}.json"
        result = run("verify", "mixnet_s", "--db", str(db), "--json", str(out), columns=width)
        assert result.exit_code == 1, result.output  # the card's FLOPs fail
        outputs[width] = result.stdout
    (report,) = json.loads(out.read_text())
    return SimpleNamespace(db=db, outputs=outputs, report=report, folder=folder)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.slow
def test_verify_fits_without_cutting_a_figure(verified, width):
    from mixbench.report.tables import fmt_figure as _fmt_check_value

    output = verified.outputs[width]
    _assert_fits(output, width)
    for check in verified.report["checks"]:
        for value in (check["published"], check["measured"]):
            assert f" {_fmt_check_value(value, check['name'])} │" in output, (check, width)
        if check["delta"] is not None:
            assert f" {fmt_delta(check['delta'])} │" in output
        # a note is whole words: in its column or, when narrow, on lines under the table
        for number in re.findall(r"\d[\d,.]*\d", check["reason"] or ""):
            assert _whole(number, output), number
    assert "no evaluation data: pass --data" in " ".join(output.split())


def test_verify_notes_move_under_a_narrow_table(verified):
    narrow, wide = verified.outputs[80], verified.outputs[200]
    header = re.compile(r"┃ note +┃")
    assert header.search(wide) and not header.search(narrow)
    assert "tolerance" in wide
    assert any(line.startswith("FLOPs: the card's 321,264,910") for line in narrow.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
def test_runs_fits_without_cutting_a_figure(verified, width):
    result = run("runs", "--db", str(verified.db), columns=width)
    assert result.exit_code == 0, result.output
    _assert_fits(result.stdout, width)
    records = json.loads(run("runs", "--db", str(verified.db), "--json").stdout)
    assert len(records) == 2
    for record in records:
        row = _row(result.stdout, str(record["id"]))
        assert record["created"][:19].replace("T", " ") in row and "verify" in row
        for number in re.findall(r"\d[\d,.]*\d", f"{record['metrics'].get('params'):,}"):
            assert _whole(number, result.stdout), number


# ------------------------------------------------------------------------ report, export-index


def test_report_json_lists_the_files_and_the_runs(verified):
    out = verified.folder / "pages"
    result = run("report", "--db", str(verified.db), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["out"] == str(out)
    assert {Path(path).name for path in data["written"]} >= {
        "verify-summary.md",
        "verify-mixnet_s.md",
    }
    assert all(Path(path).exists() for path in data["written"])
    [rendered] = data["runs"]
    assert rendered["model"] == "mixnet_s" and rendered["status"] == "fail"
    runs = json.loads(run("runs", "--db", str(verified.db), "--json").stdout)
    assert rendered["run_id"] == max(r["id"] for r in runs)  # the newest


def test_report_json_file_and_the_human_lines(verified):
    listing = verified.folder / "report.json"
    out = verified.folder / "pages2"
    result = run("report", "--db", str(verified.db), "--out", str(out), "--json", str(listing))
    assert result.exit_code == 0, result.output
    assert "wrote " in result.stdout
    assert json.loads(listing.read_text())["written"]


def test_export_index_json(verified):
    result = run("export-index", "--db", str(verified.db), "--json")
    assert result.exit_code == 0, result.output
    [model] = json.loads(result.stdout)  # JSON instead of the YAML on stdout
    assert model["name"] == "mixnet_s" and model["params"] == 4_134_606
    yaml_out, json_out = verified.folder / "measured.yml", verified.folder / "measured.json"
    both = run(
        "export-index", "--db", str(verified.db), "--out", str(yaml_out), "--json", str(json_out)
    )
    assert both.exit_code == 0, both.output
    assert "wrote " in both.stdout and yaml_out.exists()
    assert json.loads(json_out.read_text()) == [model]
    plain = run("export-index", "--db", str(verified.db))
    assert "mixnet_s" in plain.stdout and not plain.stdout.lstrip().startswith("[")  # YAML


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_fits_and_long_source_names_head_the_columns_as_a_and_b(width):
    result = run("diff", "index", "timm:imagenet", columns=width)
    assert result.exit_code == 1
    _assert_fits(result.stdout, width)
    row = next(line for line in result.stdout.splitlines() if "differs" in line)
    assert re.search(r" 78\.98 │ +78\.97 │ +-0\.01 │ differs │", row)  # mixnet_l's top-1
    named = "A: model_index/model-index.yml vs B: timm:imagenet" in result.stdout
    assert named == (width == 80)


@pytest.mark.slow
def test_report_writes_to_its_own_folder_by_default(tmp_path, monkeypatch):
    """Not ./reports/: inside this repository that is where the committed reports live."""
    from mixbench.pipeline import Pipeline
    from mixbench.store import ResultsStore

    db = tmp_path / "runs.sqlite"
    Pipeline(ResultsStore(db)).verify(["mixnet_s"])
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["report", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mixbench-report" / "verify-summary.md").exists()
    assert not (tmp_path / "reports").exists()


def test_the_no_weights_warning_never_precedes_an_unrelated_error(tmp_path):
    for arguments in (
        ["predict", "mixnet_s", str(tmp_path / "missing.jpg")],
        ["eval", "mixnet_s", "--data", str(tmp_path / "no-such-dir"), "--db", str(tmp_path / "r")],
    ):
        result = CliRunner().invoke(cli, arguments)
        assert result.exit_code == 2, result.output
        assert "randomly initialised" not in result.output
