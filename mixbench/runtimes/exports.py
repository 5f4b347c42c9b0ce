"""The export cache every runtime shares: ONNX files and OpenVINO IR alike.

* **Export**: the real ``torch.onnx.export`` — torch's default ``torch.export``-based exporter
  when ``onnxscript`` is installed (it is in the ``onnx`` extra), else the TorchScript one —
  into one self-contained ``.onnx`` file, checked with ``onnx.checker`` (ONNX Runtime reads it,
  TensorRT builds its engines from it). OpenVINO IR is made by ``openvino.convert_model``.
* **Cache**: an export is written once per :class:`ExportKey` (model, weights, graph source
  and form, batch, image size, dtype, opset, exporter, library versions) into
  :func:`cache_dir` (``$MIXBENCH_CACHE/exports``, else ``~/.cache/mixbench/exports``); the same
  key reuses the file. The key is written beside it as JSON.
* **Metadata**: every file carries the model, its weights and the card's preprocessing, so a
  deployment can apply exactly what the card was measured with.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import io
import json
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mixbench import __version__
from mixbench.errors import InputError
from mixbench.resolve import ResolvedModel
from mixbench.runtimes.base import DEFAULT_OPSET

INPUT_NAME, OUTPUT_NAME = "images", "logits"
#: the file each format is written as (OpenVINO's weights go beside it, as ``.bin``)
SUFFIXES = {"onnx": ".onnx", "openvino": ".xml", "tensorrt": ".engine"}
#: files written beside an export under the same stem (OpenVINO's weights)
COMPANIONS = (".bin",)
EXPORTERS = ("dynamo", "torchscript")


@dataclass(frozen=True)
class ExportKey:
    """Everything an exported file depends on; equal keys name the same file."""

    model: str
    source: str  # "timm" | "native" (optimised) | "native+noopt"
    weights: str  # "sha256:<hex>" | "random-seed-N"
    batch: int | None  # None: a dynamic batch axis
    image_size: int
    dtype: str  # "float32" | "float16"
    opset: int
    exporter: str  # "dynamo" | "torchscript"
    #: the device type the model was prepared for: optimize's per-layer choices depend on it
    target: str = "cpu"
    #: how the exported graph was shaped (optimize's choices): a new form is a new file
    form: str = ""
    #: "onnx" | "openvino" (IR by openvino.convert_model) | "tensorrt" (engine of the ONNX file)
    format: str = "onnx"
    #: the architecture (family and config digest): a config named like a preset is another
    config: str = ""
    versions: tuple[tuple[str, str], ...] = field(default_factory=lambda: library_versions())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["versions"] = dict(self.versions)
        return data

    @property
    def digest(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def filename(self) -> str:
        batch = "dyn" if self.batch is None else str(self.batch)
        parts = [self.model, self.source, f"b{batch}", f"{self.image_size}px", self.dtype]
        stem = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts)
        return f"{stem}-opset{self.opset}-{self.digest}{SUFFIXES[self.format]}"


def library_versions() -> tuple[tuple[str, str], ...]:
    import timm

    found = {"torch": torch.__version__, "timm": timm.__version__, "mixbench": __version__}
    for name in ("onnxscript",):
        with contextlib.suppress(ImportError):
            found[name] = str(importlib.import_module(name).__version__)
    return tuple(sorted(found.items()))


def form_of(choices: Mapping[str, str]) -> str:
    """The ``form`` of a graph made with optimize's ``choices`` (part of the key)."""
    return ",".join(f"{key}={value}" for key, value in sorted(choices.items()))


def cache_dir() -> Path:
    """``$MIXBENCH_CACHE/exports``, else ``$XDG_CACHE_HOME/mixbench/exports``."""
    base = os.environ.get("MIXBENCH_CACHE")
    if base:
        return Path(base) / "exports"
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "mixbench" / "exports"


