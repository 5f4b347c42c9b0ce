"""PyTorch eager: ``native`` (mixbench.optimize's model), ``native+noopt``, ``timm``.

Precision: ``--precision bf16|fp16`` autocasts (timm's ``--amp``); ``--dtype`` without
``--amp`` casts model and input (pure low precision). The optimised native model is cast to
the autocast dtype as well: its BN is folded, so no float32 statistics are left for autocast
to protect. The precision computed is read back from the first output's dtype, and on CUDA a
float32 row whose convolutions may use TF32 (torch's default) says ``tf32``.

Modifiers: ``+nhwc`` / ``+nchw`` (layout, overriding ``--channels-last``), ``+graphs``
(CUDA-graph replay of each input shape).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.measure.precision import ComputedPrecision, precision_of_dtype
from mixbench.runtimes.base import Request, Runtime, Session, weight_bytes
from mixbench.runtimes.subject import Subject


class PyTorchEager(Runtime):
    name = "pytorch"
    token = None
    label = "PyTorch eager"
    layouts = True
    casts = True
    modifiers: ClassVar[dict[str, str]] = {"graphs": "replay a captured CUDA graph per shape"}
    measures = frozenset({"memory", "traffic"})

    def versions(self) -> dict[str, str]:
        return {"torch": torch.__version__}

    def memory_visible(self, device: torch.device) -> bool:
        return True  # the process's RSS on a CPU, torch's allocator on a GPU

    def precisions(self, device: torch.device, implementation: Any) -> tuple[str, ...]:
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return ("fp32", "fp16")
        return ("fp32", "bf16", "fp16")

    def check_request(self, implementation: Any, precision: Any, device: torch.device) -> None:
        super().check_request(implementation, precision, device)
        if implementation.has("graphs") and device.type != "cuda":
            raise InputError(
                f"{implementation.name}: CUDA graphs need a CUDA device",
                hint="pass --device cuda, or drop --cuda-graphs / +graphs",
            )

    def build(self, subject: Subject, request: Request) -> Session:
        module, autocast_dtype = self.module(subject, request)
        return self.session(module, request, autocast_dtype, eager=module)

    # ------------------------------------------------------------------ shared with compile

    def module(self, subject: Subject, request: Request) -> tuple[nn.Module, torch.dtype | None]:
        """The module this row runs, and the dtype it autocasts to (``None``: none)."""
        precision = request.precision
        low = None if precision.name == "fp32" else precision.dtype
        autocast_dtype = None if precision.cast else low
        cast = low if precision.cast else None
        implementation = request.implementation
        if not implementation.is_timm and implementation.optimize:
            cast = cast or autocast_dtype  # folded BN: nothing left in float32 to protect
        module, _source = subject.graph(
            implementation, device=request.device, dtype=cast, channels_last=request.layout
        )
        return module, autocast_dtype

    def session(
        self,
        module: nn.Module,
        request: Request,
        autocast_dtype: torch.dtype | None,
        *,
        eager: nn.Module,
        wrap: Callable[[Callable[[], torch.Tensor]], Callable[[], torch.Tensor]] = lambda f: f,
        details: dict[str, Any] | None = None,
    ) -> Session:
        """A session over ``module`` (``wrap`` runs each call in a context, e.g. inductor's
        settings), with CUDA-graph replay when the row asks for it."""
        if request.implementation.has("graphs"):
            from mixbench.models.optimize import CudaGraphModule

            module = CudaGraphModule(module)
        device, layout = request.device, request.layout
        input_dtype = _parameter_dtype(eager)

        def prepare(images: torch.Tensor) -> torch.Tensor:
            images = images.to(device, input_dtype)
            if layout:
                images = images.contiguous(memory_format=torch.channels_last)
            return images

        def call(images: torch.Tensor) -> torch.Tensor:
            autocast = (
                torch.autocast(device.type, dtype=autocast_dtype)
                if autocast_dtype is not None
                else contextlib.nullcontext()
            )
            with torch.no_grad(), autocast:
                return module(images)

        def run(images: torch.Tensor) -> torch.Tensor:
            return wrap(lambda: call(prepare(images)))()

        def bind(images: torch.Tensor) -> Callable[[], torch.Tensor]:
            prepared = prepare(images)
            return wrap(lambda: call(prepared))

        asked = request.precision
        how = "cast" if asked.cast else ("autocast" if autocast_dtype is not None else "float32")

        def read_back(logits: torch.Tensor) -> ComputedPrecision:
            name = precision_of_dtype(logits.dtype)
            if name == "fp32" and device.type == "cuda" and tf32_convolutions(device):
                name = "tf32"  # torch's default for cuDNN convolutions: a 10-bit mantissa
            return ComputedPrecision(name, asked.name, f"{how}, output dtype read back")

        return Session(
            run=run,
            bind=bind,
            precision=ComputedPrecision(asked.name, asked.name, how, read_back=False),
            layout="channels_last" if layout else "NCHW",
            eager=eager,
            autocast_dtype=autocast_dtype,
            weight_bytes=weight_bytes(eager),
            details=details or {},
            read_back=read_back,
        )


def tf32_convolutions(device: torch.device) -> bool:
    """Whether float32 convolutions on ``device`` run in TF32: torch allows it (its default)
    and the GPU has it (Ampere, compute capability 8, and later)."""
    if not torch.backends.cudnn.allow_tf32:
        return False
    return torch.cuda.get_device_capability(device)[0] >= 8


def _parameter_dtype(module: nn.Module) -> torch.dtype:
    for parameter in module.parameters():
        return parameter.dtype
    return torch.float32
