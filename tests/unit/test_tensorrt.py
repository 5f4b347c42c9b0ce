"""TensorRT (``tensorrt``, ``native+tensorrt``) without a GPU: the extra and the device are
refused before anything runs, the engine is built the way the module says (strongly typed,
detailed layer information, a profile for evaluations, TF32 as torch has it) — checked on a
fake ``tensorrt`` module — and the precision is read back from the inspector's layers. The
GPU run itself needs a GPU; the device checks run it when one is lent."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

from mixbench.cli import cli
from mixbench.measure.precision import PrecisionRequest
from mixbench.runtimes import Request, parse_implementation
from mixbench.runtimes import tensorrt as trt_runtime

# ONNX/OpenVINO exports, evaluations, audits: left out by `pytest -m "not slow"`
pytestmark = pytest.mark.slow


def test_without_the_extra_tensorrt_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    result = CliRunner().invoke(
        cli, ["throughput", "mixnet_s", "--impl", "native,tensorrt", "--db", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: --impl tensorrt needs TensorRT (tensorrt is not installed): "
        "pip install 'mixbench[tensorrt]'"
    ]


def test_tensorrt_runs_on_a_gpu_only(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorrt", SimpleNamespace(__version__="10.9.0"))
    result = CliRunner().invoke(
        cli,
        [
            "latency",
            "mixnet_s",
            "--impl",
            "tensorrt",
            "--device",
            "cpu",
            "--db",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 2
    assert "TensorRT runs on cuda, not cpu" in result.output


ENGINE_INFORMATION = {
    "Layers": [
        {
            "Name": "conv_stem",
            "LayerType": "CaskConvolution",
            "Outputs": [{"Format/Datatype": "Half format"}],
        },
        {
            "Name": "blocks.0.conv_dw",
            "LayerType": "CaskConvolution",
            "Outputs": [{"Format/Datatype": "Half format"}],
        },
        {
            "Name": "classifier",
            "LayerType": "CaskGemmMatrixMultiply",
            "Outputs": [{"Format/Datatype": "Float"}],
        },
        "a layer TensorRT describes only by name",
    ]
}


def test_the_precision_is_what_most_convolutions_compute_in():
    assert trt_runtime.convolution_precision(ENGINE_INFORMATION) == "fp16"
    assert trt_runtime.convolution_precision({"Layers": []}) is None
    float_layers = {
        "Layers": [{"LayerType": "Convolution", "Outputs": [{"Format/Datatype": "Float"}]}]
    }
    assert trt_runtime.convolution_precision(float_layers) == "fp32"


class _Inspector:
    def __init__(self, information):
        self.information = information

    def get_engine_information(self, _format):
        return json.dumps(self.information)


def test_float32_with_tf32_allowed_reads_back_as_tf32():
    fake = SimpleNamespace(LayerInformationFormat=SimpleNamespace(JSON="json"))
    float_layers = {
        "Layers": [{"LayerType": "Convolution", "Outputs": [{"Format/Datatype": "Float"}]}]
    }
    engine = SimpleNamespace(create_engine_inspector=lambda: _Inspector(float_layers))
    assert trt_runtime.read_precision(engine, fake, "fp32", tf32=True)[0] == "tf32"
    assert trt_runtime.read_precision(engine, fake, "fp32", tf32=False)[0] == "fp32"
    silent = SimpleNamespace(create_engine_inspector=lambda: _Inspector({}))
    computed, how = trt_runtime.read_precision(silent, fake, "fp16", tf32=False)
    assert computed == "fp16" and "no layer information" in how


class _FakeTensorRT:
    """Records what the builder is asked."""

    __version__ = "10.9.0"

    def __init__(self):
        self.calls = []
        fake = self

        class Logger:
            ERROR = 0

            def __init__(self, _level):
                pass

        class Config:
            profiling_verbosity = None

            def clear_flag(self, flag):
                fake.calls.append(("clear_flag", flag))

            def add_optimization_profile(self, profile):
                fake.calls.append(("profile", profile.shapes))

        class Profile:
            def __init__(self):
                self.shapes = None

            def set_shape(self, name, low, best, high):
                self.shapes = (name, low, best, high)

        class Network:
            def get_input(self, _index):
                return SimpleNamespace(name="images")

        class Parser:
            num_errors = 0

            def __init__(self, _network, _logger):
                pass

            def parse(self, data):
                fake.calls.append(("parse", len(data)))
                return True

        class Builder:
            def __init__(self, _logger):
                pass

            def create_network(self, flags):
                fake.calls.append(("network", flags))
                return Network()

            def create_builder_config(self):
                self.config = Config()
                return self.config

            def create_optimization_profile(self):
                return Profile()

            def build_serialized_network(self, _network, config):
                fake.calls.append(("verbosity", config.profiling_verbosity))
                return b"engine"

        self.Logger = Logger
        self.Builder = Builder
        self.OnnxParser = Parser
        self.NetworkDefinitionCreationFlag = SimpleNamespace(STRONGLY_TYPED=3)
        self.ProfilingVerbosity = SimpleNamespace(DETAILED="detailed")
        self.BuilderFlag = SimpleNamespace(TF32="tf32")


def _request(batch):
    return Request(
        implementation=parse_implementation("native+tensorrt"),
        precision=PrecisionRequest("fp16"),
        device=torch.device("cuda"),
        batch=batch,
        image_size=64,
    )


def test_engines_are_strongly_typed_with_their_layers_described(tmp_path):
    source = tmp_path / "model.onnx"
    source.write_bytes(b"onnx bytes")
    fake = _FakeTensorRT()
    assert trt_runtime.build_engine(fake, source, _request(16), tf32=True) == b"engine"
    assert ("network", 1 << 3) in fake.calls  # STRONGLY_TYPED: the graph's precision
    assert ("verbosity", "detailed") in fake.calls  # the inspector can read layers back
    assert ("parse", len(b"onnx bytes")) in fake.calls
    assert not any(call[0] in ("clear_flag", "profile") for call in fake.calls)


def test_an_evaluation_engine_takes_any_batch_and_fp32_without_tf32(tmp_path):
    source = tmp_path / "model.onnx"
    source.write_bytes(b"onnx")
    fake = _FakeTensorRT()
    trt_runtime.build_engine(fake, source, _request(None), tf32=False)
    assert ("clear_flag", "tf32") in fake.calls
    [profile] = [call[1] for call in fake.calls if call[0] == "profile"]
    name, low, _best, high = profile
    assert name == "images" and low[0] == 1 and high[0] == trt_runtime.EVAL_MAX_BATCH
    assert low[1:] == (3, 64, 64)


def test_engine_files_are_named_apart_from_their_onnx_source():
    from mixbench.runtimes.exports import ExportKey

    key = ExportKey("mixnet_s", "native", "random-seed-0", 16, 224, "float16", 18, "dynamo")
    engine = ExportKey(**{**key.__dict__, "format": "tensorrt"})
    assert Path(engine.filename).suffix == ".engine" and engine.filename != key.filename
