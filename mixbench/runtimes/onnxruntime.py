"""ONNX Runtime: ``ort`` (timm's graph) and ``native+ort`` (mixbench's), from the shared export
cache (:mod:`mixbench.runtimes.exports`).

* **Precision**: ``fp32`` everywhere; ``fp16`` on CUDA (a float16 model: ONNX has no
  autocast). ONNX Runtime's CPU provider has no float16 convolution on x86 (it would cast back
  to float32) and almost no bfloat16 kernels, so those are refused before anything runs. The
  precision is read back from the session's input element type; on CUDA, float32 with TF32
  convolutions (as torch's are by default) is reported as ``tf32``.
* **Graph form**: the native graph is exported with MixConv merged and grouped 1×1
  convolutions kept grouped (:data:`GRAPH_FORM`): measured on mixnet_xl (2-core CPU, float32),
  7 % faster at batch 16 and 11 % at batch 1 than the choices that suit eager PyTorch.
* **Providers**: CPU always; on ``--device cuda`` the CUDA provider (``onnxruntime-gpu``),
  and with ``+trt`` the TensorRT provider before it, chosen from
  ``onnxruntime.get_available_providers()``; a session that quietly starts on another provider
  than the first asked is an error (TensorRT's own per-node fallback to CUDA is not seen).
* **Session**: intra-op threads = ``torch.get_num_threads()``, every graph optimisation,
  sequential execution; input and output bound once to preallocated tensors (``IOBinding``),
  so a timed call copies nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from mixbench.errors import InputError
from mixbench.measure.precision import ComputedPrecision, dtype_name
from mixbench.runtimes import exports
from mixbench.runtimes.base import Implementation, Request, Runtime, Session, weight_bytes
from mixbench.runtimes.subject import Subject

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
TENSORRT_PROVIDER = "TensorrtExecutionProvider"
#: optimize's choices for a native graph ONNX Runtime runs (see the module docstring)
GRAPH_FORM = {"mixconv": "always", "grouped_pointwise": "never"}
_ELEMENT = {"tensor(float)": "fp32", "tensor(float16)": "fp16", "tensor(bfloat16)": "bf16"}

Providers = list[tuple[str, dict[str, Any]]]


class OnnxRuntime(Runtime):
    name = "ort"
    token = "ort"
    standalone = True
    label = "ONNX Runtime"
    extra = "onnx"
    modules = ("onnxruntime", "onnx")
    modifiers: ClassVar[dict[str, str]] = {"trt": "ONNX Runtime's TensorRT provider (GPU)"}
    format = "onnx"
    #: what ``mixbench export --to onnx`` writes (a float16 file is for GPUs; its check here
    #: runs on the CPU provider, which casts it back to float32)
    export_precisions = ("fp32", "fp16")

    def versions(self) -> dict[str, str]:
        found = super().versions()
        with contextlib.suppress(ImportError):
            import onnxscript

            found["onnxscript"] = onnxscript.__version__
        return found

    def precisions(self, device: torch.device, implementation: Implementation) -> tuple[str, ...]:
        return ("fp32", "fp16") if device.type == "cuda" else ("fp32",)

    def check_request(self, implementation: Implementation, precision: Any, device: Any) -> None:
        super().check_request(implementation, precision, device)
        if implementation.has("trt") and device.type != "cuda":
            raise InputError(
                f"{implementation.name}: TensorRT runs on a GPU",
                hint="pass --device cuda, or drop +trt",
            )

    # ------------------------------------------------------------------ export and open

    def write(
        self, subject: Subject, request: Request, out: Path | None = None
    ) -> tuple[Path, dict[str, Any]]:
        """The ONNX file of ``request`` (from the cache, or written into it; at ``out`` when
        given, as ``mixbench export`` does), and how it was made."""
        return onnx_file(subject, request, out)

    def build(self, subject: Subject, request: Request) -> Session:
        path, made = self.write(subject, request)
        session = self.open(path, request, made)
        session.cached_files = [path]
        return session

    def open(self, path: Path, request: Request, made: dict[str, Any] | None = None) -> Session:
        onnxruntime = _onnxruntime()
        device = request.device
        dtype = request.precision.dtype if request.precision.name == "fp16" else torch.float32
        tf32 = dtype == torch.float32 and device.type == "cuda" and torch.backends.cudnn.allow_tf32
        providers = choose_providers(
            device,
            onnxruntime.get_available_providers(),
            tensorrt=request.implementation.has("trt"),
            fp16=dtype == torch.float16,
            tf32=tf32,
            trt_cache=exports.cache_dir() / "tensorrt",
        )
        session = open_session(path, providers, onnxruntime)
        element = _ELEMENT.get(session.get_inputs()[0].type, session.get_inputs()[0].type)
        computed = "tf32" if element == "fp32" and tf32 else element
        classes = int(session.get_outputs()[0].shape[-1])

        def run(images: torch.Tensor) -> torch.Tensor:
            output = (images.shape[0], classes)
            return bound_step(session, images.to(device, dtype), output)().float()

        def bind(images: torch.Tensor) -> Callable[[], torch.Tensor]:
            return bound_step(session, images.to(device, dtype), (images.shape[0], classes))

        how, read_back = "the ONNX file's input element type", True
        if computed == "fp16" and device.type == "cpu":
            # x86 CPU kernels cast float16 back to float32: the file's precision bounds the
            # error, but it is not what the arithmetic ran in
            how = "a float16 file; ONNX Runtime's CPU provider computes it in float32 between casts"
            read_back = False
        return Session(
            run=run,
            bind=bind,
            precision=ComputedPrecision(computed, request.precision.name, how, read_back),
            provider=session.get_providers()[0],
            weight_bytes=(made or {}).get("weight_bytes", 0),
            details={
                "runtime": "onnxruntime",
                "onnxruntime": onnxruntime.__version__,
                **session_settings(session),
                **{k: v for k, v in (made or {}).items() if k != "weight_bytes"},
                "file": str(path),
            },
        )

    def notes(self, rows: Sequence[Any]) -> list[str]:
        lines = []
        for provider in dict.fromkeys(r.provider for r in rows):
            mine = [r for r in rows if r.provider == provider]
            details = mine[0].details
            lines.append(
                f"onnxruntime {details.get('onnxruntime')}: {provider}, "
                f"{details.get('intra_op_threads')} intra-op threads, "
                f"{details.get('graph_optimization_level')}, opset {details.get('opset')} "
                f"({details.get('exporter')} exporter)"
            )
        return lines


def _onnxruntime() -> Any:
    import onnxruntime

    return onnxruntime


def onnx_file(
    subject: Subject,
    request: Request,
    out: Path | None = None,
    *,
    graph_form: dict[str, str] | None = None,
    exporter: str | None = None,
) -> tuple[Path, dict[str, Any]]:
    """``request``'s graph as an ONNX file in its precision (float32, float16, or bfloat16 for
    runtimes that take it): found in or written to the export cache, or written at ``out``.
    ``graph_form``: optimize's choices for a native graph (default :data:`GRAPH_FORM`, ONNX
    Runtime's)."""
    import time

    implementation = request.implementation
    dtype = request.precision.dtype
    native_form = not implementation.is_timm and implementation.optimize
    choices = (GRAPH_FORM if graph_form is None else graph_form) if native_form else {}
    module, source = subject.graph(implementation, device=request.device, dtype=dtype, **choices)
    exporter = exporter or request.exporter or exports.default_exporter()
    key = exports.ExportKey(
        model=subject.name,
        source=source,
        weights=subject.weights_name,
        batch=request.batch,
        image_size=subject.image_size,
        dtype=dtype_name(dtype),
        opset=request.opset,
        exporter=exporter,
        target=request.device.type,
        form=exports.form_of(choices),
        config=subject.config_digest,
    )
    example = subject.images(request.batch or 1).to(request.device, dtype)

    def write(target: Path) -> None:
        exports.export_onnx_file(
            module,
            target,
            example,
            opset=request.opset,
            exporter=exporter,
            dynamic_batch=request.batch is None,
            metadata=exports.metadata(subject.resolved, key),
        )

    started = time.perf_counter()
    if out is not None:
        write(out)
        path, cached = out, False
    else:
        path, cached = exports.cached_export(key, write, request.cache)
    made = {
        "exporter": exporter,
        "opset": request.opset,
        "onnx_file": str(path),
        "cached": cached,
        "export_seconds": None if cached else time.perf_counter() - started,
        "weights": subject.weights_name,
        "graph_form": key.form or None,
        "key": key,
        "weight_bytes": weight_bytes(module),
    }
    return path, made


