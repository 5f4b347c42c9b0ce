"""Several processes (``torchrun --nproc-per-node N -m mixbench eval ...``), one result.

Each rank evaluates every N-th pending image (no sampler padding, so no image counts twice),
and the per-image predictions are gathered on rank 0, which scores them exactly as a single
process would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    #: this context joined the process group (and so leaves it); a context made while the
    #: group already exists (an evaluation inside another) leaves it to its owner
    owns: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def shard(self, items: list[int]) -> list[int]:
        return items[self.rank :: self.world_size]

    def device(self, requested: str) -> torch.device:
        """``cuda`` means this rank's GPU under torchrun (one process per GPU)."""
        device = torch.device(requested)
        if device.type == "cuda" and device.index is None and self.enabled:
            return torch.device("cuda", self.local_rank)
        return device

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` on rank 0 (in rank order); ``[]`` on the others."""
        if not self.enabled:
            return [value]
        gathered: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(value, gathered, dst=0)
        return gathered or []


def init_distributed(device: str) -> Distributed:
    """Join the process group torchrun describes in the environment, if any.

    gloo on CPU (and for tests), NCCL on GPUs. A plain ``mixbench eval`` is rank 0 of 1.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if dist.is_initialized():
        return Distributed(rank, world_size, local_rank)
    on_gpu = torch.device(device).type == "cuda"
    if on_gpu:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if on_gpu else "gloo")
    return Distributed(rank, world_size, local_rank, owns=True)


def close_distributed(context: Distributed) -> None:
    if context.owns and dist.is_initialized():
        dist.destroy_process_group()
