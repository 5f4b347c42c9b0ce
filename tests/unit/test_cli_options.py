"""An options dataclass is the one declaration of its options: every field with a Flag is an
option of the command that fills it, with the field's help, and from_cli makes the options of
what was typed. The generic converter turns a Flag into the click option it describes."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from mixbench.audit.options import AuditOptions
from mixbench.cli import cli
from mixbench.cli.options import options_of
from mixbench.deploy import ExportOptions
from mixbench.diff import DiffOptions
from mixbench.export_formats import IndexExportOptions
from mixbench.measure.options import EvalOptions, SpeedSettings, TimingOptions
from mixbench.options import KEY, flag, flags_of
from mixbench.store import DEFAULT_LIMIT, RunFilter
from mixbench.verify.options import DEFAULT_TOLERANCE, VerifyOptions

#: each options class and the commands that expose its flags
EXPOSED = {
    VerifyOptions: ("verify",),
    EvalOptions: ("eval",),
    SpeedSettings: ("throughput", "latency"),
    TimingOptions: ("throughput", "latency"),
    ExportOptions: ("export", "export-onnx"),
    DiffOptions: ("diff",),
    AuditOptions: ("audit",),
    RunFilter: ("runs",),
    IndexExportOptions: ("export-index",),
}


#: the arguments each command needs to parse
ARGUMENTS = {
    "verify": ["all"],
    "eval": ["m"],
    "latency": ["m"],
    "export": ["m"],
    "export-onnx": ["m"],
    "diff": ["a", "b"],
}
#: an option of the same name a command declares itself: latency's batch of 1
OWN = {("latency", "batch_size")}


def _option(command: str, name: str) -> click.Option | None:
    params = cli.commands[command].params
    return next((p for p in params if isinstance(p, click.Option) and p.name == name), None)


def _defaults(command: str) -> dict:
    with cli.commands[command].make_context(command, ARGUMENTS.get(command, [])) as context:
        return dict(context.params)


@pytest.mark.parametrize("cls", list(EXPOSED), ids=lambda cls: cls.__name__)
def test_every_flag_is_an_option_of_its_command_with_the_fields_help(cls):
    for name, how, default in flags_of(cls):
        commands = [c for c in EXPOSED[cls] if (c, name) not in OWN]
        found = [(c, o) for c in commands if (o := _option(c, name)) is not None]
        assert found, f"{cls.__name__}.{name} is no option of {EXPOSED[cls]}"
        for command, option in found:
            assert option.help == how.help, (command, name)
            assert (how.flag or f"--{name.replace('_', '-')}") in option.opts, (command, name)
            assert _defaults(command)[name] == default, (command, name)


def test_shared_flags_are_declared_once():
    """--device, --amp, --workers ... fill fields of several classes: one Flag, one help."""
    for name in ("device", "amp", "workers", "channels_last", "image_size", "strict"):
        declared = {
            id(f.metadata[KEY])
            for cls in (VerifyOptions, EvalOptions, SpeedSettings, ExportOptions, AuditOptions)
            for f in cls.__dataclass_fields__.values()
            if f.name == name and f.metadata
        }
        assert len(declared) == 1, name


def _typed(cls: type, *args: str, also: type | None = None) -> dict:
    """What ``mixbench ARGS`` passes to ``cls.from_cli`` (the command's own options left out)."""
    command = cli.commands[args[0]]
    with command.make_context(args[0], list(args[1:])) as context:
        params = context.params
    names = {*cls.__dataclass_fields__, *(also.__dataclass_fields__ if also else ())}
    return {name: value for name, value in params.items() if name in names}


def test_verify_options_from_what_was_typed():
    typed = ("--tolerance", "top1=0.3", "--require", "top1,top5", "--device", "cpu")
    options = VerifyOptions.from_cli(**_typed(VerifyOptions, "verify", "mixnet_s", *typed))
    assert options.tolerance == {**DEFAULT_TOLERANCE, "top1": 0.3}
    assert options.require == ("top1", "top5") and options.device == "cpu"
    # the defaults typed on the command line are the fields' own (--tolerance's text too)
    untyped = _typed(VerifyOptions, "verify", "all", "--device", "cpu")
    assert VerifyOptions.from_cli(**untyped) == VerifyOptions()


def test_eval_no_resume_is_resume_false():
    typed = _typed(EvalOptions, "eval", "mixnet_s", "--no-resume", "--device", "cpu")
    assert EvalOptions.from_cli(**typed) == EvalOptions(resume=False)
    assert EvalOptions.from_cli(**_typed(EvalOptions, "eval", "m", "--device", "cpu")).resume


def test_speed_settings_take_their_timing_from_the_command_line():
    typed = ("--trials", "3", "--trial-seconds", "0.2", "--device", "cpu")
    settings = SpeedSettings.from_cli(
        **_typed(SpeedSettings, "throughput", *typed, also=TimingOptions)
    )
    assert settings.timing.trials == 3 and settings.timing.trial_seconds == 0.2
    assert settings.timing.warmup_seconds == 0.5  # the CPU's default, not the field's
    assert settings.compile is False and settings.optimize is True
    typed = ("--iterations", "7", "--no-optimize", "--compile", "--device", "cpu")
    settings = SpeedSettings.from_cli(
        **_typed(SpeedSettings, "latency", "mixnet_s", *typed, also=TimingOptions)
    )
    assert settings.timing.latency_iterations == 7 and settings.batch == 1
    assert settings.compile is True and settings.optimize is False


def test_export_static_batch_is_dynamic_batch_false():
    typed = _typed(ExportOptions, "export", "mixnet_s", "--static-batch", "--to", "openvino")
    assert ExportOptions(**typed) == ExportOptions(to="openvino", dynamic_batch=False)
    typed = _typed(ExportOptions, "export-onnx", "mixnet_s")
    assert "to" not in typed and "precision" not in typed and typed["dynamic_batch"] is True


def test_the_options_of_what_was_typed_are_the_api_objects():
    """diff, audit, runs and export-index pass what was typed to their API objects whole:
    untyped, the fields' own defaults (runs: --limit 20, the API: all)."""
    typed = _typed(DiffOptions, "diff", "a", "b", "--tolerance", "0.1", "--all", "--match", "m")
    assert DiffOptions(**typed) == DiffOptions(0.1, show_all=True, match_file=Path("m"))
    assert DiffOptions(**_typed(DiffOptions, "diff", "a", "b")) == DiffOptions()
    typed = _typed(AuditOptions, "audit", "--out", "o", "--name", "n", "--strict")
    assert AuditOptions(**typed) == AuditOptions(Path("o"), "n", strict=True)
    assert AuditOptions(**_typed(AuditOptions, "audit")) == AuditOptions()
    assert RunFilter(**_typed(RunFilter, "runs")) == RunFilter(limit=DEFAULT_LIMIT)
    assert RunFilter(**_typed(RunFilter, "runs", "--kind", "eval", "--limit", "0")).text() == (
        "kind=eval"
    )
    typed = _typed(IndexExportOptions, "export-index", "--format", "hf-card", "--out", "d")
    assert IndexExportOptions(**typed) == IndexExportOptions(Path("d"), "hf-card")
    assert IndexExportOptions(**_typed(IndexExportOptions, "export-index")).file is None


def test_a_run_filter_lists_what_it_names(tmp_path):
    from store_helpers import eval_run

    from mixbench.store import ResultsStore

    store = ResultsStore(tmp_path / "runs.sqlite")
    for name in ("a", "b", "a"):
        store.add(eval_run(name))
    assert len(store.newest_runs()[0]) == 3  # the API's default: all
    runs, more = store.newest_runs(RunFilter(model="a", limit=1))
    assert [run.model for run in runs] == ["a"] and more
    assert store.newest_runs(RunFilter(model="a", limit=0)) == (store.runs(model="a"), False)


# ------------------------------------------------------------------------ the converter


@dataclass(frozen=True)
class _Example:
    count: int = field(default=3, metadata=flag("How many.", minimum=1, show_default=True))
    ratio: float | None = field(default=None, metadata=flag("A share.", kind=float, minimum=0))
    mode: str = field(default="a", metadata=flag("Which.", choices=("a", "b")))
    fast: bool = field(default=True, metadata=flag("Go fast.", negatable=True))
    keep: bool = field(default=True, metadata=flag("Throw away.", flag="--drop"))
    verbose: bool = field(default=False, metadata=flag("Say more."))
    folder: Path | None = field(default=None, metadata=flag("Where.", kind=Path, folder=True))
    size: int = field(default=7, metadata=flag("Size (default: 7).", flag="--n", default=None))
    internal: int = 0  # no Flag: no option


def _example_command(*names: str, **how: object) -> click.Command:
    @click.command()
    @options_of(_Example, *names, **how)
    def command(**given: object) -> None:
        click.echo(repr(sorted(given.items())))

    return command


def test_the_converter_makes_each_flag_the_option_it_describes():
    command = _example_command()
    options = {p.name: p for p in command.params}
    assert list(options) == ["count", "ratio", "mode", "fast", "keep", "verbose", "folder", "size"]
    assert isinstance(options["count"].type, click.IntRange) and options["count"].type.min == 1
    assert options["count"].default == 3 and options["count"].show_default
    assert isinstance(options["ratio"].type, click.FloatRange) and options["ratio"].type.min == 0
    assert isinstance(options["mode"].type, click.Choice) and options["mode"].type.choices == (
        "a",
        "b",
    )
    assert options["fast"].opts == ["--fast"] and options["fast"].secondary_opts == ["--no-fast"]
    assert options["keep"].opts == ["--drop"] and options["keep"].is_flag
    assert options["verbose"].is_flag and options["verbose"].help == "Say more."
    assert isinstance(options["folder"].type, click.Path) and not options["folder"].type.file_okay
    assert options["size"].opts == ["--n"] and options["size"].type.name == "integer"


def test_the_converter_passes_the_defaults_and_what_was_typed():
    context = _example_command().make_context("x", [])
    assert context.params == {
        "count": 3,
        "ratio": None,
        "mode": "a",
        "fast": True,
        "keep": True,
        "verbose": False,
        "folder": None,
        "size": None,  # the command line's default: the field's is for the API
    }
    typed = ["--count", "5", "--no-fast", "--drop", "--verbose", "--n", "9", "--mode", "b"]
    context = _example_command().make_context("x", typed)
    assert context.params | {"ratio": None, "folder": None} == {
        "count": 5,
        "ratio": None,
        "mode": "b",
        "fast": False,
        "keep": False,
        "verbose": True,
        "folder": None,
        "size": 9,
    }
    for bad in (["--count", "0"], ["--mode", "c"], ["--ratio", "-1"]):
        with pytest.raises(click.BadParameter):
            _example_command().make_context("x", bad)


def test_named_flags_come_in_the_order_given_and_exclude_leaves_out():
    assert [p.name for p in _example_command("size", "count").params] == ["size", "count"]
    names = [p.name for p in _example_command(exclude=("fast", "keep", "folder")).params]
    assert names == ["count", "ratio", "mode", "verbose", "size"]
    with pytest.raises(KeyError):
        _example_command("internal")


def test_the_cli_declares_its_options_without_importing_torch():
    code = "import sys, mixbench.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
