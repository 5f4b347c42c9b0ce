"""Runtimes: the ways a model is run, as a registry (PyTorch eager, ``torch.compile``, ONNX
Runtime, OpenVINO, TensorRT). Throughput, latency, eval, verify and export all find them here.

>>> from mixbench.runtimes import parse_implementations, runtime_named
>>> [i.runtime for i in parse_implementations("native,timm+compile,ort,native+openvino")]
['pytorch', 'compile', 'ort', 'openvino']

A new runtime is one module (a :class:`~mixbench.runtimes.base.Runtime` subclass: what it
needs installed, its versions, the precisions it can compute in, ``build`` a
:class:`~mixbench.runtimes.base.Session` for a model at a precision, device and batch, what it
measures, its notes under a table) and one line in :mod:`mixbench.runtimes.builtin`.
"""

from __future__ import annotations

from mixbench.lazy import lazy_attributes
from mixbench.runtimes.constants import COMPILE_MODES, DEFAULT_OPSET

_LAZY = {
    "Implementation": "base",
    "OutputCheck": "base",
    "Request": "base",
    "Runtime": "base",
    "Session": "base",
    "compare_outputs": "base",
    "max_relative_difference": "base",
    "parse_implementation": "registry",
    "parse_implementations": "registry",
    "register_runtime": "registry",
    "runs_timm_graph": "registry",
    "runtime_named": "registry",
    "runtimes": "registry",
}


# The API, imported on first use: the CLI reads the constants without loading torch.
__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "COMPILE_MODES",
    "DEFAULT_OPSET",
    "Implementation",
    "OutputCheck",
    "Request",
    "Runtime",
    "Session",
    "compare_outputs",
    "max_relative_difference",
    "parse_implementation",
    "parse_implementations",
    "register_runtime",
    "runs_timm_graph",
    "runtime_named",
    "runtimes",
]
