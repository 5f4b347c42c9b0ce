"""ONNX export and ONNX Runtime: the ``ort`` and ``native+ort`` implementations, and the API of
``mixbench export-onnx``.

* **Export**: the real ``torch.onnx.export`` — torch's default ``torch.export``-based exporter
  when ``onnxscript`` is installed (it is in the ``onnx`` extra), else the TorchScript one —
  into one self-contained ``.onnx`` file, checked with ``onnx.checker``.
* **Cache**: speed runs export once per :class:`ExportKey` (model, weights, what is exported,
  batch, image size, dtype, opset, exporter, library versions) into :func:`cache_dir`
  (``$MIXBENCH_CACHE/onnx``, else ``~/.cache/mixbench/onnx``); the same key reuses the file.
* **Weights**: the model's own weights (keyed by their sha256), or, without any, weights drawn
  at random from a fixed seed (keyed ``random-seed-N``) so that the key names the file's
  contents. timm's model (``ort``) gets the same weights through ``native_to_timm``.
* **Check**: before anything is timed, the session's outputs on the run's input batch are
  compared with timm's PyTorch outputs on the same weights in exact float32 (max relative
  difference, the metric of the native = timm check): ``TOLERANCES``. A row that fails is kept
  and flagged (``outputs_agree: false``), and no speed-up is computed for it.
* **Providers**: CPU always; on ``--device cuda`` the CUDA provider (``onnxruntime-gpu``), and
  with ``+trt`` the TensorRT provider before it, chosen from
  ``onnxruntime.get_available_providers()``; the result names the provider that ran.
* **Session**: intra-op threads = ``torch.get_num_threads()`` (the cores torch uses), graph
  optimisation ``ORT_ENABLE_ALL``, sequential execution; input and output bound once to
  preallocated tensors (``IOBinding``), so a timed call copies nothing.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import inspect
import io
import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mixbench import __version__
from mixbench.errors import InputError
from mixbench.measure.speed.implementations import (
    Implementation,
    OutputCheck,
    Precision,
    Runner,
    dtype_name,
    max_relative_difference,
)
from mixbench.models.seeded import RANDOM_SEED, seeded_weights
from mixbench.resolve import ResolvedModel

INSTALL_HINT = "pip install 'mixbench[onnx]'"
DEFAULT_OPSET = 18
#: Max relative difference of ONNX Runtime's outputs from timm's exact float32 PyTorch outputs.
#: float32: the native = timm check's (mixbench.verify); TF32 convolutions (CUDA's default)
#: and float16 round every layer's inputs to a 10-bit mantissa.
TOLERANCES = {"float32": 1e-4, "tf32": 1e-2, "float16": 2e-2}
DTYPES = {"float32": torch.float32, "float16": torch.float16}
INPUT_NAME, OUTPUT_NAME = "images", "logits"
EXPORTERS = ("dynamo", "torchscript")

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
TENSORRT_PROVIDER = "TensorrtExecutionProvider"

Providers = list[tuple[str, dict[str, Any]]]


# ------------------------------------------------------------------------------ the extra


def require_onnxruntime(what: str = "--impl ort") -> Any:
    """The ``onnxruntime`` module, or a one-line error naming the extra that installs it."""
    try:
        onnxruntime = importlib.import_module("onnxruntime")
        importlib.import_module("onnx")
    except ImportError as error:
        missing = error.name or "onnxruntime"
        raise InputError(
            f"{what} needs ONNX Runtime and onnx ({missing} is not installed): {INSTALL_HINT}"
        ) from None
    return onnxruntime


def versions() -> dict[str, str]:
    """onnxruntime, onnx and (when present) onnxscript versions, for the environment."""
    found = {}
    for name in ("onnxruntime", "onnx", "onnxscript"):
        with contextlib.suppress(ImportError):
            found[name] = str(importlib.import_module(name).__version__)
    return found


def default_exporter() -> str:
    """``dynamo`` (torch's default exporter: torch.export + onnxscript) when it can run here,
    else ``torchscript`` (the legacy exporter, deprecated by torch but still built in)."""
    if "dynamo" not in inspect.signature(torch.onnx.export).parameters:
        return "torchscript"
    try:
        importlib.import_module("onnxscript")
    except ImportError:
        return "torchscript"
    return "dynamo"


def ort_dtype(precision: Precision, device: torch.device) -> torch.dtype:
    """What an ort row computes in: the cast dtype, else the autocast dtype (ONNX has no
    autocast: the model is exported in it), else float32. No bfloat16: ONNX Runtime has
    almost no bfloat16 kernels."""
    dtype = precision.cast_dtype(device) or precision.autocast_dtype(device) or torch.float32
    if dtype not in DTYPES.values():
        raise InputError(
            f"ort: ONNX Runtime runs float32 or float16, not {dtype_name(dtype)}",
            hint="pass --dtype float16 or --dtype float32 (with --amp on a CPU: --dtype float16)",
        )
    return dtype


# ------------------------------------------------------------------------------ weights


def state_dict_sha256(model: nn.Module) -> str:
    """sha256 of a state dict's names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def weights_for(
    resolved: ResolvedModel, image_size: int, seed: int = RANDOM_SEED
) -> tuple[nn.Module, str]:
    """The model to export (eval mode, float32, on the CPU) and its weights' name in the key."""
    if resolved.has_weights:
        return resolved.model.eval(), "sha256:" + state_dict_sha256(resolved.model)
    last = _last_seeded
    if last and last[0] is resolved.model and last[1:3] == (image_size, seed):
        return last[3], f"random-seed-{seed}"  # ort and native+ort of one model: drawn once
    drawn = seeded_weights(resolved.model, image_size, seed)
    _last_seeded[:] = [resolved.model, image_size, seed, drawn]
    return drawn, f"random-seed-{seed}"


