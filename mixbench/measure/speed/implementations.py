"""The implementations a speed measurement compares, each made ready to run one fixed batch.

An implementation is named ``BASE[+MODIFIER...]``:

* ``native``: our MixNet, through :func:`mixbench.optimize` (BN folded, MixConv merged ...);
* ``timm``: ``timm.create_model`` of the same name, as timm runs it;
* ``ort``: timm's model exported to ONNX (``torch.onnx.export``) and run by ONNX Runtime;
  ``native+ort``: the optimised native model, exported and run the same way (see
  :mod:`mixbench.measure.speed.onnx`: cached exports, providers, the output check);
* modifiers: ``+compile`` (``torch.compile``: inductor with freezing, see
  :func:`compile_options`), ``+graphs`` (CUDA-graph replay), ``+nhwc`` / ``+nchw`` (layout,
  overriding ``--channels-last``), ``+noopt`` (native without optimize), ``+trt`` (ort rows:
  ONNX Runtime's TensorRT provider). ``+compile``, ``+graphs`` and the layouts are PyTorch's:
  they do not apply to ort rows (nor do the ``--compile`` / ``--cuda-graphs`` flags).

Precision follows timm's ``benchmark.py``: ``amp`` runs under ``torch.autocast`` (float16 on
GPUs, bfloat16 on CPUs, or ``dtype``); ``dtype`` without ``amp`` casts model and input (pure
low precision). The optimised native model is cast to the autocast dtype as well: its BN is
folded, so no fp32 statistics are left for autocast to protect.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.resolve import ResolvedModel

BASES = ("native", "timm", "ort")
MODIFIERS = ("compile", "graphs", "nhwc", "nchw", "noopt", "ort", "trt")
#: PyTorch-only modifiers: an ONNX Runtime session has no torch.compile, graphs or layout.
TORCH_ONLY = ("compile", "graphs", "nhwc", "nchw")
#: ``torch.compile`` modes (``--compile-mode``); every one runs with inductor's freezing.
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs", "max-autotune", "reduce-overhead")
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass(frozen=True)
class Implementation:
    base: str
    compile: bool = False
    cuda_graphs: bool = False
    channels_last: bool | None = None  # None: the run's --channels-last
    optimize: bool = True  # native only
    ort: bool = False  # exported to ONNX, run by ONNX Runtime ("ort" is timm's, "native+ort")
    tensorrt: bool = False  # ort only: the TensorRT execution provider

    @property
    def name(self) -> str:
        parts = ["ort"] if self.ort and self.base == "timm" else [self.base]
        if self.base == "native" and not self.optimize:
            parts.append("noopt")
        if self.ort and self.base == "native":
            parts.append("ort")
        if self.tensorrt:
            parts.append("trt")
        if self.channels_last is not None:
            parts.append("nhwc" if self.channels_last else "nchw")
        if self.compile:
            parts.append("compile")
        if self.cuda_graphs:
            parts.append("graphs")
        return "+".join(parts)

    @property
    def is_timm(self) -> bool:
        return self.base == "timm"


def runs_timm_graph(implementation: str) -> bool:
    """Whether a row named ``implementation`` runs timm's own graph (eager, compiled or exported
    to ONNX Runtime as ``ort``): the baselines mixbench's paths are ranked against."""
    return implementation.split("+")[0] in ("timm", "ort")


