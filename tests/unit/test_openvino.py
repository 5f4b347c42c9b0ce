"""OpenVINO rows (``openvino``, ``native+openvino``, ``+defaults``), the precision read back from
the compiled model, ``mixbench export --to openvino``, the openvino extra. Small images (64×64)
and batch 2; IR is cached in one folder per module, converted from the shared ONNX export."""

from __future__ import annotations

import json
import time
from pathlib import Path

import openvino
import pytest
import torch
from click.testing import CliRunner
from runtime_helpers import quick_run_args

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.measure.precision import TOLERANCES, PrecisionRequest
from mixbench.resolve import resolve_model
from mixbench.runtimes import parse_implementation, runtime_named
from mixbench.runtimes.subject import Subject

# ONNX/OpenVINO exports, evaluations, audits: left out by `pytest -m "not slow"`
pytestmark = pytest.mark.slow

CPU = torch.device("cpu")
CAPABILITIES = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
#: what OpenVINO computes in by default on this CPU: bf16 where the CPU has it
DEFAULT_PRECISION = "bf16" if "BF16" in CAPABILITIES else "fp32"


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ov-cache")


@pytest.fixture(autouse=True)
def _cache(module_cache, monkeypatch):
    monkeypatch.setenv("MIXBENCH_CACHE", str(module_cache))
    return module_cache / "exports"


@pytest.fixture(scope="module")
def subject_s():
    return Subject(resolve_model("mixnet_s"), 64)


def _build(subject, text, precision="fp32", **kwargs):
    from runtime_helpers import build_session

    return build_session(subject, text, precision, **kwargs)


def test_openvino_rows_give_timms_outputs_and_read_their_precision_back(subject_s, max_rel_diff):
    images = subject_s.images(2)
    want = subject_s.reference_logits(images)
    for text in ("openvino", "native+openvino"):
        session, step = _build(subject_s, text)
        got = step().clone()
        assert max_rel_diff(got, want) <= TOLERANCES["fp32"], text
        assert session.precision.name == "fp32" and session.precision.read_back
        assert "INFERENCE_PRECISION_HINT=f32" in session.precision.how
        assert session.provider == "CPU"
        assert session.details["ir_file"].endswith(".xml")
        assert session.details["config"]["PERFORMANCE_HINT"] == "LATENCY"
        assert session.details["threads"] == torch.get_num_threads()
        assert max_rel_diff(session.run(images), want) <= TOLERANCES["fp32"]


@pytest.mark.skipif("BF16" not in CAPABILITIES, reason="this CPU has no bfloat16")
def test_bf16_is_asked_with_the_hint_and_read_back(subject_s, max_rel_diff):
    images = subject_s.images(2)
    session, step = _build(subject_s, "native+openvino", "bf16")
    assert session.precision.name == "bf16" and not session.precision.lowered
    difference = max_rel_diff(step(), subject_s.reference_logits(images))
    assert 1e-4 < difference <= TOLERANCES["bf16"]  # really lower precision, within bound


def test_openvinos_own_default_is_read_back_whatever_was_asked(subject_s):
    session, _step = _build(subject_s, "openvino+defaults")
    assert session.precision.name == DEFAULT_PRECISION
    assert session.precision.asked == "fp32"
    assert session.precision.lowered == (DEFAULT_PRECISION != "fp32")
    assert "INFERENCE_PRECISION_HINT" not in session.details["config"]
    assert runtime_named("openvino").ignores_precision(parse_implementation("openvino+defaults"))


def test_a_precision_the_plugin_lacks_is_refused_with_what_it_has():
    openvino_runtime = runtime_named("openvino")
    have = openvino_runtime.precisions(CPU, parse_implementation("openvino"))
    assert "fp32" in have and have == tuple(
        p for p in ("fp32", "bf16", "fp16") if p.upper() in CAPABILITIES
    )
    missing = [p for p in ("bf16", "fp16") if p not in have]
    for precision in missing:
        with pytest.raises(InputError, match=f"cannot compute in {precision}; it supports"):
            openvino_runtime.check_request(
                parse_implementation("openvino"), PrecisionRequest(precision), CPU
            )


def test_the_gpu_plugin_is_refused_where_there_is_none():
    if any(name.startswith("GPU") for name in openvino.Core().available_devices):
        pytest.skip("this machine has an OpenVINO GPU device")
    with pytest.raises(InputError, match="no GPU plugin device"):
        runtime_named("openvino").check_request(
            parse_implementation("native+openvino+gpu"), PrecisionRequest(), CPU
        )


def test_openvino_runs_on_the_cpu_only():
    with pytest.raises(InputError, match="OpenVINO runs on cpu"):
        runtime_named("openvino").check_request(
            parse_implementation("openvino"), PrecisionRequest(), torch.device("cuda")
        )


def test_the_ir_is_converted_once_into_the_shared_cache(subject_s, _cache):
    session, _step = _build(subject_s, "native+openvino")
    ir = session.details["ir_file"]
    assert ir.startswith(str(_cache)) and session.details["converter"] == "openvino.convert_model"
    key = json.loads(Path(ir).with_suffix(".json").read_text())
    assert key["format"] == "openvino" and "openvino" in key["versions"]
    assert key["form"] == "grouped_pointwise=never,mixconv=always"
    again, _step = _build(subject_s, "native+openvino")
    assert again.details["ir_cached"] and again.details["ir_file"] == ir


