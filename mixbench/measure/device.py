"""Which device a measurement runs on: the user's choice, checked, or the best one present."""

from __future__ import annotations

import torch

from mixbench.errors import InputError


def pick_device(requested: str | None = None) -> str:
    """``requested`` if this machine has it, else ``cuda`` when present, else ``cpu``."""
    if requested is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise InputError(
            f"--device {requested!r} is not a device", hint="use cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"--device {requested}: this machine has no CUDA GPU (or torch was built "
                "without CUDA)",
                hint="use --device cpu",
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise InputError(
                f"--device {requested}: there are only {count} CUDA devices",
                hint=f"use cuda:0 … cuda:{count - 1}",
            )
    elif device.type != "cpu":
        raise InputError(f"--device {requested}: not supported", hint="use cpu, cuda or cuda:N")
    return str(device)
