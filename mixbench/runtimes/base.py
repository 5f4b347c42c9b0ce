"""The runtime protocol: what every runtime module implements, and the records they share.

A :class:`Runtime` takes one model's graph (timm's, or mixbench's native one) and makes it
runnable at a precision on a device: :meth:`Runtime.build` returns a :class:`Session` that runs
any batch (``session.run``, for evaluation) and binds one fixed batch for timing
(``session.bind``). Throughput, latency, eval, verify and export all go through this one door,
so a runtime is one module; :mod:`mixbench.runtimes` registers it.

An :class:`Implementation` is what a user types (``native``, ``timm+compile``, ``ort``,
``native+openvino``): which graph, which runtime, and the runtime's modifiers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import nn

from mixbench.errors import InputError, NotSupportedHere
from mixbench.measure.precision import (
    TOLERANCES,
    ComputedPrecision,
    PrecisionRequest,
)
from mixbench.runtimes.constants import DEFAULT_OPSET

if TYPE_CHECKING:
    from mixbench.runtimes.subject import Subject

Graph = Literal["native", "timm"]
#: PyTorch memory layouts, as modifiers of the PyTorch runtimes.
LAYOUTS = {"nhwc": True, "nchw": False}


@dataclass(frozen=True)
class Implementation:
    """One row's recipe: ``graph`` (timm's model, or the native MixNet, optimised unless
    ``optimize`` is off) run by the runtime named ``runtime`` with ``modifiers``.

    Made by :func:`mixbench.runtimes.registry.implementation` or the name parser, which spell
    ``name`` as users type it: ``native``, ``timm+nhwc+compile``, ``ort``,
    ``native+noopt+ort+trt``, ``openvino``, ``native+openvino``."""

    graph: Graph
    runtime: str
    optimize: bool
    modifiers: tuple[str, ...]  # the runtime's, in its declared order (nhwc, graphs, trt)
    name: str

    @property
    def is_timm(self) -> bool:
        """Runs timm's own graph (eager, compiled or through another runtime): the rows
        mixbench's paths are ranked against."""
        return self.graph == "timm"

    @property
    def channels_last(self) -> bool | None:
        """``+nhwc`` / ``+nchw``; ``None``: the run's ``--channels-last``."""
        for modifier, value in LAYOUTS.items():
            if modifier in self.modifiers:
                return value
        return None

    def has(self, modifier: str) -> bool:
        return modifier in self.modifiers

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "graph": self.graph,
            "runtime": self.runtime,
            "optimize": self.optimize,
            "modifiers": list(self.modifiers),
        }


@dataclass(frozen=True)
class Request:
    """What a session is built for: one implementation at one precision on one device."""

    implementation: Implementation
    precision: PrecisionRequest
    device: torch.device
    #: the fixed batch of a speed run; ``None``: any batch (an evaluation's last one is short)
    batch: int | None
    image_size: int
    channels_last: bool = False  # the run's default layout for PyTorch rows
    compile_mode: str = "default"
    opset: int = DEFAULT_OPSET
    cache: Path | None = None  # the export cache folder (None: exports.cache_dir())
    exporter: str | None = None  # torch.onnx's exporter (None: dynamo when it can run)

    @property
    def layout(self) -> bool:
        chosen = self.implementation.channels_last
        return self.channels_last if chosen is None else chosen


