"""The implementations a speed measurement compares, each made ready to run one fixed batch.

An implementation is named ``BASE[+MODIFIER...]``:

* ``native``: our MixNet, through :func:`mixbench.optimize` (BN folded, MixConv merged ...);
* ``timm``: ``timm.create_model`` of the same name, as timm runs it;
* modifiers: ``+compile`` (``torch.compile``), ``+graphs`` (CUDA-graph replay), ``+nhwc`` /
  ``+nchw`` (layout, overriding ``--channels-last``), ``+noopt`` (native without optimize).

Precision follows timm's ``benchmark.py``: ``amp`` runs under ``torch.autocast`` (float16 on
GPUs, bfloat16 on CPUs, or ``dtype``); ``dtype`` without ``amp`` casts model and input (pure
low precision). The optimised native model is cast to the autocast dtype as well: its BN is
folded, so no fp32 statistics are left for autocast to protect.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.resolve import ResolvedModel

BASES = ("native", "timm")
MODIFIERS = ("compile", "graphs", "nhwc", "nchw", "noopt")
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


@dataclass(frozen=True)
class Implementation:
    base: str
    compile: bool = False
    cuda_graphs: bool = False
    channels_last: bool | None = None  # None: the run's --channels-last
    optimize: bool = True  # native only

    @property
    def name(self) -> str:
        parts = [self.base]
        if self.base == "native" and not self.optimize:
            parts.append("noopt")
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
                hint=f"use {' or '.join(BASES)}, with optional +{', +'.join(MODIFIERS)}",
            )
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
        layout = True if "nhwc" in modifiers else False if "nchw" in modifiers else None
        implementation = Implementation(
            base=base,
            compile=compile or "compile" in modifiers,
            cuda_graphs=cuda_graphs or "graphs" in modifiers,
            channels_last=layout,
            optimize=optimize and "noopt" not in modifiers,
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
            return f"amp {_dtype_name(autocast)}"
        return _dtype_name(self.dtype or torch.float32)


@dataclass
class Runner:
    """One implementation of one model, on its device with its fixed input: ``step()`` runs
    one batch. ``eager`` is the module before compilation or graph capture (for counting)."""

    implementation: Implementation
    model: str
    step: Callable[[], torch.Tensor]
    eager: nn.Module
    images: torch.Tensor
    precision: str
    channels_last: bool
    weight_bytes: int
    autocast_dtype: torch.dtype | None

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
) -> Runner:
    """``resolved``'s model as ``implementation`` runs it, with a random input batch."""
    device = torch.device(device)
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
    if implementation.compile:
        module = torch.compile(module)
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
    )


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


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
