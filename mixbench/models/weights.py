"""Reading checkpoints (local files, the Hugging Face cache) and loading them into a model."""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.models.convert import timm_to_native

#: Wrappers a training checkpoint may put the weights under, in timm's order of preference
#: (EMA weights first: they are the ones evaluated).
WRAPPER_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model")
#: Prefixes added by DistributedDataParallel and torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
HUB_FILENAMES = ("model.safetensors", "pytorch_model.bin")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The state dict in a ``.safetensors`` or PyTorch file, unwrapped and prefix-free.

    PyTorch files go through ``torch.load(weights_only=True)``: tensors and plain containers
    only, never arbitrary pickled objects.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such weights file", hint="check the path passed as weights")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        raw = _load_safetensors(path)
    elif suffix in TORCH_SUFFIXES:
        raw = _load_torch(path)
    else:
        raise InputError(
            f"{path}: unsupported weights file type {suffix or '(no suffix)'!r}",
            hint=f"use .safetensors (preferred) or one of {', '.join(TORCH_SUFFIXES)}",
        )
    return extract_state_dict(raw, str(path))


def _load_safetensors(path: Path) -> Any:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(
            f"{path}: not a readable safetensors file ({err})",
            hint="re-download or re-export the checkpoint",
        ) from None


def _load_torch(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" in str(err):
            raise InputError(
                f"{path}: refused: the checkpoint pickles Python objects besides tensors, and "
                "loading it could run arbitrary code",
                hint="in an environment you trust, re-save just the weights: "
                "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')",
            ) from None
        raise InputError(
            f"{path}: not a readable PyTorch checkpoint", hint="re-download or re-export it"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise InputError(
            f"{path}: not a readable PyTorch checkpoint ({str(err).splitlines()[0]})",
            hint="re-download or re-export it",
        ) from None


def extract_state_dict(raw: Any, source: str) -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``model``/EMA containers and strip DDP/compile key prefixes."""
    hint = "pass a state dict, or a checkpoint dict holding one under " + "/".join(WRAPPER_KEYS)
    if not isinstance(raw, Mapping):
        raise InputError(f"{source}: holds a {type(raw).__name__}, not a state dict", hint=hint)
    for key in WRAPPER_KEYS:
        if isinstance(raw.get(key), Mapping):
            raw = raw[key]
            break
    state: dict[str, torch.Tensor] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise InputError(
                f"{source}: entry {key!r} is a {type(value).__name__}, not a tensor", hint=hint
            )
        while key.startswith(WRAPPER_PREFIXES):
            key = key.split(".", 1)[1]
        state[key] = value
    if not state:
        raise InputError(f"{source}: the state dict is empty", hint=hint)
    return timm_to_native(state)


def download_pretrained(hf_hub_id: str) -> Path:
    """The preset's weights from the Hugging Face cache, downloading them if allowed.

    ``model.safetensors`` is preferred, ``pytorch_model.bin`` the fallback (both as timm
    publishes them). Honours ``HF_HOME``/``HF_HUB_CACHE``/``HF_HUB_OFFLINE``.
    """
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.utils import EntryNotFoundError, LocalEntryNotFoundError

    failures: list[str] = []
    cache_only = False
    for filename in HUB_FILENAMES:
        try:
            return Path(hf_hub_download(hf_hub_id, filename, local_files_only=cache_only))
        except Exception as err:  # any failure means: not obtainable here, explained below
            failures.append(f"{filename}: {type(err).__name__}")
            # Only "the Hub has no such file" justifies asking the Hub again for the fallback;
            # when the Hub is unreachable, the fallback is looked up in the cache alone
            # (huggingface_hub's retries would otherwise double the wait).
            remote_missing = isinstance(err, EntryNotFoundError) and not isinstance(
                err, LocalEntryNotFoundError
            )
            cache_only = cache_only or not remote_missing
    offline = " (HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else ""
    raise InputError(
        f"pretrained weights {hf_hub_id} are not in the Hugging Face cache and could not be "
        f"downloaded{offline} [{'; '.join(failures)}]",
        hint=(
            f"on a connected machine download https://huggingface.co/{hf_hub_id}/resolve/main/"
            f"{HUB_FILENAMES[0]} and pass it as weights=PATH (CLI: --weights PATH), or run "
            f"online once to fill the cache"
        ),
    )


def load_state(
    model: nn.Module, state: Mapping[str, torch.Tensor], *, source: str, target: str
) -> None:
    """Load ``state`` strictly, or raise one :class:`InputError` naming the first mismatches.

    Missing ``num_batches_tracked`` buffers are tolerated (older checkpoints lack them).
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    reshaped = [
        f"{k}: checkpoint {list(state[k].shape)} vs model {list(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or reshaped:
        counts = ", ".join(
            f"{len(items)} {label}"
            for items, label in (
                (missing, "missing"),
                (unexpected, "unexpected"),
                (reshaped, "wrong shape"),
            )
            if items
        )
        first = [f"missing {k}" for k in missing[:2]] + [f"unexpected {k}" for k in unexpected[:2]]
        first += [f"shape {k}" for k in reshaped[:2]]
        raise InputError(
            f"{source} does not fit {target} ({counts}): {'; '.join(first)}",
            hint="use the preset or YAML the checkpoint was trained with "
            "(timm checkpoints: the preset of the same name)",
        )
    model.load_state_dict(state, strict=False)


def drop_classifier(
    state: dict[str, torch.Tensor], *, num_classes: int, target: str
) -> dict[str, torch.Tensor]:
    """Remove the checkpoint's classifier so a new ``num_classes`` head stays freshly
    initialised, with a one-line notice."""
    weight = state.get("classifier.weight")
    if weight is None:
        return state
    warnings.warn(
        f"{target}: new {num_classes}-class classifier (checkpoint has {weight.shape[0]} "
        "classes); all other weights loaded",
        UserWarning,
        stacklevel=3,
    )
    return {k: v for k, v in state.items() if not k.startswith("classifier.")}
