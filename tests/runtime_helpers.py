"""Building one runtime session the way a speed run does, for tests: small images (64×64),
batch 2, the seeded weights every row of a run shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mixbench.measure.precision import PrecisionRequest
from mixbench.resolve import ResolvedModel
from mixbench.runtimes import Request, Session, parse_implementation, runtime_named
from mixbench.runtimes.subject import Subject

CPU = torch.device("cpu")


def build_session(
    resolved: ResolvedModel | Subject,
    text: str,
    precision: str = "fp32",
    *,
    cast: bool = False,
    batch: int | None = 2,
    image_size: int = 64,
    **options: Any,
) -> tuple[Session, Callable[[], torch.Tensor]]:
    """(session, its bound step on the subject's seeded batch), after the first call."""
    subject = resolved if isinstance(resolved, Subject) else Subject(resolved, image_size)
    implementation = parse_implementation(text)
    runtime = runtime_named(implementation.runtime)
    request = Request(
        implementation=implementation,
        precision=PrecisionRequest(precision, cast),
        device=CPU,
        batch=batch,
        image_size=subject.image_size,
        **options,
    )
    runtime.check_request(implementation, request.precision, CPU)
    session = runtime.build(subject, request)
    step = session.bind(subject.images(batch or 2))
    session.observe(step())
    return session, step


def quick_run_args(tmp_path: Path, out: Path, *, trials: int) -> list[str]:
    """A throughput run's tail that keeps a test quick: short trials, no warm-up, on the CPU,
    storing into the test's own store, the JSON to ``out``."""
    timing = ["--trials", str(trials), "--trial-seconds", "0.02", "--warmup-seconds", "0"]
    where = ["--device", "cpu", "--db", str(tmp_path / "runs.sqlite"), "--json", str(out)]
    return [*timing, *where]