_last_seeded: list[Any] = []


def timm_with_weights(resolved: ResolvedModel, model: nn.Module) -> nn.Module:
    """timm's model of ``resolved``'s name, holding ``model``'s weights (float32, CPU, eval)."""
    import timm

    from mixbench.models.weights import native_to_timm

    name = timm_name(resolved)
    if name is None:
        raise InputError(
            f"timm has no model named {resolved.name!r} to export",
            hint="name a model that timm has (`mixbench list`), or use native+ort",
        )
    classes = int(model.eval_config.num_classes)  # type: ignore[union-attr]
    reference = timm.create_model(name, pretrained=False, num_classes=classes)
    reference.load_state_dict(native_to_timm(model.state_dict(), model))
    return reference.eval()


def timm_name(resolved: ResolvedModel) -> str | None:
    import timm

    name = resolved.card.name if resolved.card else resolved.name
    return name if name in timm.list_models() else None


# ------------------------------------------------------------------------------ export


@dataclass(frozen=True)
class ExportKey:
    """Everything an exported file depends on; equal keys name the same file."""

    model: str
    source: str  # "timm" | "native" (optimised) | "native+noopt"
    weights: str  # "sha256:<hex>" | "random-seed-N"
    batch: int | None  # None: a dynamic batch axis
    image_size: int
    dtype: str  # "float32" | "float16"
    opset: int
    exporter: str  # "dynamo" | "torchscript"
    #: the device type the model was prepared for: optimize's per-layer choices depend on it
    target: str = "cpu"
    #: how the exported graph was shaped (``graph_form``): a new form is a new file
    form: str = ""
    versions: tuple[tuple[str, str], ...] = field(default_factory=lambda: _library_versions())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["versions"] = dict(self.versions)
        return data

    @property
    def digest(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def filename(self) -> str:
        batch = "dyn" if self.batch is None else str(self.batch)
        parts = [self.model, self.source, f"b{batch}", f"{self.image_size}px", self.dtype]
        stem = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts)
        return f"{stem}-opset{self.opset}-{self.digest}.onnx"


def _library_versions() -> tuple[tuple[str, str], ...]:
    import timm

    found = {"torch": torch.__version__, "timm": timm.__version__, "mixbench": __version__}
    found.update({k: v for k, v in versions().items() if k == "onnxscript"})
    return tuple(sorted(found.items()))


def cache_dir() -> Path:
    """``$MIXBENCH_CACHE/onnx``, else ``$XDG_CACHE_HOME/mixbench/onnx`` (``~/.cache/...``)."""
    base = os.environ.get("MIXBENCH_CACHE")
    if base:
        return Path(base) / "onnx"
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "mixbench" / "onnx"


