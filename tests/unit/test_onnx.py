"""ONNX export and ONNX Runtime rows (``ort``, ``native+ort``), ``mixbench export --to onnx``
(and its older name ``export-onnx``), the onnx extra. Small images (64×64) and batch 2 keep
every export to seconds; exports are cached in one folder per module, as a user's runs share
``~/.cache/mixbench/exports``."""

from __future__ import annotations

import json
import re
import sys
from types import SimpleNamespace

import onnx as onnx_lib
import onnxruntime
import pytest
import torch
from click.testing import CliRunner
from runtime_helpers import quick_run_args

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.measure.precision import ComputedPrecision
from mixbench.measure.speed.run import (
    LatencyReport,
    LatencyResult,
    SpeedSettings,
    throughput,
)
from mixbench.measure.speed.timing import LatencyStats, TimingOptions, Warmup
from mixbench.resolve import resolve_model
from mixbench.runtimes import OutputCheck, exports, parse_implementations
from mixbench.runtimes import onnxruntime as ort_runtime
from mixbench.runtimes.subject import Subject, state_dict_sha256

# ONNX/OpenVINO exports, evaluations, audits: left out by `pytest -m "not slow"`
pytestmark = pytest.mark.slow

QUICK = TimingOptions(
    trials=2, trial_seconds=0.02, warmup_seconds=0, warmup_iterations=1, latency_iterations=4
)
SMALL = SpeedSettings(device="cpu", batch_size=2, image_size=64, timing=QUICK)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(autouse=True)
def _cache(module_cache, monkeypatch):
    """Every test of this module exports into (and reuses) the module's own cache."""
    monkeypatch.setenv("MIXBENCH_CACHE", str(module_cache))
    return module_cache / "exports"


@pytest.fixture(scope="module")
def resolved_s():
    return resolve_model("mixnet_s")


def _build(resolved, text, precision="fp32", **kwargs):
    from runtime_helpers import build_session

    return build_session(resolved, text, precision, **kwargs)


# ------------------------------------------------------------------------------ parsing


def test_ort_implementation_names():
    parsed = parse_implementations("ort,native+ort,native+noopt+ort,ort+trt,native+ort+trt")
    assert [i.name for i in parsed] == [
        "ort",
        "native+ort",
        "native+noopt+ort",
        "ort+trt",
        "native+ort+trt",
    ]
    assert parse_implementations(",".join(i.name for i in parsed)) == parsed
    assert parse_implementations("timm+ort") == parse_implementations("ort")
    ort, native = parse_implementations("ort,native+ort")
    assert ort.is_timm and ort.runtime == "ort" and not native.is_timm and native.optimize


def test_pytorch_flags_do_not_apply_to_ort_rows():
    parsed = parse_implementations("native,ort", compile=True, cuda_graphs=True)
    assert [i.name for i in parsed] == ["native+compile+graphs", "ort"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ort+compile", "one runtime per name"),
        ("native+ort+nhwc", r"\+nhwc is a modifier of PyTorch eager, not of ONNX Runtime"),
        ("native+trt", r"\+trt is a modifier of ONNX Runtime"),
        ("ort,timm+ort", "listed twice"),
        ("onnx", "a name is native or timm"),
    ],
)
def test_bad_ort_implementations_are_named(text, message):
    with pytest.raises(InputError) as caught:
        parse_implementations(text)
    assert re.search(message, f"{caught.value.message} {caught.value.hint}")


# ------------------------------------------------------------------------------ export


def test_ort_and_native_ort_give_timms_outputs(resolved_s, max_rel_diff):
    """The exported timm model and the exported optimised native model, in ONNX Runtime,
    against timm's PyTorch model on the same weights — checked here independently."""
    subject = Subject(resolved_s, 64)
    assert subject.weights_name == "random-seed-0"
    reference = subject.timm_twin()
    images = subject.images(2)
    with torch.no_grad():
        want = reference(images)
    for text in ("ort", "native+ort", "native+noopt+ort"):
        session, step = _build(subject, text)
        got = step().clone()
        assert got.shape == (2, 1000)
        assert max_rel_diff(got, want) <= 1e-4, text
        assert max_rel_diff(session.run(images), want) <= 1e-4, text
        assert session.provider == "CPUExecutionProvider"
        assert session.precision == ComputedPrecision(
            "fp32", "fp32", "the ONNX file's input element type"
        )
        assert session.layout == "NCHW"
        assert session.details["exporter"] == exports.default_exporter() == "dynamo"
        # the random weights make the logits depend on the image: a check that can fail
        assert max_rel_diff(got[0], got[1]) > 1e-2