def cached_export(
    key: ExportKey, export: Callable[[Path], None], directory: Path | None = None
) -> tuple[Path, bool]:
    """The file for ``key`` and whether it came from the cache; ``export(path)`` writes it
    when it is not there yet (a JSON of the key is written beside it).

    ``export`` writes a temporary name in the same folder; the file (and an IR's ``.bin``
    first) is renamed into place only when it is complete, so an interrupted export, or two
    processes exporting at once, never leave a half-written file the next run would reuse."""
    folder = directory if directory is not None else cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"{folder}: cannot create the export cache: {error.strerror or error}",
            hint="set MIXBENCH_CACHE to a writable folder",
        ) from error
    path = folder / key.filename
    if path.is_file():
        return path, True
    temporary = folder / f".{path.stem}.{os.getpid()}.partial{path.suffix}"
    try:
        export(temporary)
        for companion in COMPANIONS:  # the weights before the file that names them
            if temporary.with_suffix(companion).exists():
                os.replace(temporary.with_suffix(companion), path.with_suffix(companion))
        os.replace(temporary, path)
    finally:
        for leftover in (temporary, *(temporary.with_suffix(c) for c in COMPANIONS)):
            leftover.unlink(missing_ok=True)
    path.with_suffix(".json").write_text(json.dumps(key.to_dict(), indent=1) + "\n")
    return path, False


def forget(path: Path) -> None:
    """Remove a cached export (and its key, and an IR's weights): its outputs were wrong."""
    for suffix in (path.suffix, ".json", ".bin"):
        path.with_suffix(suffix).unlink(missing_ok=True)


def default_exporter() -> str:
    """``dynamo`` (torch's default exporter: torch.export + onnxscript) when it can run here,
    else ``torchscript`` (the legacy exporter, deprecated by torch but still built in)."""
    if "dynamo" not in inspect.signature(torch.onnx.export).parameters:
        return "torchscript"
    try:
        importlib.import_module("onnxscript")
    except ImportError:
        return "torchscript"
    return "dynamo"


def export_onnx_file(
    module: nn.Module,
    path: Path,
    example: torch.Tensor,
    *,
    opset: int = DEFAULT_OPSET,
    exporter: str | None = None,
    dynamic_batch: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """``torch.onnx.export`` of ``module`` on ``example`` into one file at ``path`` (written
    beside it, then renamed over it), checked by ``onnx.checker``; returns the exporter used.

    The dynamo exporter specialises a batch of 1, so a dynamic batch axis is traced at 2.
    """
    import onnx

    exporter = exporter or default_exporter()
    if exporter not in EXPORTERS:
        raise InputError(
            f"unknown ONNX exporter {exporter!r}", hint=f"use {' or '.join(EXPORTERS)}"
        )
    if dynamic_batch and example.shape[0] == 1:
        example = torch.cat([example, example])
    options: dict[str, Any] = {
        "input_names": [INPUT_NAME],
        "output_names": [OUTPUT_NAME],
        "opset_version": opset,
    }
    if exporter == "dynamo":
        options.update(dynamo=True, external_data=False, verbose=False, optimize=True)
        if dynamic_batch:
            options["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
    else:
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            options["dynamo"] = False
        if dynamic_batch:
            options["dynamic_axes"] = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    with _written_beside(path, ".onnx") as temporary:
        # the exporters print progress and deprecation notes: keep stdout for --json -
        with (
            torch.no_grad(),
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), (example,), str(temporary), **options)
        proto = onnx.load(str(temporary))
        onnx.checker.check_model(proto)
        for name, value in (metadata or {}).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = name, value
        onnx.save(proto, str(temporary))
    return exporter


@contextlib.contextmanager
def _written_beside(path: Path, suffix: str) -> Any:
    """A temporary path in ``path``'s folder, renamed over ``path`` when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=suffix)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def metadata(resolved: ResolvedModel, key: ExportKey, **more: str) -> dict[str, str]:
    """Written into every exported file: what it is, and the preprocessing a deployment must
    apply (the card's: resize the short side to ``floor(image_size / crop_pct)``, centre crop,
    normalise with mean and std)."""
    preprocessing = resolved.preprocessing
    return {
        "mixbench.model": key.model,
        "mixbench.source": key.source,
        "mixbench.weights": key.weights,
        "mixbench.version": __version__,
        "preprocessing.image_size": str(key.image_size),  # what the file takes (--image-size)
        "preprocessing.crop_pct": str(preprocessing.crop_pct),
        "preprocessing.interpolation": preprocessing.interpolation,
        "preprocessing.mean": json.dumps(list(preprocessing.mean)),
        "preprocessing.std": json.dumps(list(preprocessing.std)),
        **more,
    }
