"""``torch.compile``: ``native+compile``, ``timm+compile``, the PyTorch eager module compiled
by inductor with freezing (weights become constants of the graph, so convolutions get
pre-packed weights and BN is folded into them: inference only, under ``no_grad``).

``--compile-mode`` picks torch.compile's mode; every mode runs with freezing. A fixed-batch
session compiles at build time (the compile seconds are recorded); an evaluation session
compiles at its first batch, and again for a shorter last batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from mixbench.errors import InputError
from mixbench.runtimes.base import Request, Session
from mixbench.runtimes.constants import COMPILE_MODES
from mixbench.runtimes.pytorch import PyTorchEager
from mixbench.runtimes.subject import Subject


def compile_options(mode: str = "default") -> dict[str, Any]:
    """The inductor settings of ``+compile``: those of ``torch.compile``'s ``mode`` and
    ``freezing``."""
    if mode not in COMPILE_MODES:
        raise InputError(
            f"--compile-mode {mode!r} is not a torch.compile mode",
            hint=f"use {', '.join(COMPILE_MODES)}",
        )
    from torch._inductor import list_mode_options

    return {**list_mode_options(mode), "freezing": True}


class TorchCompile(PyTorchEager):
    name = "compile"
    token = "compile"
    label = "torch.compile (inductor)"
    measures = frozenset({"memory"})  # fused kernels: an eager count would overstate traffic
    modifiers: ClassVar[dict[str, str]] = PyTorchEager.modifiers

    def build(self, subject: Subject, request: Request) -> Session:
        options = compile_options(request.compile_mode)  # a bad mode before compiling
        eager, autocast_dtype = self.module(subject, request)
        compiled = torch.compile(eager)
        import torch._inductor.config as inductor_config

        details: dict[str, Any] = {
            "compiler": "inductor",
            "options": options,
            "mode": request.compile_mode,
        }
        session = self.session(compiled, request, autocast_dtype, eager=eager, details=details)
        run, bind = session.run, session.bind

        def run_compiling(images: torch.Tensor) -> torch.Tensor:
            # an evaluation's shorter last batch recompiles: under the same settings
            with inductor_config.patch(options):
                return run(images)

        def bind_compiled(images: torch.Tensor) -> Callable[[], torch.Tensor]:
            step = bind(images)
            started = time.perf_counter()
            with inductor_config.patch(options):
                step()  # the first call compiles; later calls reuse the graph, unpatched
            if request.device.type == "cuda":
                torch.cuda.synchronize(request.device)
            details["compile_seconds"] = time.perf_counter() - started
            return step

        session.run = run_compiling
        session.bind = bind_compiled
        return session

    def notes(self, rows: Sequence[Any]) -> list[str]:
        if not rows:
            return []
        details = rows[0].details
        options = ", ".join(
            f"{key}={value}" for key, value in details["options"].items() if key != "freezing"
        )
        seconds = ", ".join(
            f"{r.implementation} {r.details.get('compile_seconds', 0):.0f} s" for r in rows
        )
        return [
            f"+compile: torch.compile, inductor, mode {details['mode']}, freezing"
            + (f" ({options})" if options else "")
            + f", under no_grad; compiled in {seconds}"
        ]
