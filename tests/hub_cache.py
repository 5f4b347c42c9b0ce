"""Lay out files the way huggingface_hub's cache stores them: the offline stand-in for the Hub."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

HASH = "0123456789abcdef0123456789abcdef01234567"  # any 40-hex commit id


def cache_entry(cache: Path, repo_id: str, filename: str, state: dict[str, torch.Tensor]) -> None:
    """Lay out one file the way huggingface_hub's cache stores it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / HASH
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(HASH)
    if filename.endswith(".safetensors"):
        save_file(state, str(snapshot / filename))
    else:
        torch.save(state, snapshot / filename)