def test_a_batch_runs_the_faster_of_one_request_or_one_per_image(subject_s, max_rel_diff):
    """Both ways give the same logits (the check runs the chosen one); which one won, and the
    time of each, is said."""
    from mixbench.runtimes import openvino as ov_runtime

    session, step = _build(subject_s, "openvino", batch=4)
    assert max_rel_diff(step(), subject_s.reference_logits(subject_s.images(4))) <= 1e-4
    assert len(session.details["execution_seconds_per_call"]) == 2
    assert session.details["execution"] in (
        "one request, the latency hint",
        f"4 requests of one image, the throughput hint, {session.details['streams']} streams",
    )
    single = ov_runtime._single_request
    slow = []

    def slower_single(compiled, images):
        step = single(compiled, images)

        def slowed():
            slow.append(1)
            time.sleep(0.05)
            return step()

        return slowed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ov_runtime, "_single_request", slower_single)
        session, step = _build(subject_s, "openvino", batch=4)
    assert session.details["execution"].startswith("4 requests of one image")
    got = step()
    assert max_rel_diff(got, subject_s.reference_logits(subject_s.images(4))) <= 1e-4


def test_throughput_through_openvino_at_two_precisions(tmp_path):
    out = tmp_path / "speed.json"
    result = CliRunner().invoke(
        cli,
        [
            "throughput",
            "mixnet_s",
            "--impl",
            "native,timm,openvino,native+openvino,openvino+defaults",
            "--precision",
            "fp32,bf16",
            "--batch",
            "2",
            "--image-size",
            "64",
            *quick_run_args(tmp_path, out, trials=2),
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    rows = {(r["implementation"], r["precision_asked"]): r for r in data["results"]}
    expected = {
        (n, p) for n in ("native", "timm", "openvino", "native+openvino") for p in ("fp32", "bf16")
    }
    if "BF16" not in CAPABILITIES:
        expected = {(n, p) for n, p in expected if p == "fp32" or not n.endswith("openvino")}
    assert expected | {("openvino+defaults", "fp32")} == set(rows)  # +defaults runs once
    assert all(r["outputs_agree"] for r in data["results"])
    assert rows[("openvino+defaults", "fp32")]["precision"] == DEFAULT_PRECISION
    assert rows[("openvino", "fp32")]["runtime_details"]["plugin"] == "CPU"
    assert {(r["precision"]) for r in data["fastest"]} >= {"fp32"}
    assert (
        "OpenVINO CPU" in result.stdout
        and "openvino " + openvino.__version__.split("-")[0] in result.stdout
    )
    assert data["environment"]["openvino"] == openvino.__version__.split("-")[0]


def test_export_to_openvino_writes_a_checked_ir_with_the_preprocessing(tmp_path):
    out = tmp_path / "mixnet_s.xml"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "mixnet_s",
            "--to",
            "openvino",
            "--optimized",
            "--image-size",
            "64",
            "--out",
            str(out),
            "--json",
            "-",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "openvino" and data["outputs_agree"]
    assert data["files"] == [str(out), str(out.with_suffix(".bin"))]
    assert data["precision"] == data["precision_computed"] == "fp32"
    model = openvino.Core().read_model(str(out))
    assert model.get_rt_info(["mixbench", "preprocessing", "crop_pct"]).astype(str) == "0.875"
    assert model.get_rt_info(["mixbench", "model"]).astype(str) == "mixnet_s"
    assert model.get_rt_info(["runtime_options", "INFERENCE_PRECISION_HINT"]).astype(str) == "f32"
    assert model.inputs[0].get_partial_shape()[0].is_dynamic  # any batch
    compiled = openvino.Core().compile_model(model, "CPU")
    logits = compiled(torch.randn(3, 3, 64, 64).numpy())[0]
    assert logits.shape == (3, 1000)


def test_a_float16_ir_is_checked_in_what_the_cpu_computes(tmp_path):
    out = tmp_path / "m.xml"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "mixnet_s",
            "--to",
            "openvino",
            "--precision",
            "fp16",
            "--image-size",
            "64",
            "--out",
            str(out),
            "--json",
            "-",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["precision"] == "fp16"
    computed = "fp16" if "FP16" in CAPABILITIES else DEFAULT_PRECISION
    assert data["precision_computed"] == computed  # read back, never assumed
    # an f16 IR computed in fp32 still holds weights rounded to fp16: the fp16 bound applies
    assert data["check"]["precision"] == ("fp16" if computed == "fp32" else computed)
    assert data["outputs_agree"]


def test_without_the_extra_openvino_is_named(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)
    result = CliRunner().invoke(
        cli, ["export", "mixnet_s", "--to", "openvino", "--out", str(tmp_path / "m.xml")]
    )
    assert result.exit_code == 2
    assert "pip install 'mixbench[openvino]'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_defaults_is_asked_for_float32_whatever_the_run_asks():
    """A user who sets nothing expects float32: +defaults shows what OpenVINO makes of that,
    in a bf16 run too (where it would otherwise look like an honest bf16 row)."""
    from mixbench.measure.speed.run import SpeedSettings, _plan

    plan, _not_run = _plan(SpeedSettings(precision="bf16"), "openvino,openvino+defaults")
    asked = {made.name: precision.name for made, precision in plan}
    if "BF16" in CAPABILITIES:
        assert asked == {"openvino": "bf16", "openvino+defaults": "fp32"}
    else:
        assert asked == {"openvino+defaults": "fp32"}


def test_onnx_options_are_refused_for_openvino(tmp_path):
    for option in (["--opset", "17"], ["--exporter", "torchscript"]):
        result = CliRunner().invoke(
            cli,
            ["export", "mixnet_s", "--to", "openvino", *option, "--out", str(tmp_path / "m.xml")],
        )
        assert result.exit_code == 2 and "are torch.onnx.export's" in result.output
    assert list(tmp_path.iterdir()) == []
