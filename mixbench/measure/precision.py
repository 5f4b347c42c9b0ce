"""The precision rules every measurement shares, in one place.

Precision is one axis of every measurement: ``fp32``, ``bf16`` or ``fp16`` is *asked* for the
same way of every runtime (``--precision``), and each row records the precision it *computed*
in, read back from the runtime where it can be (:class:`ComputedPrecision`). Outputs are held
to timm's eager float32 logits with a bound per computed precision (:data:`TOLERANCES`).

>>> parse_precisions("fp32,bf16")
(PrecisionRequest(name='fp32', cast=False), PrecisionRequest(name='bf16', cast=False))
>>> TOLERANCES["bf16"]
0.06
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from mixbench.errors import InputError

#: What ``--precision`` takes, in the order tables show them.
PRECISIONS = ("fp32", "bf16", "fp16")
#: Every precision a row may report computing in: TF32 is what CUDA convolutions do with
#: float32 by default (a 10-bit mantissa), so it is reported, never passed off as fp32.
COMPUTED = ("fp32", "tf32", "bf16", "fp16")
TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
#: Other spellings people use (torch's dtype names, OpenVINO's element types).
_SPELLINGS = {
    "float32": "fp32",
    "f32": "fp32",
    "float": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16",
    "f16": "fp16",
    "half": "fp16",
}

#: Max relative difference ``max|a - b| / max|b|`` of a row's logits from timm's eager float32
#: logits on the same weights and batch, per computed precision. float32: reordered sums only.
#: The others are about 16–20× their format's unit roundoff (TF32 and float16 2^-11, bfloat16
#: 2^-8): measured on mixnet_s and mixnet_xl with seeded weights, bfloat16 autocast and
#: OpenVINO bf16 land at 1.2–2.0e-2 and float16 at 1.1–1.4e-3, while a wrong layer (a
#: mis-mapped weight, a dropped bias) moves the logits by 1e-1 or more.
TOLERANCES = {"fp32": 1e-4, "tf32": 1e-2, "fp16": 1e-2, "bf16": 6e-2}


def canonical_precision(text: str) -> str:
    """``"bfloat16"`` → ``"bf16"``; an unknown name is bad input."""
    name = _SPELLINGS.get(text.strip().lower(), text.strip().lower())
    if name not in PRECISIONS:
        raise InputError(
            f"--precision {text.strip()!r} is not a precision",
            hint=f"use {', '.join(PRECISIONS)} (or a comma list of them)",
        )
    return name


@dataclass(frozen=True)
class PrecisionRequest:
    """The precision a run asks of every runtime.

    ``cast`` (PyTorch only): cast model and input to the dtype, instead of autocasting (which
    keeps a few ops, and the weights' master copy, in float32)."""

    name: str = "fp32"
    cast: bool = False

    @property
    def dtype(self) -> torch.dtype:
        return TORCH_DTYPES[self.name]

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.name, "cast": self.cast}


def parse_precisions(text: str | None, *, cast: bool = False) -> tuple[PrecisionRequest, ...]:
    """``"fp32,bf16"`` → requests, in the order given (default: fp32)."""
    if not text or not text.strip():
        return (PrecisionRequest("fp32", cast),)
    names = [canonical_precision(part) for part in text.split(",") if part.strip()]
    if not names:
        raise InputError(f"--precision {text!r} names no precision", hint="e.g. --precision bf16")
    return tuple(PrecisionRequest(name, cast) for name in dict.fromkeys(names))


def legacy_precision(
    amp: bool, dtype: str | None, device: torch.device | str
) -> PrecisionRequest | None:
    """The request behind the older ``--amp`` / ``--dtype`` flags (timm's benchmark.py
    spelling), ``None`` when neither is given: ``--amp`` autocasts to float16 on GPUs and
    bfloat16 on CPUs, or to ``--dtype``; ``--dtype`` alone casts (pure low precision)."""
    if amp:
        name = canonical_precision(dtype) if dtype else _name(default_amp_dtype(device))
        return PrecisionRequest(name, cast=False)
    if dtype:
        return PrecisionRequest(canonical_precision(dtype), cast=True)
    return None


@dataclass(frozen=True)
class ComputedPrecision:
    """What a row really computed in, and how that is known.

    ``read_back``: taken from the runtime after it was built (OpenVINO's compiled-model
    property, the dtype PyTorch's last layer produced, the ONNX file's element type); otherwise
    declared by how the row was built."""

    name: str  # one of COMPUTED
    asked: str  # one of PRECISIONS
    how: str  # "autocast", "cast", "INFERENCE_PRECISION_HINT read back", ...
    read_back: bool = True

    @property
    def lowered(self) -> bool:
        """The runtime computed in something other than what was asked."""
        return self.name != self.asked

    @property
    def label(self) -> str:
        """``bf16``, or ``bf16 (asked fp32)`` when the runtime changed it."""
        return f"{self.name} (asked {self.asked})" if self.lowered else self.name

    @property
    def bound(self) -> str:
        """The precision whose bound the outputs are held to: the looser of the computed and
        the asked one. Asked fp16 and computed fp32 still means weights rounded to fp16
        (OpenVINO's f16 IR on a CPU without f16 arithmetic); asked fp32 and computed bf16 is
        held to bf16 and shown lowered."""
        return max((self.name, self.asked), key=TOLERANCES.__getitem__)

    @property
    def tolerance(self) -> float:
        return TOLERANCES[self.bound]

    def to_dict(self) -> dict[str, Any]:
        return {
            "computed": self.name,
            "asked": self.asked,
            "how": self.how,
            "read_back": self.read_back,
        }


def precision_of_dtype(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` → ``"bf16"``; other dtypes (float64 ...) by their torch name."""
    for name, known in TORCH_DTYPES.items():
        if known == dtype:
            return name
    return dtype_name(dtype)


def _name(dtype: torch.dtype) -> str:
    return precision_of_dtype(dtype)


def default_amp_dtype(device: torch.device | str) -> torch.dtype:
    """What ``--amp`` autocasts to: float16 on GPUs (timm's validate and benchmark), bfloat16 on
    CPUs (the half type CPUs have fast kernels for)."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.bfloat16


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` → ``"float16"``."""
    return str(dtype).removeprefix("torch.")


@contextlib.contextmanager
def exact_float32() -> Iterator[None]:
    """No TF32 inside (torch allows it in cuDNN convolutions by default): for a reference that
    is called float32 and must be."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