def parse_implementations(
    text: str, *, compile: bool = False, cuda_graphs: bool = False, optimize: bool = True
) -> list[Implementation]:
    """``"native,timm+compile"`` → implementations; the flags apply to every one of them."""
    found: list[Implementation] = []
    for item in (part.strip() for part in text.split(",")):
        base, *modifiers = item.split("+")
        if base not in BASES:
            raise InputError(
                f"--impl: unknown implementation {base!r} in {text!r}",
                hint=f"use {', '.join(BASES[:-1])} or {BASES[-1]}, "
                f"with optional +{', +'.join(MODIFIERS)}",
            )
        if base == "ort":  # timm's model through ONNX Runtime; "timm+ort" says the same
            base, modifiers = "timm", ["ort", *modifiers]
        unknown = [m for m in modifiers if m not in MODIFIERS]
        if unknown:
            raise InputError(
                f"--impl: unknown modifier +{unknown[0]} in {item!r}",
                hint=f"modifiers: +{', +'.join(MODIFIERS)}",
            )
        if "nhwc" in modifiers and "nchw" in modifiers:
            raise InputError(f"--impl {item!r}: +nhwc and +nchw contradict each other")
        if "noopt" in modifiers and base != "native":
            raise InputError(f"--impl {item!r}: +noopt applies to native only")
        on_ort = "ort" in modifiers
        if "trt" in modifiers and not on_ort:
            raise InputError(
                f"--impl {item!r}: +trt is an ONNX Runtime provider",
                hint="use ort+trt or native+ort+trt",
            )
        torch_only = [m for m in modifiers if m in TORCH_ONLY]
        if on_ort and torch_only:
            raise InputError(
                f"--impl {item!r}: +{torch_only[0]} applies to PyTorch implementations, "
                "not to ONNX Runtime",
                hint="ONNX Runtime picks its own kernels and layouts; drop the modifier",
            )
        layout = True if "nhwc" in modifiers else False if "nchw" in modifiers else None
        implementation = Implementation(
            base=base,
            compile=not on_ort and (compile or "compile" in modifiers),
            cuda_graphs=not on_ort and (cuda_graphs or "graphs" in modifiers),
            channels_last=layout,
            optimize=optimize and "noopt" not in modifiers,
            ort=on_ort,
            tensorrt="trt" in modifiers,
        )
        if implementation.name in {known.name for known in found}:
            raise InputError(f"--impl: {implementation.name} is listed twice")
        found.append(implementation)
    return found


@dataclass(frozen=True)
class Precision:
    """What a run computes in: ``amp`` (autocast to ``autocast_dtype``) or a cast dtype."""

    amp: bool = False
    dtype: torch.dtype | None = None

    def autocast_dtype(self, device: torch.device) -> torch.dtype | None:
        if not self.amp:
            return None
        if self.dtype is not None:
            return self.dtype
        return torch.float16 if device.type == "cuda" else torch.bfloat16

    def cast_dtype(self, device: torch.device) -> torch.dtype | None:
        return None if self.amp else self.dtype

    def label(self, device: torch.device) -> str:
        autocast = self.autocast_dtype(device)
        if autocast is not None:
            return f"amp {dtype_name(autocast)}"
        return dtype_name(self.dtype or torch.float32)


@dataclass(frozen=True)
class OutputCheck:
    """An implementation's outputs on its input batch against a reference's: the max relative
    difference ``max|a - b| / max|b|`` (the native = timm check's metric) and its tolerance."""

    reference: str  # what was compared with: "timm (PyTorch, float32)"
    max_relative: float
    tolerance: float

    @property
    def agree(self) -> bool:
        return self.max_relative <= self.tolerance  # NaN never agrees

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "max_relative_difference": self.max_relative,
            "tolerance": self.tolerance,
            "agree": self.agree,
        }


