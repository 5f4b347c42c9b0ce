"""The runtime registry and precision as one axis: names, the protocol (a new runtime is one
module), the precision read back (a runtime that silently lowers precision is caught), rows a
runtime cannot run, and ranking within a precision."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from runtime_helpers import quick_run_args

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.measure.precision import (
    PRECISIONS,
    TOLERANCES,
    ComputedPrecision,
    PrecisionRequest,
    canonical_precision,
    legacy_precision,
    parse_precisions,
)
from mixbench.measure.speed.run import SpeedSettings, throughput
from mixbench.measure.speed.timing import TimingOptions
from mixbench.runtimes import Request, Runtime, Session, parse_implementations, runtimes
from mixbench.runtimes import registry as runtime_registry
from mixbench.runtimes.registry import implementation, register_runtime, runtime_named
from mixbench.runtimes.subject import Subject

QUICK = TimingOptions(
    trials=2, trial_seconds=0.02, warmup_seconds=0, warmup_iterations=1, latency_iterations=4
)
SMALL = SpeedSettings(device="cpu", batch_size=2, image_size=64, timing=QUICK)
CPU = torch.device("cpu")


# ------------------------------------------------------------------------------ precision


def test_precision_names_and_spellings():
    assert PRECISIONS == ("fp32", "bf16", "fp16")
    for spelling, name in (
        ("float32", "fp32"),
        ("BF16", "bf16"),
        ("half", "fp16"),
        ("f16", "fp16"),
    ):
        assert canonical_precision(spelling) == name
    assert parse_precisions(None) == (PrecisionRequest("fp32"),)
    assert [r.name for r in parse_precisions("bf16, fp32,bf16")] == ["bf16", "fp32"]
    with pytest.raises(InputError, match="'int8' is not a precision"):
        parse_precisions("fp32,int8")


@given(st.text(max_size=20))
def test_the_precision_parser_never_crashes(text):
    try:
        requests = parse_precisions(text)
    except InputError as error:
        assert "--precision" in error.message
        return
    assert requests and all(r.name in PRECISIONS for r in requests)


def test_timms_spelling_maps_onto_precision():
    assert legacy_precision(False, None, "cpu") is None
    assert legacy_precision(True, None, "cpu") == PrecisionRequest("bf16")
    assert legacy_precision(True, None, "cuda") == PrecisionRequest("fp16")
    assert legacy_precision(True, "float16", "cpu") == PrecisionRequest("fp16")
    assert legacy_precision(False, "bfloat16", "cpu") == PrecisionRequest("bf16", cast=True)


def test_every_computed_precision_has_a_bound():
    assert TOLERANCES["fp32"] < TOLERANCES["fp16"] <= TOLERANCES["bf16"]
    lowered = ComputedPrecision("bf16", "fp32", "read back")
    assert lowered.lowered and lowered.label == "bf16 (asked fp32)" and lowered.tolerance == 0.06


# ------------------------------------------------------------------------------ the registry


def test_the_built_in_runtimes_are_registered():
    names = [runtime.name for runtime in runtimes()]
    assert names[:4] == ["pytorch", "compile", "ort", "openvino"]
    for runtime in runtimes():
        assert runtime.label and runtime_named(runtime.name) is runtime
        if runtime.token:
            assert runtime_named(runtime.token) is runtime


def _words(runtime: Runtime) -> list[str]:
    return [*(["nhwc"] if runtime.layouts else []), *runtime.modifiers]


@st.composite
def _made(draw: Any) -> Any:
    runtime = draw(st.sampled_from(runtimes()))
    graph = draw(st.sampled_from(["native", "timm"]))
    modifiers = draw(st.lists(st.sampled_from(_words(runtime) or ["x"]), unique=True))
    modifiers = [m for m in modifiers if m != "x"]
    optimize = draw(st.booleans())
    return implementation(graph, runtime.name, optimize=optimize, modifiers=modifiers)


@given(_made())
def test_every_name_reads_back_as_the_same_implementation(made):
    assert parse_implementations(made.name) == [made]


def test_standalone_runtimes_name_timms_graph_alone():
    assert [i.name for i in parse_implementations("timm+ort,timm+openvino")] == [
        "ort",
        "openvino",
    ]
    openvino, native = parse_implementations("openvino,native+openvino")
    assert openvino.is_timm and not native.is_timm
    assert openvino.runtime == native.runtime == "openvino"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("native+ort+openvino", "one runtime per name"),
        ("openvino+trt", r"\+trt is a modifier of ONNX Runtime, not of OpenVINO"),
        ("native+defaults", r"\+defaults is a modifier of OpenVINO"),
        ("native+openvno", "did you mean openvino"),
    ],
)
def test_bad_names_say_what_would_do(text, message):
    import re

    with pytest.raises(InputError) as caught:
        parse_implementations(text)
    assert re.search(message, f"{caught.value.message} {caught.value.hint}")


def test_a_runtime_name_cannot_be_taken_twice():
    with pytest.raises(ValueError, match="already registered"):
        register_runtime(runtime_named("ort"))


# ------------------------------------------------------------------------------ a new runtime


class Quantising(Runtime):
    """A test runtime in one class: PyTorch eager on the optimised native graph whose logits
    are rounded to bfloat16 on the way out. ``declares``: what it says it computed in."""

    name = "quantising"
    token = "quantising"
    standalone = True
    label = "Quantising test runtime"
    modifiers: ClassVar[dict[str, str]] = {"honest": "reports bfloat16, as it computes"}
    declares = "fp32"

    def precisions(self, device: torch.device, made: Any) -> tuple[str, ...]:
        return ("fp32", "bf16")

    def build(self, subject: Subject, request: Request) -> Session:
        module, _source = subject.graph(request.implementation, device=request.device)

        def run(images: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return module(images).to(torch.bfloat16).float()

        def bind(images: torch.Tensor) -> Callable[[], torch.Tensor]:
            return lambda: run(images)

        said = "bf16" if request.implementation.has("honest") else self.declares
        return Session(
            run=run,
            bind=bind,
            precision=ComputedPrecision(said, request.precision.name, "its own word"),
            provider="test",
        )

    def notes(self, rows: Any) -> list[str]:
        return [f"quantising: {len(rows)} row(s)"]


@pytest.fixture
def quantising(monkeypatch):
    """Registered for one test: a runtime is one class and one registry line."""
    runtime_named("pytorch")  # the built-in ones first
    monkeypatch.setitem(runtime_registry._RUNTIMES, "quantising", Quantising())
    return runtime_registry._RUNTIMES["quantising"]


@pytest.mark.slow
def test_a_new_runtime_is_one_class_and_one_registry_line(quantising):
    [made] = parse_implementations("native+quantising+honest")
    assert made.runtime == "quantising" and made.name == "native+quantising+honest"
    report = throughput(["mixnet_s"], SMALL, "native,timm,native+quantising+honest")
    row = report.result("mixnet_s", "native+quantising+honest")
    assert row.provider == "test" and row.runtime == "quantising"
    assert row.precision.label == "bf16 (asked fp32)"
    assert "quantising: 1 row(s)" in " ".join(
        __import__("mixbench.report.tables", fromlist=["x"]).speed_notes(report)
    )


@pytest.mark.slow
def test_a_runtime_that_says_it_lowered_precision_is_ranked_with_that_precision(quantising):
    report = throughput(
        ["mixnet_s"], SMALL, "native,timm,quantising+honest,native+quantising+honest"
    )
    honest = report.result("mixnet_s", "quantising+honest")
    assert honest.precision.name == "bf16" and honest.precision.asked == "fp32"
    assert honest.check.agree and honest.check.precision == "bf16"  # held to bf16's bound
    groups = {(r.model, r.precision) for r in report.fastest()}
    assert groups == {("mixnet_s", "fp32"), ("mixnet_s", "bf16")}  # never across precisions
    ranks = report.ranks()
    # two rows per computed precision: each ranked 1 or 2 within its own
    assert ranks[("mixnet_s", "quantising+honest", "fp32")] in (1, 2)
    assert ranks[("mixnet_s", "native", "fp32")] in (1, 2)
    assert sorted(ranks.values()) == [1, 1, 2, 2]
    from mixbench.report.tables import speed_notes

    notes = " ".join(speed_notes(report))
    assert "asked fp32, computed bf16 (its own word); ranked with the bf16 rows" in notes


@pytest.mark.slow
def test_a_runtime_that_silently_lowers_precision_is_caught(quantising):
    """It says float32 but rounds to bfloat16: the output check holds it to float32's bound,
    so the row is flagged and never ranked."""
    report = throughput(["mixnet_s"], SMALL, "native,timm,native+quantising")
    row = report.result("mixnet_s", "native+quantising")
    assert row.precision.name == "fp32" and not row.precision.lowered
    assert row.outputs_agree is False and row.check.max_relative > TOLERANCES["fp32"]
    assert report.rank_of(row) is None
    assert all(r.implementation != "native+quantising" for r in report.ratios())


def test_pytorch_reads_its_precision_back_from_the_output():
    from runtime_helpers import build_session

    from mixbench.resolve import resolve_model

    resolved = resolve_model("mixnet_s")
    session, _step = build_session(resolved, "timm", "bf16")
    assert session.precision == ComputedPrecision(
        "bf16", "bf16", "autocast, output dtype read back"
    )
    session, _step = build_session(resolved, "native")
    assert session.precision.name == "fp32" and session.precision.read_back


def test_cuda_float32_with_tf32_convolutions_reads_back_as_tf32(monkeypatch):
    """On a GPU torch's convolutions use TF32 by default: an fp32 row says so (checked
    without a GPU: the read-back of a CUDA session, fed a float32 output)."""
    from mixbench.runtimes.pytorch import PyTorchEager

    runtime = PyTorchEager()
    made = implementation("timm")
    request = Request(made, PrecisionRequest("fp32"), torch.device("cuda"), 1, 64)
    module = torch.nn.Linear(2, 2)
    session = runtime.session(module, request, None, eager=module)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    session.observe(torch.zeros(1, 2))
    assert session.precision.name == "tf32" and session.precision.lowered
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    session.observe(torch.zeros(1, 2))
    assert session.precision.name == "fp32"
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    session.observe(torch.zeros(1, 2))
    assert session.precision.name == "fp32"  # a GPU before Ampere has no TF32


# ------------------------------------------------------------------------------ rows not run


@pytest.mark.slow
def test_rows_a_runtime_cannot_run_are_named_not_run(tmp_path):
    out = tmp_path / "speed.json"
    result = CliRunner().invoke(
        cli,
        [
            "throughput",
            "mixnet_s",
            "--impl",
            "native,ort",
            "--precision",
            "bf16",
            "--batch",
            "2",
            "--image-size",
            "64",
            *quick_run_args(tmp_path, out, trials=1),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "not run: ort: ONNX Runtime on cpu cannot compute in bf16; it supports fp32" in text
    data = json.loads(out.read_text())
    assert [r["implementation"] for r in data["results"]] == ["native"]
    assert data["results"][0]["precision"] == "bf16"
    assert data["not_run"] == [
        {
            "implementation": "ort",
            "precision": "bf16",
            "reason": "ort: ONNX Runtime on cpu cannot compute in bf16; it supports fp32",
            "hint": "pass --precision fp32, or leave ort out",
        }
    ]


def test_nothing_left_to_run_is_refused_before_anything_runs(tmp_path):
    db = tmp_path / "runs.sqlite"
    result = CliRunner().invoke(
        cli, ["latency", "mixnet_s", "--impl", "ort", "--precision", "bf16", "--db", str(db)]
    )
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        "error: ort: ONNX Runtime on cpu cannot compute in bf16; it supports fp32",
        "hint: pass --precision fp32, or leave ort out",
    ]
    assert not db.exists()


@pytest.mark.parametrize(("extra", "impl"), [("openvino", "native+openvino"), ("onnx", "ort")])
def test_a_missing_extra_is_named_before_anything_runs(monkeypatch, tmp_path, extra, impl):
    module = "openvino" if extra == "openvino" else "onnxruntime"
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    db = tmp_path / "runs.sqlite"
    for command in ("throughput", "latency"):
        result = CliRunner().invoke(
            cli, [command, "mixnet_s", "--impl", f"native,{impl}", "--db", str(db)]
        )
        assert result.exit_code == 2, result.output
        [line] = result.output.splitlines()
        assert f"pip install 'mixbench[{extra}]'" in line and f"--impl {impl}" in line
    assert not db.exists()


# ------------------------------------------------------------------------------ ranking


def _row(name: str, per_second: float, precision: str, asked: str | None = None) -> Any:
    from mixbench.measure.speed.run import SpeedResult
    from mixbench.measure.speed.timing import Trials, Warmup
    from mixbench.runtimes import OutputCheck

    made = parse_implementations(name)[0]
    return SpeedResult(
        model="mixnet_s",
        implementation=name,
        runtime=made.runtime,
        batch_size=16,
        image_size=224,
        precision=ComputedPrecision(precision, asked or precision, "test"),
        layout="NCHW",
        warmup=Warmup(1, 0.1, 0.1, None, "process RSS"),
        check=OutputCheck("timm", precision, 1e-6, TOLERANCES[precision], 16, 16),
        trials=Trials((16 / per_second,), 1),
        weight_bytes=1,
    )


def test_rows_are_ranked_within_their_precision():
    from mixbench.measure.speed.run import ThroughputReport
    from mixbench.report.tables import speed_notes, speed_table

    report = ThroughputReport(
        settings={"batch_size": 16, "timing": {"trials": 1}},
        results=[
            _row("timm", 10.0, "fp32"),
            _row("openvino", 40.0, "fp32"),
            _row("native+openvino", 60.0, "fp32"),
            _row("timm", 20.0, "bf16"),
            _row("openvino", 80.0, "bf16"),
            _row("native+openvino", 100.0, "bf16"),
            _row("openvino+defaults", 90.0, "bf16", asked="fp32"),
        ],
        bandwidth=None,
        environment={},
        device="cpu",
    )
    fastest = {
        (r.precision, r.implementation, r.baseline): round(r.ratio, 3) for r in report.fastest()
    }
    assert fastest == {
        ("fp32", "native+openvino", "openvino"): 1.5,
        ("bf16", "native+openvino", "openvino+defaults"): round(100 / 90, 3),
    }
    ranks = report.ranks()
    assert ranks[("mixnet_s", "native+openvino", "fp32")] == 1
    assert ranks[("mixnet_s", "openvino+defaults", "fp32")] == 2  # ranked with bf16 rows
    assert ranks[("mixnet_s", "timm", "bf16")] == 4
    spec = speed_table(report)
    order = [(row.cells[2], row.cells[4]) for row in spec.rows]
    assert order == [
        ("native+openvino", "fp32"),
        ("openvino", "fp32"),
        ("timm", "fp32"),
        ("native+openvino", "bf16"),
        ("openvino+defaults", "bf16 (asked fp32)"),
        ("openvino", "bf16"),
        ("timm", "bf16"),
    ]
    notes = speed_notes(report)
    assert notes[0].startswith("mixnet_s, fp32: mixbench's fastest path, native+openvino, is 1.50×")
    assert notes[1].startswith("mixnet_s, bf16: mixbench's fastest path, native+openvino, is 1.11×")


def test_bad_input_stops_the_run_where_a_missing_precision_only_leaves_a_row_out(tmp_path):
    """+graphs on a CPU is a mistake in the command, not something this machine lacks."""
    db = tmp_path / "runs.sqlite"
    result = CliRunner().invoke(
        cli,
        [
            "throughput",
            "mixnet_s",
            "--impl",
            "native,native+graphs",
            "--device",
            "cpu",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 2 and "CUDA graphs need a CUDA device" in result.output
    assert not db.exists()


def test_a_config_named_like_timms_preset_is_checked_against_itself(tmp_path):
    """A YAML config called mixnet_s with other widths is not timm's mixnet_s: its rows are
    held to the model as built, and its exports are other files than the preset's."""
    from mixbench.models.mixnet import _preset_dir
    from mixbench.resolve import resolve_model

    text = (_preset_dir() / "mixnet_s.yaml").read_text()
    changed = text.replace("head_channels: 1536", "head_channels: 1280")
    assert changed != text
    yaml = tmp_path / "mixnet_s.yaml"
    yaml.write_text(changed)
    mine = Subject(resolve_model(yaml), 64)
    preset = Subject(resolve_model("mixnet_s"), 64)
    _module, label = mine.reference()
    assert label.startswith("native")
    assert mine.config_digest != preset.config_digest
    with pytest.raises(InputError, match="is not this model's architecture"):
        mine.timm_twin()


