"""ONNX export and ONNX Runtime rows (``ort``, ``native+ort``), ``mixbench export-onnx``, the
onnx extra. Small images (64×64) and batch 2 keep every export to seconds; exports are cached in
one folder per module, as a user's runs share ``~/.cache/mixbench/onnx``."""

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

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.measure.speed import onnx
from mixbench.measure.speed.implementations import (
    Precision,
    build_runner,
    parse_implementations,
)
from mixbench.measure.speed.run import (
    LatencyReport,
    LatencyResult,
    SpeedSettings,
    throughput,
)
from mixbench.measure.speed.timing import LatencyStats, TimingOptions, Warmup
from mixbench.resolve import resolve_model

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
    return module_cache / "onnx"


@pytest.fixture(scope="module")
def resolved_s():
    return resolve_model("mixnet_s")


def _build(resolved, text, **kwargs):
    options = {
        "device": "cpu",
        "batch_size": 2,
        "precision": Precision(),
        "channels_last": False,
        "image_size": 64,
    }
    options.update(kwargs)
    implementation = parse_implementations(text)[0]
    if implementation.ort:  # run.py picks this builder for ort rows, as here
        from mixbench.measure.speed import onnx

        opset = options.pop("opset", None) or onnx.DEFAULT_OPSET
        options.pop("channels_last")
        options["device"] = torch.device(options["device"])
        return onnx.build_ort_runner(resolved, implementation, opset=opset, **options)
    return build_runner(resolved, implementation, **options)


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
    assert ort.is_timm and ort.ort and not native.is_timm and native.optimize


def test_pytorch_flags_do_not_apply_to_ort_rows():
    parsed = parse_implementations("native,ort", compile=True, cuda_graphs=True)
    assert [i.name for i in parsed] == ["native+compile+graphs", "ort"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ort+compile", r"\+compile applies to PyTorch implementations"),
        ("native+ort+nhwc", r"\+nhwc applies to PyTorch"),
        ("native+trt", r"\+trt is an ONNX Runtime provider"),
        ("ort,timm+ort", "listed twice"),
        ("onnx", "use native, timm or ort"),
    ],
)
def test_bad_ort_implementations_are_named(text, message):
    with pytest.raises(InputError) as caught:
        parse_implementations(text)
    assert re.search(message, f"{caught.value.message} {caught.value.hint}")


# ------------------------------------------------------------------------------ export


def test_ort_and_native_ort_give_timms_outputs(resolved_s, max_rel_diff):
    """The exported timm model and the exported optimised native model, in ONNX Runtime,
    against timm's PyTorch model on the same weights — checked here independently of the
    runner's own check."""
    weights, name = onnx.weights_for(resolved_s, 64)
    assert name == "random-seed-0"
    reference = onnx.timm_with_weights(resolved_s, weights)
    for text in ("ort", "native+ort", "native+noopt+ort"):
        runner = _build(resolved_s, text)
        got = runner.step().clone()
        with torch.no_grad():
            want = reference(runner.images)
        assert got.shape == (2, 1000)
        assert max_rel_diff(got, want) <= 1e-4, text
        assert runner.check.agree and runner.check.max_relative <= 1e-4
        assert runner.check.reference == "timm (PyTorch, float32)"
        assert runner.provider == "CPUExecutionProvider"
        assert runner.precision == "float32" and runner.layout == "NCHW"
        assert runner.details["exporter"] == onnx.default_exporter() == "dynamo"
        # the random weights make the logits depend on the image: a check that can fail
        assert max_rel_diff(got[0], got[1]) > 1e-2


def test_session_runs_with_torchs_threads_and_every_optimisation(resolved_s):
    details = _build(resolved_s, "native+ort").details
    assert details["intra_op_threads"] == torch.get_num_threads()
    assert details["graph_optimization_level"] == "ORT_ENABLE_ALL"
    assert details["providers"] == ["CPUExecutionProvider"]
    assert details["onnxruntime"] == onnxruntime.__version__


def test_float16_export_is_checked_with_a_looser_tolerance(resolved_s):
    runner = _build(resolved_s, "native+ort", precision=Precision(dtype=torch.float16))
    assert runner.precision == "float16"
    assert runner.step().dtype == torch.float16
    assert runner.check.tolerance == onnx.TOLERANCES["float16"] > onnx.TOLERANCES["float32"]
    assert runner.check.agree, runner.check
    assert "float16" in runner.details["onnx_file"]


