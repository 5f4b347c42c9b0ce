"""`mixbench throughput` / `mixbench latency`: the API end to end and the CLI around it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.measure.speed.run import SpeedSettings, latency, throughput
from mixbench.measure.speed.timing import TimingOptions
from mixbench.pipeline import Pipeline
from mixbench.store import ResultsStore

QUICK = TimingOptions(
    trials=2, trial_seconds=0.02, warmup_seconds=0, warmup_iterations=1, latency_iterations=6
)
SMALL = SpeedSettings(device="cpu", batch_size=2, image_size=64, timing=QUICK)
QUICK_ARGS = ["--image-size", "64", "--warmup-seconds", "0", "--device", "cpu"]


@pytest.fixture(scope="module")
def report():
    steps = []
    made = throughput(
        ["mixnet_s"],
        SMALL,
        "native,timm+nchw,timm+nhwc",
        on_progress=lambda event: steps.append((event.description, event.done, event.total)),
    )
    made.steps = steps  # type: ignore[attr-defined]
    return made


@pytest.mark.slow
def test_every_implementation_is_measured(report):
    assert [r.implementation for r in report.results] == ["native", "timm+nchw", "timm+nhwc"]
    for result in report.results:
        assert result.model == "mixnet_s"
        assert result.batch_size == 2 and result.image_size == 64
        assert len(result.trials.seconds_per_call) == 2
        assert result.images_per_second == pytest.approx(2 / result.trials.median)
        assert result.ms_per_batch == pytest.approx(1000 * result.trials.median)
        assert result.peak_memory_bytes >= result.weight_bytes > 0
        assert result.bytes_per_image > 0
        assert result.precision.name == result.precision.asked == "fp32"
        assert result.precision.read_back and result.outputs_agree


def test_ratios_compare_native_with_each_timm_variant(report):
    ratios = report.ratios()
    assert [(r.implementation, r.baseline) for r in ratios] == [
        ("native", "timm+nchw"),
        ("native", "timm+nhwc"),
    ]
    native = report.result("mixnet_s", "native").images_per_second
    timm = report.result("mixnet_s", "timm+nchw").images_per_second
    assert ratios[0].ratio == pytest.approx(native / timm)


def test_the_roofline_is_the_measured_copy_bandwidth_on_cpu(report):
    assert report.bandwidth.source == "measured copy"
    assert report.bandwidth.peak == report.bandwidth.measured_copy > 0
    native = report.result("mixnet_s", "native")
    metrics = native.metrics(report.peak_bandwidth)
    assert metrics["bandwidth_fraction"] == pytest.approx(
        native.bytes_per_image * native.images_per_second / report.bandwidth.peak
    )


def test_folded_bn_shows_as_less_traffic(report):
    native = report.result("mixnet_s", "native").bytes_per_image
    assert native < report.result("mixnet_s", "timm+nchw").bytes_per_image


def test_progress_counts_every_step(report):
    dones = [done for _text, done, _total in report.steps]
    assert dones == list(range(1, len(dones) + 1))
    assert dones[-1] == report.steps[-1][2]  # finishes at its total
    assert any("warm-up" in text for text, _d, _t in report.steps)


def test_report_json_and_run_records(report):
    data = json.loads(json.dumps(report.to_dict()))
    assert data["kind"] == "throughput"
    assert data["settings"]["batch_size"] == 2
    assert {r["implementation"] for r in data["results"]} == {"native", "timm+nchw", "timm+nhwc"}
    assert "torch" in data["environment"]
    records = report.to_run_records("mixbench throughput mixnet_s")
    assert [r.metrics["implementation"] for r in records] == ["native", "timm+nchw", "timm+nhwc"]
    assert all(r.kind == "throughput" and r.command for r in records)
    assert records[0].details["ratios"][0]["baseline"] == "timm+nchw"


@pytest.mark.slow
def test_runs_are_stored(tmp_path):
    store = ResultsStore(tmp_path / "runs.sqlite")
    made = Pipeline(store).throughput(["tf_mixnet_s"], SMALL, "native")
    assert len(made.run_ids) == 1
    stored = store.get(made.run_ids[0])
    assert stored.kind == "throughput" and stored.model == "tf_mixnet_s"
    assert stored.metrics["images_per_second"] == pytest.approx(made.results[0].images_per_second)


def test_a_damaged_store_fails_before_measuring(tmp_path):
    damaged = tmp_path / "runs.sqlite"
    damaged.write_bytes(b"not a database at all" * 10)
    steps = []
    with pytest.raises(InputError):
        Pipeline(ResultsStore(damaged), on_progress=steps.append).throughput(
            ["mixnet_s"], SMALL, "native"
        )
    assert steps == []


def test_bad_precisions_are_refused():
    with pytest.raises(InputError, match="'int8' is not a precision"):
        throughput(["mixnet_s"], SpeedSettings(dtype="int8"), "native")
    with pytest.raises(InputError, match="'fp8' is not a precision"):
        throughput(["mixnet_s"], SpeedSettings(precision="fp32,fp8"), "native")
    with pytest.raises(InputError, match="--precision, or --amp/--dtype"):
        throughput(["mixnet_s"], SpeedSettings(precision="bf16", amp=True), "native")


@pytest.mark.slow
def test_latency_percentiles():
    made = latency("mixnet_s", SMALL, "native,timm")
    assert [r.implementation for r in made.results] == ["native", "timm"]
    for result in made.results:
        assert len(result.stats.samples_ms) == 6
        assert 0 < result.stats.p50 <= result.stats.p90 <= result.stats.p99
    assert made.settings["batch_size"] == 2
    (ratio,) = made.ratios()
    assert ratio.ratio == pytest.approx(made.results[1].stats.p50 / made.results[0].stats.p50)
    data = json.loads(json.dumps(made.to_dict()))
    assert data["results"][0]["p99_ms"] >= data["results"][0]["p50_ms"]


def test_latency_defaults_to_batch_one():
    made = latency("mixnet_s", SpeedSettings(image_size=64, timing=QUICK), "native")
    assert made.results[0].batch_size == 1


# ------------------------------------------------------------------------------ CLI


@pytest.mark.slow
def test_throughput_cli_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "speed.json"
    db = tmp_path / "runs.sqlite"
    result = CliRunner().invoke(
        cli,
        [
            "throughput",
            "mixnet_s",
            "--batch",
            "2",
            "--trials",
            "2",
            "--trial-seconds",
            "0.02",
            *QUICK_ARGS,
            "--json",
            str(out),
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "throughput, batch 2, on cpu" in result.output and "fp32" in result.output
    assert "× timm" in result.output
    assert "CPU " in result.output and "torch " in result.output and "timm " in result.output
    data = json.loads(out.read_text())
    assert [r["implementation"] for r in data["results"]] == ["native", "timm"]
    assert len(data["run_ids"]) == 2
    assert len(ResultsStore(db).runs(kind="throughput")) == 2


def test_latency_cli_json_to_stdout(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "latency",
            "mixnet_s",
            "--iterations",
            "4",
            "--impl",
            "native",
            *QUICK_ARGS,
            "--json",
            "-",
            "--db",
            str(tmp_path / "runs.sqlite"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "latency"
    assert data["results"][0]["iterations"] == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["throughput", "mixnet_s", "--impl", "onnx"], "unknown word 'onnx'"),
        (["throughput", "mixnet_s", "--device", "cuda:7"], "--device cuda:7"),
        (["latency", "mixnet_s", "--cuda-graphs", "--device", "cpu"], "CUDA graphs need"),
        (["throughput", "mixnet_q"], "mixnet_q"),
        (["latency", "mixnet_s", "--json", "/no/such/dir/out.json"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(arguments, message, tmp_path):
    result = CliRunner().invoke(cli, [*arguments, "--db", str(tmp_path / "runs.sqlite")])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs.sqlite").exists()


@pytest.mark.slow
def test_an_interrupted_run_keeps_the_models_already_measured(tmp_path):
    store = ResultsStore(tmp_path / "runs.sqlite")

    def stop_at_the_second_model(event):
        if event.description.startswith("mixnet_m"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Pipeline(store, on_progress=stop_at_the_second_model).throughput(
            ["mixnet_s", "mixnet_m"], SMALL, "native"
        )
    assert [r.model for r in store.runs(kind="throughput")] == ["mixnet_s"]


@pytest.mark.slow
def test_compile_settings_are_said_under_the_table(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch, "compile", lambda module: module)  # compiling takes minutes
    out = tmp_path / "speed.json"
    result = CliRunner().invoke(
        cli,
        [
            "throughput",
            "mixnet_s",
            "--impl",
            "native,timm+compile",
            "--compile-mode",
            "max-autotune-no-cudagraphs",
            "--batch",
            "1",
            "--trials",
            "1",
            "--trial-seconds",
            "0.02",
            *QUICK_ARGS,
            "--db",
            str(tmp_path / "runs.sqlite"),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "+compile: torch.compile, inductor, mode max-autotune-no-cudagraphs, freezing" in text
    assert "under no_grad; compiled in timm+compile" in text
    data = json.loads(out.read_text())
    assert data["settings"]["compile_mode"] == "max-autotune-no-cudagraphs"
    compiled = data["results"][1]
    assert compiled["runtime_details"]["options"]["freezing"] is True
    assert compiled["runtime"] == "compile" and data["results"][0]["runtime"] == "pytorch"
    assert compiled["traffic"] is None and data["results"][0]["runtime_details"] is None


def test_a_compile_mode_torch_lacks_is_refused(tmp_path):
    result = CliRunner().invoke(
        cli, ["throughput", "mixnet_s", "--compile-mode", "fast", "--db", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "'fast' is not one of" in result.output
