"""The precision rules every measurement shares, in one place."""

from __future__ import annotations

import torch


def default_amp_dtype(device: torch.device | str) -> torch.dtype:
    """What ``--amp`` autocasts to: float16 on GPUs (timm's validate and benchmark), bfloat16 on
    CPUs (the only half type CPU autocast supports)."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.bfloat16


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` → ``"float16"``."""
    return str(dtype).removeprefix("torch.")