def cached_export(
    key: ExportKey, export: Callable[[Path], None], directory: Path | None = None
) -> tuple[Path, bool]:
    """The file for ``key`` and whether it came from the cache; ``export(path)`` writes it
    when it is not there yet (a JSON of the key is written beside it)."""
    folder = directory if directory is not None else cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"{folder}: cannot create the ONNX cache: {error.strerror or error}",
            hint="set MIXBENCH_CACHE to a writable folder",
        ) from error
    path = folder / key.filename
    if path.is_file():
        return path, True
    export(path)
    path.with_suffix(".json").write_text(json.dumps(key.to_dict(), indent=1) + "\n")
    return path, False


def export_model(
    module: nn.Module,
    path: Path,
    example: torch.Tensor,
    *,
    opset: int = DEFAULT_OPSET,
    exporter: str | None = None,
    dynamic_batch: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """``torch.onnx.export`` of ``module`` on ``example`` into one file at ``path`` (written
    beside it, then renamed over it), checked by ``onnx.checker``; returns the exporter used.

    The dynamo exporter specialises a batch of 1, so a dynamic batch axis is traced at 2.
    """
    import onnx

    exporter = exporter or default_exporter()
    if exporter not in EXPORTERS:
        raise InputError(
            f"unknown ONNX exporter {exporter!r}", hint=f"use {' or '.join(EXPORTERS)}"
        )
    if dynamic_batch and example.shape[0] == 1:
        example = torch.cat([example, example])
    options: dict[str, Any] = {
        "input_names": [INPUT_NAME],
        "output_names": [OUTPUT_NAME],
        "opset_version": opset,
    }
    if exporter == "dynamo":
        options.update(dynamo=True, external_data=False, verbose=False, optimize=True)
        if dynamic_batch:
            options["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
    else:
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            options["dynamo"] = False
        if dynamic_batch:
            options["dynamic_axes"] = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=".onnx"
    )
    os.close(descriptor)
    try:
        # the exporters print progress and deprecation notes: keep stdout for --json -
        with (
            torch.no_grad(),
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), (example,), temporary, **options)
        proto = onnx.load(temporary)
        onnx.checker.check_model(proto)
        for name, value in (metadata or {}).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = name, value
        onnx.save(proto, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return exporter


#: optimize's choices for a graph ONNX Runtime runs: MixConv merged into one depthwise conv,
#: grouped 1×1 convs kept grouped. Measured on mixnet_xl (2-core CPU, float32): 7 % faster at
#: batch 16 and 11 % at batch 1 than the choices that suit eager PyTorch, whose dense 1×1s
#: save kernel launches ONNX Runtime does not pay.
ONNX_OPTIMIZE_CHOICES = {"mixconv": "always", "grouped_pointwise": "never"}


def graph_form(source: str) -> str:
    """The ``form`` of an export of ``source`` (see :data:`ONNX_OPTIMIZE_CHOICES`)."""
    if source != "native":
        return ""
    return ",".join(f"{key}={value}" for key, value in ONNX_OPTIMIZE_CHOICES.items())


def export_source(
    resolved: ResolvedModel,
    implementation: Implementation,
    weights: nn.Module,
    *,
    device: torch.device,
    dtype: torch.dtype,
    image_size: int,
) -> tuple[nn.Module, str]:
    """The PyTorch module an ort implementation exports (on ``device`` in ``dtype``) and its
    ``source`` name in the key."""
    if implementation.is_timm:
        return timm_with_weights(resolved, weights).to(device, dtype), "timm"
    if implementation.optimize:
        from mixbench.models.optimize import optimize

        module = optimize(
            weights,
            device=device,
            dtype=dtype,
            channels_last=False,  # an ONNX graph is NCHW; the runtime picks its own layouts
            example_input=torch.randn(1, 3, image_size, image_size),
            **ONNX_OPTIMIZE_CHOICES,  # type: ignore[arg-type]
        )
        return module, "native"
    return copy.deepcopy(weights).to(device, dtype), "native+noopt"


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
    onnxruntime = onnxruntime or require_onnxruntime()
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


@contextlib.contextmanager
def exact_float32() -> Iterator[None]:
    """No TF32 in the reference (torch allows it in cuDNN convolutions by default)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def tolerance_for(dtype: torch.dtype, device: torch.device) -> tuple[float, str]:
    """The check's tolerance and what it is named after."""
    if dtype == torch.float16:
        return TOLERANCES["float16"], "float16"
    if device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        return TOLERANCES["tf32"], "tf32"
    return TOLERANCES["float32"], "float32"


def check_outputs(
    got: torch.Tensor, want: torch.Tensor, *, tolerance: float, reference: str
) -> OutputCheck:
    return OutputCheck(
        reference=reference,
        max_relative=max_relative_difference(got.float(), want.float()),
        tolerance=tolerance,
    )


# ------------------------------------------------------------------------------ runners


def build_ort_runner(
    resolved: ResolvedModel,
    implementation: Implementation,
    *,
    device: torch.device,
    batch_size: int,
    precision: Precision,
    image_size: int | None = None,
    opset: int = DEFAULT_OPSET,
) -> Runner:
    """``resolved`` exported (or found in the cache), in an ONNX Runtime session on
    ``device``, its outputs checked against timm's PyTorch outputs on the same weights."""
    onnxruntime = require_onnxruntime(f"--impl {implementation.name}")
    dtype = ort_dtype(precision, device)
    size = image_size or resolved.preprocessing.image_size
    tolerance, tolerance_name = tolerance_for(dtype, device)
    providers = choose_providers(
        device,
        onnxruntime.get_available_providers(),
        tensorrt=implementation.tensorrt,
        fp16=dtype == torch.float16,
        tf32=tolerance_name == "tf32",
        trt_cache=cache_dir() / "tensorrt",
    )
    if implementation.tensorrt:  # TensorRT keeps its engines there (minutes to build)
        (cache_dir() / "tensorrt").mkdir(parents=True, exist_ok=True)
    weights, weights_name = weights_for(resolved, size)
    module, source = export_source(
        resolved, implementation, weights, device=device, dtype=dtype, image_size=size
    )
    exporter = default_exporter()
    images = torch.randn(batch_size, 3, size, size, device=device, dtype=dtype)
    key = ExportKey(
        model=resolved.name,
        source=source,
        weights=weights_name,
        batch=batch_size,
        image_size=size,
        dtype=dtype_name(dtype),
        opset=opset,
        exporter=exporter,
        target=device.type,
        form=graph_form(source),
    )
    started = time.perf_counter()
    path, cached = cached_export(
        key,
        lambda target: export_model(
            module,
            target,
            images,
            opset=opset,
            exporter=exporter,
            metadata=_metadata(resolved, key),
        ),
    )
    export_seconds = time.perf_counter() - started
    session = open_session(path, providers, onnxruntime)
    reference, label = _reference(resolved, weights)
    with torch.no_grad(), exact_float32():
        want = reference.to(device)(images.float())
    del reference
    step = bound_step(session, images, want.shape)
    # the check runs the very call that is timed, on the very batch
    check = check_outputs(step(), want, tolerance=tolerance, reference=label)
    if not check.agree:  # a file whose outputs are wrong is not kept for the next run
        path.unlink(missing_ok=True)
    weight_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    return Runner(
        implementation=implementation,
        model=resolved.name,
        step=step,
        eager=module.cpu(),  # ONNX Runtime holds its own copy: give the device memory back
        images=images,
        precision=dtype_name(dtype),
        channels_last=False,
        weight_bytes=weight_bytes,
        autocast_dtype=None,
        provider=session.get_providers()[0],
        check=check,
        details={
            "runtime": "onnxruntime",
            "onnxruntime": onnxruntime.__version__,
            **session_settings(session),
            "exporter": exporter,
            "opset": opset,
            "onnx_file": str(path),
            "cached": cached,
            "export_seconds": None if cached else export_seconds,
            "weights": weights_name,
            "tolerance_for": tolerance_name,
        },
    )


def _reference(resolved: ResolvedModel, weights: nn.Module) -> tuple[nn.Module, str]:
    """timm's PyTorch model on the same weights; for a config timm does not have, our own
    unoptimised model."""
    if timm_name(resolved) is not None:
        return timm_with_weights(resolved, weights), "timm (PyTorch, float32)"
    return copy.deepcopy(weights), "native (PyTorch, float32, not optimised)"


def _metadata(resolved: ResolvedModel, key: ExportKey) -> dict[str, str]:
    """Written into the file: what it is, and the preprocessing a deployment must apply."""
    preprocessing = resolved.preprocessing
    return {
        "mixbench.model": key.model,
        "mixbench.source": key.source,
        "mixbench.weights": key.weights,
        "mixbench.version": __version__,
        "preprocessing.image_size": str(preprocessing.image_size),
        "preprocessing.crop_pct": str(preprocessing.crop_pct),
        "preprocessing.interpolation": preprocessing.interpolation,
        "preprocessing.mean": json.dumps(list(preprocessing.mean)),
        "preprocessing.std": json.dumps(list(preprocessing.std)),
    }


# ------------------------------------------------------------------------------ export-onnx


@dataclass
class OnnxExport:
    """What ``mixbench export-onnx`` wrote and how its outputs compare with PyTorch's."""

    path: Path
    key: ExportKey
    check: OutputCheck
    bytes: int
    sha256: str
    check_batch: int
    input_name: str = INPUT_NAME
    output_name: str = OUTPUT_NAME
    provider: str = CPU_PROVIDER

    @property
    def agree(self) -> bool:
        return self.check.agree

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "bytes": self.bytes,
            "sha256": self.sha256,
            **{k: v for k, v in self.key.to_dict().items() if k != "batch"},
            "optimized": self.key.source == "native",
            "dynamic_batch": self.key.batch is None,
            "batch": self.key.batch,
            "check_batch": self.check_batch,
            "input": self.input_name,
            "output": self.output_name,
            "provider": self.provider,
            "outputs_agree": self.agree,
            "check": self.check.to_dict(),
        }


