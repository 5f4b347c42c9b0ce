"""Names the CLI needs before anything heavy is imported (no torch here)."""

from __future__ import annotations

#: ONNX opset of every export, unless the user asks for another.
DEFAULT_OPSET = 18
#: ``torch.compile`` modes (``--compile-mode``); every one runs with inductor's freezing.
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs", "max-autotune", "reduce-overhead")
#: ``mixbench export --to``: the file formats, and the runtime that opens each.
EXPORT_FORMATS = {"onnx": "ort", "openvino": "openvino"}
#: What ``mixbench eval`` runs without ``--impl``: the model as built, in PyTorch eager (the
#: reference a deployed path's predictions are paired with).
DEFAULT_IMPLEMENTATION = "native+noopt"

#: ``--impl`` of throughput and latency: the names a user types
IMPLEMENTATIONS_HELP = (
    "Comma list of implementations: native (mixbench's optimised MixNet; +noopt as built) or "
    "timm, through PyTorch eager (default), +compile (torch.compile), +ort (ONNX Runtime), "
    "+openvino (OpenVINO), +tensorrt (TensorRT, GPU); ort, openvino and tensorrt alone run "
    "timm's graph. Modifiers: +nhwc +nchw "
    "+graphs (PyTorch), +trt (ONNX Runtime's TensorRT provider), +gpu +defaults (OpenVINO's "
    "GPU plugin; its own default precision)."
)