def max_relative_difference(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.detach().float().cpu(), want.detach().float().cpu()
    if got.shape != want.shape:
        return float("inf")
    return float((got - want).abs().max() / want.abs().max().clamp_min(1e-12))


def compile_options(mode: str = "default") -> dict[str, Any]:
    """The inductor settings of ``+compile``: those of ``torch.compile``'s ``mode`` and
    ``freezing`` (weights become constants of the graph, so convolutions get pre-packed
    weights and BN is folded into them: inference only, under ``no_grad``)."""
    if mode not in COMPILE_MODES:
        raise InputError(
            f"--compile-mode {mode!r} is not a torch.compile mode",
            hint=f"use {', '.join(COMPILE_MODES)}",
        )
    from torch._inductor import list_mode_options

    return {**list_mode_options(mode), "freezing": True}


@dataclass
class Runner:
    """One implementation of one model, on its device with its fixed input: ``step()`` runs
    one batch. ``eager`` is the module before compilation or graph capture (for counting).

    ``provider``, ``check`` and ``details`` say how a row ran where it matters: the ONNX
    Runtime provider, the outputs checked before timing, compile or session settings."""

    implementation: Implementation
    model: str
    step: Callable[[], torch.Tensor]
    eager: nn.Module
    images: torch.Tensor
    precision: str
    channels_last: bool
    weight_bytes: int
    autocast_dtype: torch.dtype | None
    provider: str | None = None
    check: OutputCheck | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.implementation.name

    @property
    def layout(self) -> str:
        return "channels_last" if self.channels_last else "NCHW"

    def close(self) -> None:
        """Drop the references that keep device memory alive."""
        self.step = _closed
        self.eager = nn.Identity()
        self.images = torch.empty(0)


def _closed() -> torch.Tensor:
    raise RuntimeError("this runner was closed")


def build_runner(
    resolved: ResolvedModel,
    implementation: Implementation,
    *,
    device: str | torch.device,
    batch_size: int,
    precision: Precision,
    channels_last: bool,
    image_size: int | None = None,
    compile_mode: str = "default",
) -> Runner:
    """``resolved``'s model as ``implementation`` runs it, with a random input batch.

    ``+compile`` compiles here, at the first call, under :func:`compile_options`;
    ``ort`` rows are exported and checked by :func:`mixbench.measure.speed.onnx.build_ort_runner`
    (``run`` picks the builder, so this module does not depend on ONNX).
    """
    device = torch.device(device)
    if implementation.ort:
        raise ValueError(
            f"{implementation.name}: ONNX Runtime rows are built by "
            "mixbench.measure.speed.onnx.build_ort_runner"
        )
    if implementation.cuda_graphs and device.type != "cuda":
        raise InputError(
            f"{implementation.name}: CUDA graphs need a CUDA device",
            hint="pass --device cuda, or drop --cuda-graphs / +graphs",
        )
    layout = channels_last if implementation.channels_last is None else implementation.channels_last
    autocast_dtype = precision.autocast_dtype(device)
    dtype = precision.cast_dtype(device)
    size = image_size or resolved.preprocessing.image_size
    if implementation.is_timm:
        module = _timm_module(resolved, device, dtype, layout)
    elif implementation.optimize:
        from mixbench.models.optimize import optimize

        module = optimize(
            resolved.model,
            device=device,
            dtype=dtype or autocast_dtype,
            channels_last=layout,
            example_input=torch.randn(1, 3, size, size),
        )
    else:
        module = _place(copy.deepcopy(resolved.model), device, dtype, layout)
    images = torch.randn(batch_size, 3, size, size, device=device, dtype=dtype or torch.float32)
    if layout:
        images = images.contiguous(memory_format=torch.channels_last)
    eager = module
    details: dict[str, Any] = {}
    if implementation.compile:
        options = compile_options(compile_mode)  # refuse a bad mode before compiling
        module = torch.compile(module)
        details = _compile_now(_step(module, images, device, autocast_dtype), device, options)
        details.update(mode=compile_mode)
    if implementation.cuda_graphs:
        from mixbench.models.optimize import CudaGraphModule

        module = CudaGraphModule(module)
    return Runner(
        implementation=implementation,
        model=resolved.name,
        step=_step(module, images, device, autocast_dtype),
        eager=eager,
        images=images,
        precision=precision.label(device),
        channels_last=layout,
        weight_bytes=sum(p.numel() * p.element_size() for p in eager.parameters()),
        autocast_dtype=autocast_dtype,
        details=details,
    )


def _compile_now(
    step: Callable[[], torch.Tensor], device: torch.device, options: dict[str, Any]
) -> dict[str, Any]:
    """The first call of a ``torch.compile``-d step compiles it: make it here, with inductor's
    config patched to ``options`` (the compiled graph keeps them; later calls reuse it)."""
    import torch._inductor.config as inductor_config

    started = time.perf_counter()
    with inductor_config.patch(options):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {
        "compiler": "inductor",
        "options": options,
        "compile_seconds": time.perf_counter() - started,
    }


def _step(
    module: nn.Module,
    images: torch.Tensor,
    device: torch.device,
    autocast_dtype: torch.dtype | None,
) -> Callable[[], torch.Tensor]:
    def step() -> torch.Tensor:
        autocast = (
            torch.autocast(device.type, dtype=autocast_dtype)
            if autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with torch.no_grad(), autocast:
            return module(images)

    return step


def _timm_module(
    resolved: ResolvedModel, device: torch.device, dtype: torch.dtype | None, layout: bool
) -> nn.Module:
    import timm

    name = resolved.card.name if resolved.card else resolved.name
    if name not in timm.list_models():
        raise InputError(
            f"timm has no model named {name!r} to compare with",
            hint="name a model that timm has (`mixbench list`), or pass --impl native",
        )
    model = timm.create_model(name, pretrained=False).eval()
    return _place(model, device, dtype, layout)


def _place(
    model: nn.Module, device: torch.device, dtype: torch.dtype | None, layout: bool
) -> nn.Module:
    model = model.to(device)
    if dtype is not None:
        model = model.to(dtype)
    if layout:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