def test_the_torchscript_exporter_gives_the_same_outputs(resolved_s, monkeypatch):
    monkeypatch.setattr(onnx, "default_exporter", lambda: "torchscript")
    runner = _build(resolved_s, "ort")
    assert runner.details["exporter"] == "torchscript"
    assert runner.check.agree, runner.check


def test_bfloat16_is_refused_before_anything_runs():
    steps = []
    with pytest.raises(InputError, match="not bfloat16"):
        throughput(
            ["mixnet_s"], SpeedSettings(amp=True, timing=QUICK), "ort", on_progress=steps.append
        )
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
    return onnx.ExportKey(**fields)


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
        _key(form=onnx.graph_form("native")),  # another graph shape is another file
    ]
    names = {key.filename for key in variants}
    assert len(names) == len(variants) and base.filename not in names
    assert base.filename.startswith("mixnet_s-native-b2-64px-float32-opset18-")
    assert dict(base.versions)["torch"] == torch.__version__
    assert onnx.graph_form("native") == "mixconv=always,grouped_pointwise=never"
    assert onnx.graph_form("timm") == ""

    exported = []

    def export(path):
        exported.append(path)
        path.write_bytes(b"onnx")

    first, cached = onnx.cached_export(base, export, tmp_path)
    assert not cached and exported == [first] and first.parent == tmp_path
    again, cached = onnx.cached_export(_key(), export, tmp_path)
    assert cached and again == first and len(exported) == 1  # reused, not exported again
    assert json.loads(first.with_suffix(".json").read_text())["batch"] == 2
    for changed in (_key(batch=4), _key(dtype="float16"), _key(opset=17)):
        path, cached = onnx.cached_export(changed, export, tmp_path)
        assert not cached and path != first
    assert len(exported) == 4