# ------------------------------------------------------------------------------ sessions


def choose_providers(
    device: torch.device,
    available: Sequence[str],
    *,
    tensorrt: bool = False,
    fp16: bool = False,
    tf32: bool = False,
    trt_cache: Path | None = None,
) -> Providers:
    """Execution providers for ``device``, in ONNX Runtime's order of preference, from the
    ``available`` ones; an error when the device needs one this onnxruntime lacks."""
    if device.type == "cpu":
        if tensorrt:
            raise InputError(
                "ort+trt: TensorRT runs on a GPU", hint="pass --device cuda, or drop +trt"
            )
        return [(CPU_PROVIDER, {})]
    if device.type != "cuda":
        raise InputError(f"ort: ONNX Runtime cannot run on {device}", hint="use cpu or cuda")
    index = device.index or 0
    have = ", ".join(available) or "none"
    if CUDA_PROVIDER not in available:
        raise InputError(
            f"ort on {device} needs ONNX Runtime's {CUDA_PROVIDER}; this onnxruntime has {have}",
            hint="pip install onnxruntime-gpu in place of onnxruntime (same version)",
        )
    chosen: Providers = []
    if tensorrt:
        if TENSORRT_PROVIDER not in available:
            raise InputError(
                f"+trt needs ONNX Runtime's {TENSORRT_PROVIDER}; this onnxruntime has {have}",
                hint="install onnxruntime-gpu and TensorRT, or drop +trt",
            )
        options: dict[str, Any] = {"device_id": index, "trt_fp16_enable": fp16}
        if trt_cache is not None:
            trt_cache.mkdir(parents=True, exist_ok=True)  # TensorRT keeps its engines there
            options.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(trt_cache))
        chosen.append((TENSORRT_PROVIDER, options))
    # TF32 as torch's convolutions use it, so that ort and the PyTorch rows do the same math
    chosen.append((CUDA_PROVIDER, {"device_id": index, "use_tf32": int(tf32)}))
    chosen.append((CPU_PROVIDER, {}))
    return chosen