@dataclass
class Session:
    """A model made runnable by a runtime.

    ``run(images)``: logits of a float32 NCHW batch on the request's device (in the dtype the
    runtime computed them in), any batch size the session was built for. ``bind(images)``: a
    zero-argument step running that one batch, prepared once (dtype, layout, bound buffers)
    so a timed call copies nothing.
    """

    run: Callable[[torch.Tensor], torch.Tensor]
    bind: Callable[[torch.Tensor], Callable[[], torch.Tensor]]
    precision: ComputedPrecision
    layout: str = "NCHW"
    provider: str | None = None  # ONNX Runtime's provider, OpenVINO's plugin
    #: the PyTorch module a row runs eagerly (memory traffic is counted on it); else None
    eager: nn.Module | None = None
    autocast_dtype: torch.dtype | None = None
    weight_bytes: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    #: PyTorch rows learn the precision from their first output (``read_back``)
    read_back: Callable[[torch.Tensor], ComputedPrecision] | None = None
    on_close: Callable[[], None] | None = None
    #: the export-cache files behind this session (ONNX file, IR, engine): dropped when its
    #: outputs are wrong, so the next run does not reuse them
    cached_files: list[Path] = field(default_factory=list)

    def observe(self, logits: torch.Tensor) -> None:
        """Read the computed precision back from a first output, where the runtime can."""
        if self.read_back is not None:
            self.precision = self.read_back(logits)

    def close(self) -> None:
        if self.on_close is not None:
            self.on_close()
        self.run = _closed
        self.bind = _closed  # type: ignore[assignment]
        self.eager = None


def _closed(*_args: Any) -> Any:
    raise RuntimeError("this session was closed")


@dataclass(frozen=True)
class OutputCheck:
    """A row's logits on its batch against timm's eager float32 logits on the same weights:
    the max relative difference ``max|a - b| / max|b|``, the bound of the precision the row
    computed in, and on how many images the top-1 class is the same."""

    reference: str  # "timm (PyTorch eager, float32)"
    precision: str  # the computed precision whose bound applies
    max_relative: float
    tolerance: float
    top1_same: int
    images: int

    @property
    def agree(self) -> bool:
        return self.max_relative <= self.tolerance  # NaN never agrees

    @property
    def text(self) -> str:
        """``agree 1.2e-02 (bf16 ≤ 6e-02), top-1 16/16``."""
        verdict = "agree" if self.agree else "DIFFER"
        return (
            f"{verdict} {self.max_relative:.1e} ({self.precision} ≤ {self.tolerance:.0e}), "
            f"top-1 {self.top1_same}/{self.images}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "precision": self.precision,
            "max_relative_difference": self.max_relative,
            "tolerance": self.tolerance,
            "top1_same": self.top1_same,
            "images": self.images,
            "agree": self.agree,
        }


