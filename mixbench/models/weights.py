"""Weights: reading checkpoints (local files, the Hugging Face cache), the timm ↔ native key
mapping, and loading a state dict into a model.

The key mapping is the MixNet family's: the model registry (:mod:`~mixbench.models.registry`)
records it with the family, and :func:`~mixbench.models.factory.create_model` reads checkpoints
through it. timm's and mixbench's MixNet keys are identical except for grouped 1×1 convolutions
(MixNet's "a1.1"/"p1.1" splits):

* timm builds them as one conv per group (a ``MixedConv2d`` of 1×1 kernels), keys
  ``<block>.conv_pw.<i>.weight`` of shape ``[out/g, in/g, 1, 1]`` for ``i = 0 .. g-1``;
* mixbench uses a single ``nn.Conv2d(groups=g)``, key ``<block>.conv_pw.weight`` of shape
  ``[out, in/g, 1, 1]``.

Group ``i`` of a grouped conv produces output rows ``i*out/g .. (i+1)*out/g - 1`` from input
channels ``i*in/g ..``, exactly what timm's i-th conv does on the i-th split, so:

* timm → native: ``native[p + ".weight"] = torch.cat([timm[p + ".0.weight"], ...], dim=0)``
* native → timm: ``timm[p + f".{i}.weight"] = native[p + ".weight"].chunk(g, dim=0)[i]``

for ``p`` any ``…conv_pw`` (expansion; or the projection of the expansion-free first block) or
``…conv_pwl`` (projection). timm → native needs only the keys; native → timm needs ``g``,
taken from a model or a config.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mixbench.errors import InputError, brief_error
from mixbench.hub import hub_offline_requested, hub_unreachable
from mixbench.io import exists
from mixbench.models.base import KeyMap

#: Wrappers a training checkpoint may put the weights under, in timm's order of preference
#: (EMA weights first: they are the ones evaluated).
WRAPPER_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model")
#: Prefixes added by DistributedDataParallel and torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
HUB_FILENAMES = ("model.safetensors", "pytorch_model.bin")
#: A pickled global that torch's weights-only unpickler refuses (torch >= 2.4 and older wordings).
_REFUSED_GLOBAL = re.compile(
    r"GLOBAL (?P<name>\S+) was not an allowed global|GLOBAL (?P<blocked>\S+) whose module"
    r"|Unsupported class (?P<old>\S+)"
)
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
RESAVE_HINT = (
    "only if you trust its source: load it with torch.load(PATH, weights_only=False) and save "
    "just the state dict: safetensors.torch.save_file(state_dict, 'model.safetensors')"
)


# ------------------------------------------------------------------------------ reading


def read_checkpoint(
    path: str | os.PathLike[str], *, key_map: KeyMap | None = None
) -> dict[str, torch.Tensor]:
    """The state dict in a ``.safetensors`` or PyTorch file, unwrapped, prefix-free and mapped
    by ``key_map`` (default: none; a family passes its own, e.g. MixNet's timm → native;
    ``None``: the keys as stored).

    PyTorch files go through ``torch.load(weights_only=True)``: tensors and plain containers
    only, never arbitrary pickled objects. Whatever the bytes, the only error is an
    :class:`InputError` naming the file.
    """
    path = Path(path)
    if not exists(path):
        raise InputError(f"{path}: no such weights file", hint="check the path passed as weights")
    if path.is_dir():
        raise InputError(
            f"{path}: is a directory, not a weights file",
            hint="pass the checkpoint file itself, e.g. DIR/model.safetensors",
        )
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
    state = extract_state_dict(raw, str(path), key_map=key_map)
    refuse_non_finite(state, str(path))
    return state


def refuse_non_finite(state: dict[str, torch.Tensor], source: str) -> None:
    """A checkpoint with NaN or infinite values would score, measure and be stored as if it
    were a model: named (the first such tensor, and how many) and refused instead."""
    for name, tensor in state.items():
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            kinds = [
                kind
                for kind, present in (
                    ("NaN", bool(torch.isnan(tensor).any())),
                    ("infinite", bool(torch.isinf(tensor).any())),
                )
                if present
            ]
            raise InputError(
                f"{source}: tensor {name} has {bad:,} {' and '.join(kinds)} value(s) of "
                f"{tensor.numel():,}: these weights cannot give a measurement",
                hint="check the file (a diverged training run, a broken conversion)",
            )


def _load_safetensors(path: Path) -> Any:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as err:  # malformed bytes surface as many types: all mean a bad file
        raise _unreadable(path, "safetensors file", err) from None


def _load_torch(path: Path) -> Any:
    try:
        with warnings.catch_warnings():
            # Random bytes read as a pickle header give "Detected pickle protocol N" noise;
            # the failure that follows is reported on its own.
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        refused = _refused_global(err)
        if refused is None:
            raise _unreadable(path, "PyTorch checkpoint", err) from None
        raise InputError(
            f"{path}: refused: it pickles {refused}, not just tensors, so it needs arbitrary "
            "code to load; mixbench will not run it: re-save as safetensors",
            hint=RESAVE_HINT,
        ) from None
    except Exception as err:  # torch's unpickler raises IndexError, KeyError, ... on bad bytes
        raise _unreadable(path, "PyTorch checkpoint", err) from None


def _refused_global(err: pickle.UnpicklingError) -> str | None:
    """The Python object (``module.Name``) weights-only loading refused to import, if that
    was the refusal; a garbled name means a corrupt file rather than a foreign object."""
    found = _REFUSED_GLOBAL.search(str(err))
    name = next((group for group in found.groups() if group), "") if found else ""
    return name if _DOTTED_NAME.fullmatch(name) else None


def _unreadable(path: Path, kind: str, err: Exception) -> InputError:
    """The error for a file its loader failed on, saying what the bytes look like if telling."""
    head = _head(path)
    hint = "re-download or re-export it (safetensors preferred)"
    if head is None:  # unreadable: the loader's own error says why
        cause = f"({brief_error(err)})"
    elif head.startswith(b"version https://git-lfs"):
        cause = "it is a Git LFS pointer, not the file itself"
        hint = "run `git lfs pull` in its repository, or download the file itself"
    elif not head:
        cause = "the file is empty (0 bytes)"
    elif _looks_like_text(head):
        cause = "it holds text (an HTML page or error message saved as it?)"
    else:
        cause = f"({brief_error(err)})"
    separator = " " if cause.startswith("(") else ": "
    return InputError(f"{path}: not a readable {kind}{separator}{cause}", hint=hint)


def _head(path: Path, size: int = 512) -> bytes | None:
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError:
        return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:  # not just a multi-byte character cut at the end
            return False
        text = head[: err.start].decode("utf-8")
    return bool(text) and all(char.isprintable() or char in "\t\r\n" for char in text)


def extract_state_dict(
    raw: Any, source: str, *, key_map: KeyMap | None = None
) -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``model``/EMA containers, strip DDP/compile key prefixes, then map
    the keys with ``key_map`` (see :func:`read_checkpoint`)."""
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
        unusable = _unusable_tensor(value)
        if unusable:
            raise InputError(
                f"{source}: entry {key!r} is a {unusable} tensor; mixbench loads dense real ones",
                hint="re-export the checkpoint from the model's own state_dict()",
            )
        while key.startswith(WRAPPER_PREFIXES):
            key = key.split(".", 1)[1]
        state[key] = value
    if not state:
        raise InputError(f"{source}: the state dict is empty", hint=hint)
    if key_map is None:
        return state
    try:
        return key_map(state)
    except (RuntimeError, ValueError) as err:  # e.g. 0-d tensors under grouped-conv keys
        raise InputError(
            f"{source}: cannot merge the grouped 1×1 conv weights ({brief_error(err)})", hint=hint
        ) from None