def test_session_runs_with_torchs_threads_and_every_optimisation(resolved_s):
    details = _build(resolved_s, "native+ort")[0].details
    assert details["intra_op_threads"] == torch.get_num_threads()
    assert details["graph_optimization_level"] == "ORT_ENABLE_ALL"
    assert details["providers"] == ["CPUExecutionProvider"]
    assert details["onnxruntime"] == onnxruntime.__version__
    assert details["graph_form"] == "grouped_pointwise=never,mixconv=always"


def test_a_dynamic_batch_session_takes_any_batch(resolved_s):
    """What an evaluation through ONNX Runtime builds: one file for every batch size."""
    session, _step = _build(resolved_s, "native+ort", batch=None)
    assert "-bdyn-" in session.details["onnx_file"]
    for size in (1, 3):
        assert session.run(torch.randn(size, 3, 64, 64)).shape == (size, 1000)


def test_the_torchscript_exporter_gives_the_same_outputs(resolved_s, monkeypatch):
    monkeypatch.setattr(exports, "default_exporter", lambda: "torchscript")
    session, _step = _build(resolved_s, "ort")
    assert session.details["exporter"] == "torchscript"


def test_bf16_and_cpu_fp16_are_refused_before_anything_runs():
    steps = []
    for settings in (SpeedSettings(amp=True, timing=QUICK), SpeedSettings(precision="fp16")):
        with pytest.raises(InputError, match=r"cannot compute in (bf16|fp16); it supports fp32"):
            throughput(["mixnet_s"], settings, "ort", on_progress=steps.append)
    assert steps == []


# ------------------------------------------------------------------------------ cache


def _key(**changes):
    fields = {
        "model": "mixnet_s",
        "source": "native",
        "weights": "random-seed-0",
        "batch": 2,
        "image_size": 64,
        "dtype": "float32",
        "opset": 18,
        "exporter": "dynamo",
    }
    fields.update(changes)
    return exports.ExportKey(**fields)


def test_the_cache_key_names_what_the_file_depends_on(tmp_path):
    base = _key()
    assert _key().filename == base.filename  # same key, same file
    variants = [
        _key(batch=4),
        _key(batch=None),
        _key(dtype="float16"),
        _key(opset=17),
        _key(image_size=224),
        _key(weights="sha256:00ff"),
        _key(weights="random-seed-1"),
        _key(source="timm"),
        _key(exporter="torchscript"),
        _key(target="cuda"),
        _key(model="mixnet_m"),
        _key(form=exports.form_of(ort_runtime.GRAPH_FORM)),  # another graph shape, another file
        _key(format="openvino"),  # IR beside the ONNX file of the same graph
    ]
    names = {key.filename for key in variants}
    assert len(names) == len(variants) and base.filename not in names
    assert base.filename.startswith("mixnet_s-native-b2-64px-float32-opset18-")
    assert _key(format="openvino").filename.endswith(".xml")
    assert dict(base.versions)["torch"] == torch.__version__
    assert exports.form_of(ort_runtime.GRAPH_FORM) == "grouped_pointwise=never,mixconv=always"

    exported = []

    def export(path):
        exported.append(path)
        path.write_bytes(b"onnx")

    first, cached = exports.cached_export(base, export, tmp_path)
    assert not cached and len(exported) == 1 and first.parent == tmp_path
    assert exported[0].name.endswith(".partial.onnx")  # written aside, then renamed
    assert first.read_bytes() == b"onnx" and not exported[0].exists()
    again, cached = exports.cached_export(_key(), export, tmp_path)
    assert cached and again == first and len(exported) == 1  # reused, not exported again
    assert json.loads(first.with_suffix(".json").read_text())["batch"] == 2
    for changed in (_key(batch=4), _key(dtype="float16"), _key(opset=17)):
        path, cached = exports.cached_export(changed, export, tmp_path)
        assert not cached and path != first
    assert len(exported) == 4