def test_a_second_run_reuses_the_export(resolved_s, monkeypatch, _cache):
    first = _build(resolved_s, "ort")
    assert first.details["onnx_file"].startswith(str(_cache))

    def no_export(*_args, dynamo=True, **_kwargs):  # dynamo: still torch's export signature
        raise AssertionError("exported again")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    again = _build(resolved_s, "ort")
    assert again.details["cached"] and again.details["onnx_file"] == first.details["onnx_file"]
    assert again.check.agree


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXBENCH_CACHE", str(tmp_path / "mine"))
    assert onnx.cache_dir() == tmp_path / "mine" / "onnx"
    monkeypatch.delenv("MIXBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert onnx.cache_dir() == tmp_path / "xdg" / "mixbench" / "onnx"


def test_random_weights_are_the_seeds_and_given_weights_are_hashed(resolved_s):
    a = onnx.seeded_weights(resolved_s.model, 64)
    b = onnx.seeded_weights(resolved_s.model, 64)
    other = onnx.seeded_weights(resolved_s.model, 64, seed=1)
    assert onnx.state_dict_sha256(a) == onnx.state_dict_sha256(b)
    assert onnx.state_dict_sha256(a) != onnx.state_dict_sha256(other)
    before = onnx.state_dict_sha256(a)
    with torch.no_grad():
        next(a.parameters()).view(-1)[0] += 1e-3
    assert onnx.state_dict_sha256(a) != before
    given = SimpleNamespace(model=a, has_weights=True)
    model, name = onnx.weights_for(given, 64)  # type: ignore[arg-type]
    assert model is a and name == "sha256:" + onnx.state_dict_sha256(a)


# ------------------------------------------------------------------------------ providers


ALL_GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_cpu_runs_on_the_cpu_provider_whatever_else_there_is():
    assert onnx.choose_providers(CPU, ["CPUExecutionProvider"]) == [("CPUExecutionProvider", {})]
    assert onnx.choose_providers(CPU, ALL_GPU) == [("CPUExecutionProvider", {})]


def test_cuda_prefers_the_cuda_provider_then_the_cpu():
    chosen = onnx.choose_providers(torch.device("cuda:1"), ALL_GPU, tf32=True)
    assert chosen == [
        ("CUDAExecutionProvider", {"device_id": 1, "use_tf32": 1}),
        ("CPUExecutionProvider", {}),
    ]
    assert onnx.choose_providers(torch.device("cuda"), ALL_GPU)[0][1]["device_id"] == 0


def test_tensorrt_comes_first_when_asked_for(tmp_path):
    chosen = onnx.choose_providers(
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
        onnx.choose_providers(torch.device(device), available, tensorrt=tensorrt)
    assert message in caught.value.message + (caught.value.hint or "")


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
    providers = onnx.choose_providers(torch.device("cuda"), ALL_GPU)
    with pytest.raises(InputError, match="could not start CUDAExecutionProvider"):
        onnx.open_session(tmp_path / "model.onnx", providers, fake)


def test_the_build_chooses_from_onnxruntimes_list(resolved_s, monkeypatch):
    asked = []
    real = onnx.choose_providers

    def spy(device, available, **options):
        asked.append(list(available))
        return real(device, available, **options)

    monkeypatch.setattr(onnx, "choose_providers", spy)
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert _build(resolved_s, "ort").provider == "CPUExecutionProvider"
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
        "error: --impl ort needs ONNX Runtime and onnx (onnxruntime is not installed): "
        "pip install 'mixbench[onnx]'"
    ]
    assert not db.exists()


def test_without_the_extra_the_api_refuses_before_measuring(no_onnxruntime):
    steps = []
    with pytest.raises(InputError, match=r"mixbench\[onnx\]"):
        throughput(["mixnet_s"], SMALL, "native,native+ort", on_progress=steps.append)
    assert steps == []


def test_without_the_extra_export_onnx_names_it(no_onnxruntime, tmp_path):
    result = CliRunner().invoke(cli, ["export-onnx", "mixnet_s", "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    assert "pip install 'mixbench[onnx]'" in result.output
    assert not (tmp_path / "m.onnx").exists()


def test_native_rows_need_no_onnxruntime(no_onnxruntime):
    made = throughput(["mixnet_s"], SMALL, "native")
    assert made.results[0].provider is None and made.results[0].outputs_agree is None
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
    )
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[3].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert set(rows) == {"native", "timm", "ort", "native+ort"}
    for name in ("native", "native+ort"):
        assert "× timm" in rows[name] and "× ort" in rows[name]
    assert "onnxruntime " + onnxruntime.__version__ in result.stdout
    assert "CPUExecutionProvider" in result.stdout and "ORT_ENABLE_ALL" in result.stdout
    data = json.loads(out.read_text())
    by_name = {row["implementation"]: row for row in data["results"]}
    assert by_name["ort"]["provider"] == "CPUExecutionProvider"
    assert by_name["ort"]["outputs_agree"] is True
    assert by_name["native+ort"]["outputs_check"]["max_relative_difference"] <= 1e-4
    assert by_name["native"]["outputs_agree"] is None and by_name["native"]["provider"] is None
    assert by_name["ort"]["traffic"] is None  # ONNX Runtime fuses: no eager count
    assert by_name["ort"]["runtime"]["intra_op_threads"] == torch.get_num_threads()
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
    assert fastest["baseline"] in ("timm", "ort")
    assert sorted(row["rank"] for row in data["results"]) == [1, 2, 3, 4]
    assert "mixnet_s: mixbench's fastest path, " in result.stdout
    assert data["environment"]["onnxruntime"] == onnxruntime.__version__
    assert data["settings"]["onnx_opset"] == 18


def _corrupt_the_export(monkeypatch):
    """The exported module gets a wrong stem convolution; the reference stays timm's."""
    real = onnx.export_source

    def corrupted(*args, **kwargs):
        module, source = real(*args, **kwargs)
        with torch.no_grad():
            next(module.parameters()).mul_(1.5)
        return module, source

    monkeypatch.setattr(onnx, "export_source", corrupted)
    monkeypatch.setattr(onnx, "default_exporter", lambda: "torchscript")  # the faster one


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
            "--trials",
            "2",
            "--trial-seconds",
            "0.02",
            "--warmup-seconds",
            "0",
            "--device",
            "cpu",
            "--db",
            str(tmp_path / "runs.sqlite"),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "│ native+ort" in line]
    assert "outputs differ" in row and "× timm" not in row
    data = json.loads(out.read_text())
    flagged = next(r for r in data["results"] if r["implementation"] == "native+ort")
    assert flagged["outputs_agree"] is False
    assert flagged["outputs_check"]["max_relative_difference"] > 1e-4
    assert flagged["images_per_second"] > 0  # still measured, just not ranked
    assert [r["implementation"] for r in data["ratios"]] == ["native"]
    assert flagged["rank"] is None
    assert row.split("│")[1].strip() == "—"  # unranked, and listed after the ranked rows
    assert result.stdout.index("│ native+ort") > result.stdout.index("│ timm ")
    assert not list((tmp_path / "onnx").glob("*.onnx"))  # a wrong file is not kept


def test_a_flagged_latency_row_is_not_ranked():
    from mixbench.measure.speed.implementations import OutputCheck

    warm = Warmup(1, 0.1, 0.1, None, "process RSS")

    def row(name, ms, check=None):
        return LatencyResult(
            "mixnet_s", name, 1, 64, "float32", "NCHW", LatencyStats((ms, ms)), warm, check=check
        )

    report = LatencyReport(
        settings={},
        results=[
            row("timm", 10.0),
            row("ort", 2.0, OutputCheck("timm", 1e-6, 1e-4)),
            row("native+ort", 1.0, OutputCheck("timm", 0.5, 1e-4)),
        ],
        environment={},
        device="cpu",
    )
    # ort runs timm's graph; native+ort disagrees: nothing of mixbench's is left to rank
    assert report.ratios() == [] and report.fastest() == []
    assert report.ranks() == {("mixnet_s", "ort"): 1, ("mixnet_s", "timm"): 2}
    data = report.to_dict()
    assert [r["outputs_agree"] for r in data["results"]] == [None, True, False]
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


# ------------------------------------------------------------------------------ export-onnx


def test_export_onnx_writes_a_checked_deployable_file(tmp_path):
    out = tmp_path / "mixnet_s.onnx"
    report = tmp_path / "export.json"
    result = CliRunner().invoke(
        cli,
        [
            "export-onnx",
            "mixnet_s",
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
    proto = onnx_lib.load(str(out))
    meta = {entry.key: entry.value for entry in proto.metadata_props}
    assert meta["mixbench.model"] == "mixnet_s" and meta["preprocessing.image_size"] == "224"
    assert json.loads(meta["preprocessing.mean"]) == pytest.approx([0.485, 0.456, 0.406])
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "images"
    assert isinstance(session.get_inputs()[0].shape[0], str)  # a dynamic batch axis
    (logits,) = session.run(None, {"images": torch.randn(3, 3, 64, 64).numpy()})
    assert logits.shape == (3, 1000)


def test_export_onnx_exits_1_when_the_outputs_disagree(tmp_path, monkeypatch):
    monkeypatch.setitem(onnx.TOLERANCES, "float32", 0.0)  # nothing agrees exactly
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
    assert out.exists()  # written all the same, to inspect


def test_export_onnx_refuses_a_missing_folder_before_any_work(tmp_path):
    result = CliRunner().invoke(
        cli, ["export-onnx", "mixnet_s", "--out", str(tmp_path / "no" / "m.onnx")]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_mixbench_is_ranked_against_the_fastest_of_every_timm_path():
    """timm eager, timm compiled and ort (timm's export) are all timm's graph: the headline is
    mixbench's fastest row over the fastest of those, never over a slow baseline only."""
    from mixbench.measure.speed.implementations import OutputCheck, runs_timm_graph
    from mixbench.report.speed import render_speed, speed_section

    assert [runs_timm_graph(n) for n in ("timm+compile+nhwc", "ort+trt", "native+ort")] == [
        True,
        True,
        False,
    ]
    warm = Warmup(1, 0.1, 0.1, None, "process RSS")
    agree = OutputCheck("timm", 1e-6, 1e-4)

    def row(name, ms, check=None):
        return LatencyResult(
            "mixnet_s", name, 1, 64, "float32", "NCHW", LatencyStats((ms, ms)), warm, check=check
        )

    report = LatencyReport(
        settings={"batch_size": 1, "precision": "float32"},
        results=[
            row("timm", 40.0),
            row("timm+compile", 20.0),
            row("ort", 16.0, agree),
            row("native", 25.0),
            row("native+ort", 10.0, agree),
        ],
        environment={},
        device="cpu",
    )
    [fastest] = report.fastest()
    assert (fastest.implementation, fastest.baseline) == ("native+ort", "ort")
    assert fastest.ratio == pytest.approx(1.6)
    assert report.ranks()[("mixnet_s", "native+ort")] == 1
    assert report.ranks()[("mixnet_s", "timm")] == 5
    markdown = render_speed([speed_section("Latency", report)])
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert table[1].startswith("| 1 | mixnet\\_s | native+ort |")  # fastest first
    assert "agree (1.0e-06)" in table[1]
    assert "is **1.60×** timm's fastest, ort (p50)" in markdown