def session_options(onnxruntime: Any) -> Any:
    """Intra-op threads = torch's, every graph optimisation, sequential execution."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no provider chatter on the terminal
    return options


def session_settings(session: Any) -> dict[str, Any]:
    """What a session runs with, as the result records it."""
    options = session.get_session_options()
    return {
        "providers": list(session.get_providers()),
        "intra_op_threads": options.intra_op_num_threads,
        "inter_op_threads": options.inter_op_num_threads,
        "graph_optimization_level": str(options.graph_optimization_level).rsplit(".", 1)[-1],
    }


def open_session(path: Path, providers: Providers, onnxruntime: Any | None = None) -> Any:
    """An inference session on ``providers``; an error when ONNX Runtime quietly fell back
    from the first one (it does when, say, the CUDA libraries cannot be loaded)."""
    onnxruntime = onnxruntime or _onnxruntime()
    session = onnxruntime.InferenceSession(
        str(path), sess_options=session_options(onnxruntime), providers=providers
    )
    wanted, ran = providers[0][0], session.get_providers()
    if not ran or ran[0] != wanted:
        raise InputError(
            f"ONNX Runtime could not start {wanted} (it runs on {', '.join(ran) or 'nothing'})",
            hint="check the CUDA / cuDNN / TensorRT libraries onnxruntime-gpu needs",
        )
    return session


def bound_step(
    session: Any, images: torch.Tensor, output_shape: Sequence[int]
) -> Callable[[], torch.Tensor]:
    """``step()``: one run of ``session`` on ``images`` into a preallocated output tensor (the
    same one every call), both bound in place on their device."""
    import numpy as np

    element = {torch.float32: np.float32, torch.float16: np.float16}[images.dtype]
    device_type = "cuda" if images.is_cuda else "cpu"
    device_id = images.device.index or 0
    images = images.contiguous()
    output = torch.empty(tuple(output_shape), dtype=images.dtype, device=images.device)
    binding = session.io_binding()
    binding.bind_input(
        name=session.get_inputs()[0].name,
        device_type=device_type,
        device_id=device_id,
        element_type=element,
        shape=tuple(images.shape),
        buffer_ptr=images.data_ptr(),
    )
    binding.bind_output(
        name=session.get_outputs()[0].name,
        device_type=device_type,
        device_id=device_id,
        element_type=element,
        shape=tuple(output.shape),
        buffer_ptr=output.data_ptr(),
    )

    def step() -> torch.Tensor:
        session.run_with_iobinding(binding)
        return output

    step.keep = (images, output, binding)  # type: ignore[attr-defined]  # the bound buffers
    return step
