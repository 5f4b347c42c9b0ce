"""Lay out files the way huggingface_hub's cache stores them: the offline stand-in for the Hub."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import save_file

if TYPE_CHECKING:
    import datasets

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


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once (no network)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cache_dataset(
    cache: Path, repo_id: str, dataset: datasets.Dataset, split: str = "validation"
) -> None:
    """Lay out ``dataset`` as the ``datasets`` cache holds a hub dataset once downloaded (what
    ``load_dataset(repo_id)`` reads back offline). Written by datasets' own parquet builder,
    then moved under the repo's cache name (``repo_id`` in lower case: datasets snake-cases
    the name)."""
    import json
    import shutil

    import datasets

    scratch = cache / ".scratch"
    scratch.mkdir(parents=True)
    dataset.to_parquet(scratch / f"{split}.parquet")
    builder = datasets.load_dataset_builder(
        "parquet",
        data_files={split: str(scratch / f"{split}.parquet")},
        cache_dir=str(scratch / "cache"),
    )
    builder.download_and_prepare()
    built = Path(builder.cache_dir)
    name = repo_id.split("/")[-1]
    target = cache / repo_id.replace("/", "___") / "default" / built.parent.name / built.name
    target.mkdir(parents=True)
    info = json.loads((built / "dataset_info.json").read_text())
    info["dataset_name"] = name
    for split_info in info["splits"].values():
        split_info["dataset_name"] = name
    (target / "dataset_info.json").write_text(json.dumps(info))
    shutil.copy(built / f"parquet-{split}.arrow", target / f"{name}-{split}.arrow")
    shutil.rmtree(scratch)
