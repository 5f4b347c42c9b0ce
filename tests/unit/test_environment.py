"""The environment recorded with each run: complete on this machine, and never failing on one
without a GPU, nvidia-smi or git (the GPU paths run against a faked torch.cuda)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

import mixbench.environment as environment
from mixbench import __version__
from mixbench.environment import (
    collect_environment,
    cudnn_version,
    device_label,
    git_sha,
    nvidia_driver_version,
)
from mixbench.errors import InputError

H100 = "NVIDIA H100 80GB HBM3"


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Two H100s and an nvidia-smi that reports driver 550.54.15; returns the commands run."""
    commands: list[list[str]] = []

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="550.54.15\n550.54.15\n")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: f"{H100} #{index}")
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", fake_run)
    return commands


def test_cpu_environment_is_complete_text(no_cuda: None) -> None:
    found = collect_environment("cpu")
    for key in ("python", "platform", "cpu", "cpu_count", "torch", "torchvision", "timm"):
        assert found[key] and found[key] != "unknown", key
    assert found["mixbench"] == __version__
    assert found["torch"] == torch.__version__
    assert all(isinstance(value, str) for value in found.values())
    assert "gpu" not in found and "driver" not in found
    # a CUDA build's linked CUDA and cuDNN say nothing of a CPU run (torch names the build)
    assert "cuda" not in found and "cudnn" not in found
    assert collect_environment() == found  # no device: CPU here


def test_cpu_label_names_the_model_and_cores() -> None:
    label = device_label("cpu")
    assert label.startswith("cpu (") and label.endswith(" cores)")
    assert "(R)" not in label
    assert device_label(torch.device("cpu")) == label == device_label(None)


def test_gpu_label_and_environment(fake_gpu: list[list[str]]) -> None:
    assert device_label("cuda") == f"cuda:0 ({H100} #0)"
    assert device_label(torch.device("cuda", 1)) == f"cuda:1 ({H100} #1)"
    found = collect_environment("cuda:1")
    assert found["gpu"] == f"{H100} #1" and found["gpu_count"] == "2"
    assert found["driver"] == "550.54.15"
    assert fake_gpu[-1][0].endswith("nvidia-smi")
    assert "gpu" not in collect_environment("cpu")  # a CPU run does not claim a GPU
    assert "cuda" not in collect_environment("cpu")
    assert "gpu" in collect_environment()  # no device named: the GPU torch would use


def test_cuda_requested_without_cuda_does_not_fail(no_cuda: None) -> None:
    assert device_label("cuda:0") == "cuda:0 (CUDA unavailable)"
    assert "gpu" not in collect_environment("cuda")


def test_gpu_name_failure_is_not_fatal(
    fake_gpu: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(index: int | None = None) -> str:
        raise RuntimeError("CUDA error: invalid device ordinal")

    monkeypatch.setattr(torch.cuda, "get_device_name", broken)
    assert device_label("cuda:7") == "cuda:7 (unknown GPU)"


@pytest.mark.parametrize(
    "outcome",
    ["missing", "fails", "hangs", "cannot start"],
)
def test_driver_version_absent_is_none(monkeypatch: pytest.MonkeyPatch, outcome: str) -> None:
    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        if outcome == "hangs":
            raise subprocess.TimeoutExpired(command, 5)
        if outcome == "cannot start":
            raise PermissionError(13, "Permission denied")
        return subprocess.CompletedProcess(command, 9, stdout="", stderr="NVIDIA-SMI has failed")

    found = None if outcome == "missing" else "/usr/bin/nvidia-smi"
    monkeypatch.setattr(shutil, "which", lambda name: found)
    monkeypatch.setattr(subprocess, "run", fake_run)
    assert nvidia_driver_version() is None


@pytest.mark.parametrize(
    ("number", "text"),
    [(8902, "8.9.2"), (90100, "9.1.0"), (92600, "9.26.0"), (None, None)],
)
def test_cudnn_version_text(
    monkeypatch: pytest.MonkeyPatch, number: int | None, text: str | None
) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: number)
    assert cudnn_version() == text


def test_unknown_device_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown device 'gpu0'"):
        device_label("gpu0")


# ------------------------------------------------------------------------------ git

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *arguments: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    command = ["git", *identity, "-C", str(root), *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit, standing in for the mixbench source tree."""
    root = tmp_path / "repo"
    (root / "mixbench").mkdir(parents=True)
    (root / "mixbench" / "__init__.py").write_text("")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    monkeypatch.setattr(environment, "SOURCE_ROOT", root.resolve())
    return root


@needs_git
def test_git_sha_of_a_clean_checkout(checkout: Path) -> None:
    assert git_sha() == git(checkout, "rev-parse", "HEAD")


@needs_git
def test_git_sha_dirty_only_for_tracked_changes(checkout: Path) -> None:
    head = git(checkout, "rev-parse", "HEAD")
    (checkout / "notes.txt").write_text("untracked")
    assert git_sha() == head
    (checkout / "mixbench" / "__init__.py").write_text("x = 1\n")
    assert git_sha() == f"{head}-dirty"


@needs_git
def test_git_sha_none_outside_our_checkout(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # installed inside someone else's repository (a venv in a project): not our commit
    monkeypatch.setattr(environment, "SOURCE_ROOT", (checkout / "mixbench").resolve())
    assert git_sha() is None
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.setattr(environment, "SOURCE_ROOT", outside.resolve())
    assert git_sha() is None


def test_git_sha_none_without_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert git_sha() is None


@needs_git
def test_git_sha_of_this_checkout_when_there_is_one() -> None:
    sha = git_sha()
    if sha is not None:  # a source checkout (not an sdist or wheel install)
        assert len(sha.removesuffix("-dirty")) == 40