def test_an_interrupted_export_leaves_nothing_the_cache_would_reuse(tmp_path):
    from mixbench.runtimes.exports import ExportKey, cached_export

    key = ExportKey("m", "native", "random-seed-0", 2, 64, "float32", 0, "x", format="openvino")

    def interrupted(path):
        path.write_text("<half an xml")
        path.with_suffix(".bin").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached_export(key, interrupted, tmp_path)
    assert list(tmp_path.iterdir()) == []

    def complete(path):
        path.write_text("<xml/>")
        path.with_suffix(".bin").write_bytes(b"weights")

    path, cached = cached_export(key, complete, tmp_path)
    assert not cached and path.read_text() == "<xml/>"
    assert path.with_suffix(".bin").read_bytes() == b"weights"
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".bin", ".json", ".xml"]


def test_noise_is_said_never_ranked_as_a_finding():
    """A headline once read "1.64× timm" with p99 19× p50 on a busy machine."""
    from mixbench.measure.speed.run import MachineLoad, ThroughputReport
    from mixbench.measure.speed.timing import Trials
    from mixbench.report.tables import speed_notes

    steady = _row("timm", 100.0, "fp32")
    noisy = _row("native", 110.0, "fp32")
    noisy.trials = Trials((16 / 60.0, 16 / 110.0, 16 / 130.0), 1)  # 60–130 images/s
    report = ThroughputReport(
        settings={"batch_size": 16, "timing": {"trials": 3}},
        results=[steady, noisy],
        bandwidth=None,
        environment={},
        device="cpu",
        machine=MachineLoad(load_before=3.5, cpus=2, steal_share=0.12),
    )
    [headline] = report.fastest()
    assert headline.within_noise  # the native row's slowest trial is slower than timm's
    notes = " ".join(speed_notes(report))
    assert "within the noise (the two rows' trials overlap): inconclusive" in notes
    assert "noisy: mixnet_s native fp32: trials 60.0–130.0 images/s (2.2× apart)" in notes
    assert "the load average was 3.5 on 2 CPUs" in notes and "took 12% of the CPU time" in notes
    assert report.to_dict()["machine"]["busy"]
    quiet = MachineLoad(load_before=0.1, cpus=2, steal_share=0.0)
    assert quiet.busy is None


def test_a_latency_row_with_a_long_tail_is_noisy():
    from mixbench.measure.speed.run import LatencyResult
    from mixbench.measure.speed.timing import LatencyStats, Warmup

    samples = tuple([10.0] * 95 + [200.0] * 5)
    row = LatencyResult(
        model="m",
        implementation="native",
        runtime="pytorch",
        batch_size=1,
        image_size=224,
        precision=ComputedPrecision("fp32", "fp32", "test"),
        layout="NCHW",
        warmup=Warmup(1, 0.1, 0.1, None, "process RSS"),
        stats=LatencyStats(samples),
    )
    assert row.noisy and "× p50" in row.noisy


def test_the_looser_of_asked_and_computed_bounds_the_outputs():
    from mixbench.measure.precision import TOLERANCES, ComputedPrecision

    rounded_weights = ComputedPrecision("fp32", "fp16", "INFERENCE_PRECISION_HINT read back")
    assert rounded_weights.bound == "fp16" and rounded_weights.tolerance == TOLERANCES["fp16"]
    lowered = ComputedPrecision("bf16", "fp32", "read back")
    assert lowered.bound == "bf16" and lowered.lowered
    assert ComputedPrecision("fp32", "fp32", "cast").bound == "fp32"  # no slack for fp32
