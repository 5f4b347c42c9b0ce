"""What a measurement ran on: software versions, CPU, GPU, driver, and the source commit.

Recorded with every run so that two numbers can be compared knowing what differed. Nothing here
may fail a run: an unknown field is left out (or "unknown"), never an exception.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import torch

from mixbench import __version__
from mixbench.errors import InputError

# Probes (git, nvidia-smi) must not hold up a run; a slow one is treated as absent.
PROBE_TIMEOUT_S = 5.0
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def collect_environment(device: str | torch.device | None = None) -> dict[str, str]:
    """Versions and hardware as text; the CUDA, cuDNN and GPU fields only when ``device`` is a
    CUDA device (or, with no device given, when CUDA is available): on a CPU the versions a
    torch build was linked with say nothing of the run (``torch`` names the build)."""
    environment = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": str(os.cpu_count() or "unknown"),
        "cpu_usable": str(usable_cpu_count()),
        "torch_threads": str(torch.get_num_threads()),
        "torch": torch.__version__,
        "torchvision": _package_version("torchvision"),
        "timm": _package_version("timm"),
        "mixbench": __version__,
    }
    target = _as_device(device) if device is not None else None
    on_gpu = target.type == "cuda" if target else _cuda_available()
    if on_gpu and torch.version.cuda:
        environment["cuda"] = torch.version.cuda
    cudnn = cudnn_version() if on_gpu else None
    if cudnn:
        environment["cudnn"] = cudnn
    if on_gpu and _cuda_available():
        index = _cuda_index(target)
        environment["gpu"] = _gpu_name(index)
        environment["gpu_count"] = str(torch.cuda.device_count())
        driver = nvidia_driver_version()
        if driver:
            environment["driver"] = driver
    return environment


def device_label(device: str | torch.device | None = None) -> str:
    """``"cpu (Intel Xeon ..., 2 cores)"`` or ``"cuda:0 (NVIDIA H100 80GB HBM3)"``."""
    target = _as_device(device) if device is not None else torch.device("cpu")
    if target.type == "cpu":
        return f"cpu ({cpu_name()}, {usable_cpu_count()} cores)"
    if target.type == "cuda":
        if not _cuda_available():
            return f"{target} (CUDA unavailable)"
        index = _cuda_index(target)
        return f"cuda:{index} ({_gpu_name(index)})"
    return str(target)


def git_sha() -> str | None:
    """The commit of the mixbench source tree, ``-dirty`` when tracked files have changed;
    None for an installed package or whenever git cannot tell."""
    toplevel = _git("rev-parse", "--show-toplevel")
    # An installed mixbench may sit inside some other repository (a venv in a project);
    # only a checkout whose root holds this package is ours.
    if toplevel is None or Path(toplevel).resolve() != SOURCE_ROOT:
        return None
    sha = _git("rev-parse", "HEAD")
    if sha is None:
        return None
    changes = _git("status", "--porcelain", "--untracked-files=no")
    if changes is None:
        return None
    return f"{sha}-dirty" if changes else sha


def usable_cpu_count() -> int:
    """CPUs this process may run on (a container or taskset can allow fewer than exist)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cudnn_version() -> str | None:
    """cuDNN as ``9.2.6``: torch reports one integer, whose layout changed with cuDNN 9."""
    try:
        number = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    except Exception:
        return None
    if not number:
        return None
    major, rest = divmod(number, 10000) if number >= 90000 else divmod(number, 1000)
    return f"{major}.{rest // 100}.{rest % 100}"


def nvidia_driver_version() -> str | None:
    """The NVIDIA driver version from nvidia-smi, None when there is no nvidia-smi."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    output = _run([executable, "--query-gpu=driver_version", "--format=csv,noheader"])
    return output.splitlines()[0].strip() if output else None


# ------------------------------------------------------------------------------ internals


def _as_device(device: str | torch.device) -> torch.device:
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InputError(
            f"unknown device {device!r}", hint="use cpu, cuda, cuda:N or mps"
        ) from error


def _cuda_available() -> bool:
    try:
        return torch.cuda.is_available()
    except Exception:
        return False


def _cuda_index(device: torch.device | None) -> int:
    if device is not None and device.index is not None:
        return device.index
    return torch.cuda.current_device()


def _gpu_name(index: int) -> str:
    try:
        return torch.cuda.get_device_name(index)
    except Exception:
        return "unknown GPU"


@lru_cache(maxsize=1)
def cpu_name() -> str:
    """The marketing name: /proc/cpuinfo on Linux, sysctl on macOS, else what platform says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        try:
            for line in cpuinfo.read_text(errors="replace").splitlines():
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return _without_trademarks(value)
        except OSError:
            pass
    if sys.platform == "darwin":
        brand = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if brand:
            return _without_trademarks(brand)
    return platform.processor() or platform.machine() or "unknown CPU"


def _without_trademarks(name: str) -> str:
    """'Intel(R) Xeon(R) Processor' → 'Intel Xeon Processor': shorter labels, same CPU."""
    for mark in ("(R)", "(r)", "(TM)", "(tm)"):
        name = name.replace(mark, "")
    return " ".join(name.split())


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*arguments: str) -> str | None:
    if shutil.which("git") is None:
        return None
    # GIT_OPTIONAL_LOCKS=0: `git status` would otherwise refresh the index and take its lock,
    # which can trip a git command the user runs at the same moment.
    return _run(
        ["git", "-C", str(SOURCE_ROOT), *arguments],
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    )


def _run(command: list[str], env: dict[str, str] | None = None) -> str | None:
    """stdout of a probe command, or None if it is missing, fails or hangs."""
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=env,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.strip()
