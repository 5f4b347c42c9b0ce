"""The built-in runtimes, in the order tables list them: adding one is a module and a line
here (:mod:`mixbench.runtimes.registry` registers each)."""

from __future__ import annotations

from mixbench.runtimes.compiled import TorchCompile
from mixbench.runtimes.onnxruntime import OnnxRuntime
from mixbench.runtimes.openvino import OpenVino
from mixbench.runtimes.pytorch import PyTorchEager
from mixbench.runtimes.tensorrt import TensorRt

BUILTIN = (
    PyTorchEager(),
    TorchCompile(),
    OnnxRuntime(),
    OpenVino(),
    TensorRt(),
)