def max_relative_difference(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.detach().float().cpu(), want.detach().float().cpu()
    if got.shape != want.shape:
        return float("inf")
    return float((got - want).abs().max() / want.abs().max().clamp_min(1e-12))


def compare_outputs(
    got: torch.Tensor, want: torch.Tensor, precision: str, *, reference: str
) -> OutputCheck:
    """``got`` against the reference logits ``want``, held to ``precision``'s bound."""
    got, want = got.detach().float().cpu(), want.detach().float().cpu()
    same = int((got.argmax(1) == want.argmax(1)).sum()) if got.shape == want.shape else 0
    return OutputCheck(
        reference=reference,
        precision=precision,
        max_relative=max_relative_difference(got, want),
        tolerance=TOLERANCES[precision],
        top1_same=same,
        images=int(want.shape[0]),
    )


class Runtime:
    """One runtime. A subclass sets the class attributes and implements :meth:`build`,
    :meth:`precisions` (and, where it needs a package, :meth:`versions`); registering an
    instance in :mod:`mixbench.runtimes.registry` makes it known to every command."""

    #: registry key (``pytorch``, ``compile``, ``ort``, ``openvino``, ``tensorrt``)
    name: ClassVar[str]
    #: what users type after ``native+`` / ``timm+`` (``None``: the default, PyTorch eager)
    token: ClassVar[str | None] = None
    #: ``ort`` alone means timm's graph through ONNX Runtime
    standalone: ClassVar[bool] = False
    label: ClassVar[str]
    #: the pip extra that installs it (``pip install 'mixbench[EXTRA]'``) and the modules
    #: it needs; ``None``: a hard dependency
    extra: ClassVar[str | None] = None
    modules: ClassVar[tuple[str, ...]] = ()
    #: ``+modifier`` → what it does, in the order names print them
    modifiers: ClassVar[Mapping[str, str]] = {}
    #: whether ``+nhwc`` / ``+nchw`` (PyTorch memory layouts) apply to it
    layouts: ClassVar[bool] = False
    #: devices (torch device types) it runs on
    devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")
    #: what a speed row of it can measure: "memory" (peak), "traffic" (aten-counted bytes)
    measures: ClassVar[frozenset[str]] = frozenset({"memory"})
    #: whether ``--dtype`` without ``--amp`` (cast model and input) means something to it
    casts: ClassVar[bool] = False
    #: the file format ``mixbench export --to`` writes through it (``write``/``open``), if any
    format: ClassVar[str | None] = None
    export_precisions: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ requirements

    def require(self, what: str | None = None) -> None:
        """Raise a one-line error naming the extra when a needed package is missing."""
        for module in self.modules:
            try:
                importlib.import_module(module)
            except ImportError as error:
                missing = error.name or module
                install = (
                    f"pip install 'mixbench[{self.extra}]'"
                    if self.extra
                    else f"pip install {missing}"
                )
                raise InputError(
                    f"{what or self.token or self.name} needs {self.label} "
                    f"({missing} is not installed): {install}"
                ) from None

    def memory_visible(self, device: torch.device) -> bool:
        """Whether a row's peak memory can be measured on ``device``: the process's RSS sees
        every allocation on a CPU; on a GPU only PyTorch's own allocator is counted."""
        return "memory" in self.measures and device.type == "cpu"

    def versions(self) -> dict[str, str]:
        """The versions of what it runs on, for the environment line."""
        found = {}
        for module in self.modules:
            try:
                found[module] = str(importlib.import_module(module).__version__)
            except (ImportError, AttributeError):
                continue
        return found

    def precisions(self, device: torch.device, implementation: Implementation) -> tuple[str, ...]:
        """The precisions it can compute in on ``device`` (``--precision`` values)."""
        raise NotImplementedError

    def ignores_precision(self, implementation: Implementation) -> bool:
        """Whether this row computes in a precision of the runtime's own choosing, whatever is
        asked (it then runs once, however many precisions are asked)."""
        return False

    def check_request(
        self, implementation: Implementation, precision: PrecisionRequest, device: torch.device
    ) -> None:
        """Refuse, before anything is built, what this runtime cannot run."""
        if device.type not in self.devices:
            raise NotSupportedHere(
                f"{implementation.name}: {self.label} runs on {' or '.join(self.devices)}, "
                f"not {device}",
                hint=f"pass --device {self.devices[0]}, or drop {implementation.name}",
            )
        self.require(f"--impl {implementation.name}")
        supported = self.precisions(device, implementation)
        if precision.name not in supported:
            raise NotSupportedHere(
                f"{implementation.name}: {self.label} on {device.type} cannot compute in "
                f"{precision.name}; it supports {', '.join(supported)}",
                hint=f"pass --precision {supported[0]}, or leave {implementation.name} out",
            )
        if precision.cast and not self.casts:
            raise InputError(
                f"{implementation.name}: --dtype without --amp casts PyTorch modules; "
                f"{self.label} takes --precision {precision.name}",
                hint="pass --precision instead of --dtype",
            )

    # ------------------------------------------------------------------ building

    def build(self, subject: Subject, request: Request) -> Session:
        raise NotImplementedError

    def write(
        self, subject: Subject, request: Request, out: Path | None = None
    ) -> tuple[Path, dict[str, Any]]:
        """The deployable file of ``request`` (runtimes with a :attr:`format`)."""
        raise InputError(f"{self.label} writes no file", hint="export --to onnx or openvino")

    def open(self, path: Path, request: Request, made: dict[str, Any] | None = None) -> Session:
        """A session over a file :meth:`write` wrote."""
        raise InputError(f"{self.label} opens no file", hint="export --to onnx or openvino")

    def notes(self, rows: Sequence[Any]) -> list[str]:
        """Lines under a speed table about the rows this runtime ran (settings, versions)."""
        return []


def weight_bytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())
