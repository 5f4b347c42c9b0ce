"""Benchmark: what must answer at once, timed (never in the tests: these machines are noisy).

* FLOPs counting of mixnet_xl under ``thop_2021`` at 224×285 (target < 2 s; about 0.1 s).
* ``--pretrained`` with the hub unreachable: the one-line error, not huggingface_hub's retries
  (target < 5 s), in a fresh process as a user meets it.

Usage: ``python benchmarks/responsiveness.py [--repeats 5] [--out reports]``; writes
``responsiveness-cpu.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"flops counting, mixnet_xl 224×285": 2.0, "pretrained, hub unreachable": 5.0}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def time_counting(repeats: int) -> list[float]:
    import mixbench
    from mixbench.measure.conventions import THOP_2021

    model = mixbench.create_model("mixnet_xl")
    THOP_2021.count(model, (224, 224))  # one-off imports
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        THOP_2021.count(model, (224, 285))
        times.append(time.perf_counter() - started)
    return times


def time_unreachable_hub(repeats: int, scratch: Path) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_HOME=str(scratch / "hf"), HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}")
    code = (
        "import time\n"
        "from mixbench.errors import InputError\n"
        "from mixbench.models.weights import download_pretrained\n"
        "started = time.perf_counter()\n"
        "try:\n"
        "    download_pretrained('timm/mixnet_m.ft_in1k')\n"
        "except InputError:\n"
        "    print(time.perf_counter() - started)\n"
    )
    times = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip()))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        measured = {
            "flops counting, mixnet_xl 224×285": time_counting(args.repeats),
            "pretrained, hub unreachable": time_unreachable_hub(args.repeats, Path(scratch)),
        }
    import torch

    lines = [
        "# Responsiveness (CPU)",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}; median of {args.repeats}.",
        "",
        "| what | median s | max s | target s | met |",
        "|---|---:|---:|---:|---|",
    ]
    for what, times in measured.items():
        median = statistics.median(times)
        met = "yes" if median < TARGETS[what] else "**no**"
        lines.append(f"| {what} | {median:.3f} | {max(times):.3f} | < {TARGETS[what]:g} | {met} |")
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "responsiveness-cpu.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