def test_a_second_run_reuses_the_export(resolved_s, monkeypatch, _cache):
    first, _ = _build(resolved_s, "ort")
    assert first.details["onnx_file"].startswith(str(_cache))

    def no_export(*_args, dynamo=True, **_kwargs):  # dynamo: still torch's export signature
        raise AssertionError("exported again")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    again, _ = _build(resolved_s, "ort")
    assert again.details["cached"] and again.details["onnx_file"] == first.details["onnx_file"]


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXBENCH_CACHE", str(tmp_path / "mine"))
    assert exports.cache_dir() == tmp_path / "mine" / "exports"
    monkeypatch.delenv("MIXBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert exports.cache_dir() == tmp_path / "xdg" / "mixbench" / "exports"


def test_random_weights_are_the_seeds_and_given_weights_are_hashed(resolved_s):
    from mixbench.models.seeded import seeded_weights

    a = seeded_weights(resolved_s.model, 64)
    b = seeded_weights(resolved_s.model, 64)
    other = seeded_weights(resolved_s.model, 64, seed=1)
    assert state_dict_sha256(a) == state_dict_sha256(b)
    assert state_dict_sha256(a) != state_dict_sha256(other)
    before = state_dict_sha256(a)
    with torch.no_grad():
        next(a.parameters()).view(-1)[0] += 1e-3
    assert state_dict_sha256(a) != before
    given = SimpleNamespace(
        model=a, has_weights=True, preprocessing=resolved_s.preprocessing, name="mixnet_s"
    )
    subject = Subject(given, 64)  # type: ignore[arg-type]
    assert subject.weights is a and subject.weights_name == "sha256:" + state_dict_sha256(a)


# ------------------------------------------------------------------------------ providers


ALL_GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_cpu_runs_on_the_cpu_provider_whatever_else_there_is():
    choose = ort_runtime.choose_providers
    assert choose(CPU, ["CPUExecutionProvider"]) == [("CPUExecutionProvider", {})]
    assert choose(CPU, ALL_GPU) == [("CPUExecutionProvider", {})]


def test_cuda_prefers_the_cuda_provider_then_the_cpu():
    chosen = ort_runtime.choose_providers(torch.device("cuda:1"), ALL_GPU, tf32=True)
    assert chosen == [
        ("CUDAExecutionProvider", {"device_id": 1, "use_tf32": 1}),
        ("CPUExecutionProvider", {}),
    ]
    assert ort_runtime.choose_providers(torch.device("cuda"), ALL_GPU)[0][1]["device_id"] == 0


def test_tensorrt_comes_first_when_asked_for(tmp_path):
    chosen = ort_runtime.choose_providers(
        torch.device("cuda"), ALL_GPU, tensorrt=True, fp16=True, trt_cache=tmp_path
    )
    assert [name for name, _ in chosen] == ALL_GPU
    assert chosen[0][1] == {
        "device_id": 0,
        "trt_fp16_enable": True,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(tmp_path),
    }


@pytest.mark.parametrize(
    ("device", "available", "tensorrt", "message"),
    [
        ("cuda", ["CPUExecutionProvider"], False, "pip install onnxruntime-gpu"),
        ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"], True, "TensorRT"),
        ("cpu", ALL_GPU, True, "TensorRT runs on a GPU"),
    ],
)
def test_a_missing_provider_is_an_error(device, available, tensorrt, message):
    with pytest.raises(InputError) as caught:
        ort_runtime.choose_providers(torch.device(device), available, tensorrt=tensorrt)
    assert message in caught.value.message + (caught.value.hint or "")


def test_the_gpu_precisions_of_onnx_runtime():
    from mixbench.runtimes import runtime_named

    ort = runtime_named("ort")
    [row] = parse_implementations("ort+trt")
    assert ort.precisions(torch.device("cuda"), row) == ("fp32", "fp16")
    assert ort.precisions(CPU, row) == ("fp32",)


def test_a_quiet_fallback_to_the_cpu_is_an_error(tmp_path):
    """onnxruntime-gpu without its CUDA libraries logs a warning and runs on the CPU."""

    class FallingBack:
        def __init__(self, path, sess_options, providers):
            self.asked = providers

        def get_providers(self):
            return ["CPUExecutionProvider"]

    fake = SimpleNamespace(
        SessionOptions=onnxruntime.SessionOptions,
        ExecutionMode=onnxruntime.ExecutionMode,
        GraphOptimizationLevel=onnxruntime.GraphOptimizationLevel,
        InferenceSession=FallingBack,
    )
    providers = ort_runtime.choose_providers(torch.device("cuda"), ALL_GPU)
    with pytest.raises(InputError, match="could not start CUDAExecutionProvider"):
        ort_runtime.open_session(tmp_path / "model.onnx", providers, fake)


def test_the_build_chooses_from_onnxruntimes_list(resolved_s, monkeypatch):
    asked = []
    real = ort_runtime.choose_providers

    def spy(device, available, **options):
        asked.append(list(available))
        return real(device, available, **options)

    monkeypatch.setattr(ort_runtime, "choose_providers", spy)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert _build(resolved_s, "ort")[0].provider == "CPUExecutionProvider"
    assert asked == [["CPUExecutionProvider"]]


# ------------------------------------------------------------------------------ the extra


@pytest.fixture
def no_onnxruntime(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError


def test_without_the_extra_ort_fails_before_anything_runs(no_onnxruntime, tmp_path):
    db = tmp_path / "runs.sqlite"
    result = CliRunner().invoke(
        cli, ["throughput", "mixnet_s", "--impl", "native,ort", "--db", str(db)]
    )
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        "error: --impl ort needs ONNX Runtime (onnxruntime is not installed): "
        "pip install 'mixbench[onnx]'"
    ]
    assert not db.exists()


def test_without_the_extra_the_api_refuses_before_measuring(no_onnxruntime):
    steps = []
    for precision in ("fp32", "bf16"):  # the extra is named whatever the precision
        with pytest.raises(InputError, match=r"mixbench\[onnx\]"):
            throughput(
                ["mixnet_s"],
                SpeedSettings(batch_size=2, image_size=64, timing=QUICK, precision=precision),
                "native,native+ort",
                on_progress=steps.append,
            )
    assert steps == []


def test_without_the_extra_export_names_it(no_onnxruntime, tmp_path):
    for command in (["export-onnx"], ["export", "--to", "onnx"]):
        out = tmp_path / "m.onnx"
        result = CliRunner().invoke(cli, [*command, "mixnet_s", "--out", str(out)])
        assert result.exit_code == 2
        assert "pip install 'mixbench[onnx]'" in result.output
        assert not out.exists()


def test_native_rows_need_no_onnxruntime(no_onnxruntime):
    made = throughput(["mixnet_s"], SMALL, "native")
    assert made.results[0].provider is None and made.results[0].outputs_agree is True
    assert "onnxruntime" not in made.environment


# ------------------------------------------------------------------------------ reports


def test_throughput_cli_ranks_the_ort_rows(tmp_path):
    out = tmp_path / "speed.json"
    result = CliRunner().invoke(
        cli,
        [
            "throughput",
            "mixnet_s",
            "--impl",
            "native,timm,ort,native+ort",
            "--batch",
            "2",
            "--image-size",
            "64",
            "--trials",
            "2",
            "--trial-seconds",
            "0.05",
            "--warmup-seconds",
            "0",
            "--device",
            "cpu",
            "--db",
            str(tmp_path / "runs.sqlite"),
            "--json",
            str(out),
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[3].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert set(rows) == {"native", "timm", "ort", "native+ort"}
    for name in ("native", "native+ort"):
        assert "× timm" in rows[name] and "× ort" in rows[name]
    assert "ONNX Runtime CPU" in rows["ort"] and "PyTorch eager" in rows["timm"]
    assert "onnxruntime " + onnxruntime.__version__ in result.stdout
    assert "CPUExecutionProvider" in result.stdout and "ORT_ENABLE_ALL" in result.stdout
    data = json.loads(out.read_text())
    by_name = {row["implementation"]: row for row in data["results"]}
    assert by_name["ort"]["provider"] == "CPUExecutionProvider"
    assert by_name["ort"]["outputs_agree"] is True and by_name["ort"]["runtime"] == "ort"
    assert by_name["native+ort"]["outputs_check"]["max_relative_difference"] <= 1e-4
    assert by_name["native"]["outputs_agree"] is True and by_name["native"]["provider"] is None
    assert by_name["ort"]["traffic"] is None  # ONNX Runtime fuses: no eager count
    assert by_name["ort"]["runtime_details"]["intra_op_threads"] == torch.get_num_threads()
    assert all(row["precision"] == "fp32" for row in data["results"])
    # ort runs timm's graph: a baseline of mixbench's paths, not one of them
    ranked = {(r["implementation"], r["baseline"]) for r in data["ratios"]}
    assert ranked == {
        ("native", "timm"),
        ("native", "ort"),
        ("native+ort", "timm"),
        ("native+ort", "ort"),
    }
    [fastest] = data["fastest"]
    assert fastest["implementation"] in ("native", "native+ort")
    assert fastest["baseline"] in ("timm", "ort") and fastest["precision"] == "fp32"
    assert sorted(row["rank"] for row in data["results"]) == [1, 2, 3, 4]
    assert "mixnet_s, fp32: mixbench's fastest path, " in result.stdout
    assert data["environment"]["onnxruntime"] == onnxruntime.__version__
    assert data["settings"]["onnx_opset"] == 18


def _corrupt_the_export(monkeypatch):
    """The exported module gets a wrong stem convolution; the reference stays timm's."""
    real = Subject.graph

    def corrupted(self, implementation, **kwargs):
        module, source = real(self, implementation, **kwargs)
        if implementation.runtime == "ort":
            with torch.no_grad():
                next(module.parameters()).mul_(1.5)
        return module, source

    monkeypatch.setattr(Subject, "graph", corrupted)
    monkeypatch.setattr(exports, "default_exporter", lambda: "torchscript")  # the faster one


def test_a_row_whose_outputs_disagree_is_flagged_not_ranked(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXBENCH_CACHE", str(tmp_path))  # keep the shared cache clean
    _corrupt_the_export(monkeypatch)
    out = tmp_path / "speed.json"
    result = CliRunner().invoke(
        cli,
        [
            "throughput",
            "mixnet_s",
            "--impl",
            "native,timm,native+ort",
            "--batch",
            "2",
            "--image-size",
            "64",
            *quick_run_args(tmp_path, out, trials=2),
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "│ native+ort" in line]
    assert "DIFFER" in row and "not ranked" in row and "× timm" not in row
    data = json.loads(out.read_text())
    flagged = next(r for r in data["results"] if r["implementation"] == "native+ort")
    assert flagged["outputs_agree"] is False
    assert flagged["outputs_check"]["max_relative_difference"] > 1e-4
    assert flagged["images_per_second"] > 0  # still measured, just not ranked
    assert [r["implementation"] for r in data["ratios"]] == ["native"]
    assert flagged["rank"] is None
    assert row.split("│")[1].strip() == "—"  # unranked, and listed after the ranked rows
    assert result.stdout.index("│ native+ort") > result.stdout.index("│ timm ")
    assert not list((tmp_path / "exports").glob("*.onnx"))  # a wrong file is not kept


def _latency_row(name, ms, check=None, precision="fp32", asked=None):
    warm = Warmup(1, 0.1, 0.1, None, "process RSS")
    runtime = "ort" if "ort" in name else "pytorch"
    return LatencyResult(
        model="mixnet_s",
        implementation=name,
        runtime=runtime,
        batch_size=1,
        image_size=64,
        precision=ComputedPrecision(precision, asked or precision, "test"),
        layout="NCHW",
        warmup=warm,
        stats=LatencyStats((ms, ms)),
        check=check,
    )


def _check(difference, precision="fp32"):
    return OutputCheck("timm", precision, difference, 1e-4 if precision == "fp32" else 6e-2, 1, 1)


def test_a_flagged_latency_row_is_not_ranked():
    report = LatencyReport(
        settings={},
        results=[
            _latency_row("timm", 10.0, _check(0.0)),
            _latency_row("ort", 2.0, _check(1e-6)),
            _latency_row("native+ort", 1.0, _check(0.5)),
        ],
        environment={},
        device="cpu",
    )
    # ort runs timm's graph; native+ort disagrees: nothing of mixbench's is left to rank
    assert report.ratios() == [] and report.fastest() == []
    assert report.ranks() == {("mixnet_s", "ort", "fp32"): 1, ("mixnet_s", "timm", "fp32"): 2}
    data = report.to_dict()
    assert [r["outputs_agree"] for r in data["results"]] == [True, True, False]
    records = report.to_run_records()
    assert records[2].metrics["outputs_agree"] is False


def test_latency_with_ort_rows(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "latency",
            "mixnet_s",
            "--impl",
            "timm,native+ort",
            "--image-size",
            "64",
            "--iterations",
            "4",
            "--warmup-seconds",
            "0",
            "--device",
            "cpu",
            "--db",
            str(tmp_path / "runs.sqlite"),
            "--json",
            "-",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the exporters' chatter stays off stdout
    ort_row = data["results"][1]
    assert ort_row["batch_size"] == 1 and ort_row["outputs_agree"] is True
    assert [r["implementation"] for r in data["ratios"]] == ["native+ort"]


# ------------------------------------------------------------------------------ export


def test_export_onnx_writes_a_checked_deployable_file(tmp_path):
    out = tmp_path / "mixnet_s.onnx"
    report = tmp_path / "export.json"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "mixnet_s",
            "--to",
            "onnx",
            "--optimized",
            "--image-size",
            "64",
            "--out",
            str(out),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "outputs agree: max relative difference" in result.stdout
    assert "random (random-seed-0)" in result.stderr
    data = json.loads(report.read_text())
    assert data["outputs_agree"] is True and data["check"]["max_relative_difference"] <= 1e-4
    assert data["optimized"] and data["dynamic_batch"] and data["exporter"] == "dynamo"
    assert data["format"] == "onnx" and data["precision"] == data["precision_computed"] == "fp32"
    proto = onnx_lib.load(str(out))
    meta = {entry.key: entry.value for entry in proto.metadata_props}
    # the size the file takes (--image-size 64), with the card's crop and normalisation
    assert meta["mixbench.model"] == "mixnet_s" and meta["preprocessing.image_size"] == "64"
    assert json.loads(meta["preprocessing.mean"]) == pytest.approx([0.485, 0.456, 0.406])
    assert meta["preprocessing.crop_pct"] == "0.875"
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "images"
    assert isinstance(session.get_inputs()[0].shape[0], str)  # a dynamic batch axis
    (logits,) = session.run(None, {"images": torch.randn(3, 3, 64, 64).numpy()})
    assert logits.shape == (3, 1000)


def test_export_onnx_exits_1_when_the_outputs_disagree(tmp_path, monkeypatch):
    from mixbench.measure import precision

    monkeypatch.setitem(precision.TOLERANCES, "fp32", 0.0)  # nothing agrees exactly
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(
        cli,
        [
            "export-onnx",
            "mixnet_s",
            "--image-size",
            "64",
            "--static-batch",
            "--batch",
            "2",
            "--exporter",
            "torchscript",
            "--out",
            str(out),
            "--json",
            "-",
        ],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["outputs_agree"] is False and data["batch"] == 2 and not data["optimized"]
    assert data["exporter"] == "torchscript"
    assert out.exists()  # written all the same, to inspect


def test_export_refuses_what_it_cannot_write_before_any_work(tmp_path):
    cases = [
        (["export-onnx", "mixnet_s", "--out", str(tmp_path / "no" / "m.onnx")], "does not exist"),
        (["export", "mixnet_s", "--out", str(tmp_path / "m.xml")], "an ONNX file ends in .onnx"),
        (["export", "mixnet_s", "--precision", "bf16"], "onnx files are fp32, fp16"),
        (["export", "mixnet_s", "--precision", "fp8"], "'fp8' is not a precision"),
        (["export", "mixnet_s", "--to", "tflite"], "'tflite' is not one of"),
    ]
    for arguments, message in cases:
        result = CliRunner().invoke(cli, arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert message in result.output, (arguments, result.output)
    assert list(tmp_path.iterdir()) == []


def test_mixbench_is_ranked_against_the_fastest_of_every_timm_path():
    """timm eager, timm compiled and ort (timm's export) are all timm's graph: the headline is
    mixbench's fastest row over the fastest of those, never over a slow baseline only."""
    from mixbench.report.speed import render_speed, speed_section
    from mixbench.runtimes import runs_timm_graph

    assert [runs_timm_graph(n) for n in ("timm+nhwc+compile", "ort+trt", "native+ort")] == [
        True,
        True,
        False,
    ]
    report = LatencyReport(
        settings={"batch_size": 1, "precision": ["fp32"], "timing": {"trials": 1}},
        results=[
            _latency_row("timm", 40.0, _check(0.0)),
            _latency_row("timm+compile", 20.0, _check(1e-6)),
            _latency_row("ort", 16.0, _check(1e-6)),
            _latency_row("native", 25.0, _check(1e-6)),
            _latency_row("native+ort", 10.0, _check(1e-6)),
        ],
        environment={},
        device="cpu",
    )
    [fastest] = report.fastest()
    assert (fastest.implementation, fastest.baseline) == ("native+ort", "ort")
    assert fastest.ratio == pytest.approx(1.6)
    assert report.ranks()[("mixnet_s", "native+ort", "fp32")] == 1
    assert report.ranks()[("mixnet_s", "timm", "fp32")] == 5
    markdown = render_speed([speed_section("Latency", report)])
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert table[1].startswith("| 1 | mixnet\\_s | native+ort | ONNX Runtime |")  # fastest first
    assert "agree 1.0e-06, top-1 1/1" in table[1]
    assert (
        "mixnet\\_s, fp32: mixbench's fastest path, native+ort, is 1.60× timm's fastest" in markdown
    )