def _unusable_tensor(value: torch.Tensor) -> str | None:
    """What makes ``value`` unloadable into a model parameter (sparse, meta, ...), if anything."""
    if value.layout is not torch.strided:
        return str(value.layout).removeprefix("torch.")
    if value.is_meta:
        return "meta (data-less)"
    if value.is_quantized or value.is_complex():
        return str(value.dtype).removeprefix("torch.")
    return None


def download_pretrained(hf_hub_id: str) -> Path:
    """The preset's weights from the Hugging Face cache, downloading them if allowed.

    ``model.safetensors`` is preferred, ``pytorch_model.bin`` the fallback (both as timm
    publishes them). Honours ``HF_HOME``/``HF_HUB_CACHE``/``HF_HUB_OFFLINE``. The cache is
    looked in first (published weights do not change), and the hub is only asked once a quick
    probe reaches it, so having no network fails in seconds rather than after retries.
    """
    from huggingface_hub import constants

    cached = _cached_hub_file(hf_hub_id)
    if cached is not None:
        return cached
    if hub_offline_requested():
        raise InputError(
            f"pretrained weights {hf_hub_id} are not in the Hugging Face cache at "
            f"{constants.HF_HUB_CACHE} (HF_HUB_OFFLINE is set)",
            hint=f"unset HF_HUB_OFFLINE to download them, or {_manual_download_hint(hf_hub_id)}",
        )
    problem = hub_unreachable(constants.ENDPOINT)
    if problem is not None:
        raise InputError(
            f"pretrained weights {hf_hub_id} are not in the Hugging Face cache and the "
            f"Hugging Face hub is unreachable (offline? {problem})",
            hint="set HF_HUB_OFFLINE=1 to use only the local cache without trying the hub, or "
            + _manual_download_hint(hf_hub_id),
        )
    return _download_from_hub(hf_hub_id)