def export_onnx(
    spec: str,
    out: Path | None = None,
    *,
    optimized: bool = False,
    batch: int = 1,
    dtype: str = "float32",
    image_size: int | None = None,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    exporter: str | None = None,
    index_path: str | os.PathLike[str] | None = None,
) -> OnnxExport:
    """Export MODEL (native; ``optimized``: BN folded, MixConv merged) to ONNX at ``out`` and
    check ONNX Runtime's outputs (CPU provider) against the PyTorch model's in float32."""
    from mixbench.resolve import resolve_model

    onnxruntime = require_onnxruntime("export-onnx")
    if dtype not in DTYPES:
        raise InputError(f"--dtype {dtype!r}: ONNX export supports {', '.join(DTYPES)}")
    resolved = resolve_model(spec, weights=weights, pretrained=pretrained, index_path=index_path)
    torch_dtype = DTYPES[dtype]
    size = image_size or resolved.preprocessing.image_size
    model, weights_name = weights_for(resolved, size)
    cpu = torch.device("cpu")
    implementation = Implementation("native", optimize=optimized, ort=True)
    module, source = export_source(
        resolved, implementation, model, device=cpu, dtype=torch_dtype, image_size=size
    )
    key = ExportKey(
        model=resolved.name,
        source=source,
        weights=weights_name,
        batch=None if dynamic_batch else batch,
        image_size=size,
        dtype=dtype,
        opset=opset,
        exporter=exporter or default_exporter(),
        target="cpu",
        form=graph_form(source),
    )
    if out is None:
        out = Path(key.filename.rsplit("-", 1)[0] + ".onnx")
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, size, size, generator=generator)
    export_model(
        module,
        out,
        images.to(torch_dtype),
        opset=opset,
        exporter=key.exporter,
        dynamic_batch=dynamic_batch,
        metadata=_metadata(resolved, key),
    )
    session = open_session(out, [(CPU_PROVIDER, {})], onnxruntime)
    feed = {session.get_inputs()[0].name: images.to(torch_dtype).numpy()}
    (got,) = session.run([session.get_outputs()[0].name], feed)
    with torch.no_grad():
        want = model(images)
    tolerance = TOLERANCES["float16" if torch_dtype == torch.float16 else "float32"]
    check = check_outputs(
        torch.from_numpy(got),
        want,
        tolerance=tolerance,
        reference=f"{resolved.name} (PyTorch, float32, not optimised)",
    )
    data = out.read_bytes()
    return OnnxExport(
        path=out,
        key=key,
        check=check,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        check_batch=batch,
        input_name=session.get_inputs()[0].name,
        output_name=session.get_outputs()[0].name,
    )