def _cached_hub_file(hf_hub_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in HUB_FILENAMES:
        found = try_to_load_from_cache(hf_hub_id, filename)
        if isinstance(found, str):  # not None, nor the "known to be absent" sentinel
            return Path(found)
    return None


def _download_from_hub(hf_hub_id: str) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import EntryNotFoundError, LocalEntryNotFoundError

    failures: list[str] = []
    cache_only = False
    for filename in HUB_FILENAMES:
        try:
            return Path(hf_hub_download(hf_hub_id, filename, local_files_only=cache_only))
        except Exception as err:  # any failure means: not obtainable here, explained below
            failures.append(f"{filename}: {type(err).__name__}")
            # Only "the Hub has no such file" justifies asking the Hub again for the fallback;
            # when the Hub fails otherwise, the fallback is looked up in the cache alone
            # (huggingface_hub's retries would otherwise double the wait).
            remote_missing = isinstance(err, EntryNotFoundError) and not isinstance(
                err, LocalEntryNotFoundError
            )
            cache_only = cache_only or not remote_missing
    raise InputError(
        f"pretrained weights {hf_hub_id} are not in the Hugging Face cache and could not be "
        f"downloaded [{'; '.join(failures)}]",
        hint=f"{_manual_download_hint(hf_hub_id)}, or run online once to fill the cache",
    )


def _manual_download_hint(hf_hub_id: str) -> str:
    return (
        f"on a connected machine download https://huggingface.co/{hf_hub_id}/resolve/main/"
        f"{HUB_FILENAMES[0]} and pass it as weights=PATH (CLI: --weights PATH)"
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
    state: dict[str, torch.Tensor], *, num_classes: int, target: str, prefix: str = "classifier"
) -> dict[str, torch.Tensor]:
    """Remove the checkpoint's classifier (the keys under ``prefix``) so a new ``num_classes``
    head stays freshly initialised, with a one-line notice."""
    weight = state.get(f"{prefix}.weight")
    if weight is None:
        return state
    warnings.warn(
        f"{target}: new {num_classes}-class classifier (checkpoint has {weight.shape[0]} "
        "classes); all other weights loaded",
        UserWarning,
        stacklevel=3,
    )
    return {k: v for k, v in state.items() if not k.startswith(f"{prefix}.")}
