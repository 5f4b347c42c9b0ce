"""``mixbench export``'s Python API: the file a user deploys, checked before it is handed over.

>>> from mixbench.deploy import ExportOptions, export_model
>>> made = export_model("mixnet_s", ExportOptions(to="openvino", precision="bf16"),
...                     out=Path("m.xml"), pretrained=True)  # doctest: +SKIP
>>> made.check.agree, made.precision.label  # doctest: +SKIP

The file is written by the runtime that opens it (:attr:`Runtime.format`: ONNX Runtime writes
``.onnx``, OpenVINO ``.xml`` + ``.bin``), with the card's preprocessing in its metadata (ONNX
``metadata_props``, OpenVINO ``rt_info``); then that runtime opens the written file and its
outputs on a seeded batch are compared with PyTorch's (timm's eager float32 model on the same
weights), held to the bound of the precision it computed in, read back.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixbench.errors import InputError
from mixbench.measure.options import IMAGE_SIZE
from mixbench.options import flag
from mixbench.runtimes.constants import DEFAULT_OPSET, EXPORT_FORMATS

if TYPE_CHECKING:
    from mixbench.measure.precision import ComputedPrecision
    from mixbench.runtimes import OutputCheck


@dataclass(frozen=True)
class ExportOptions:
    """What an export writes: the format, its precision, the graph and the file's shape (no
    torch at import: the CLI declares ``export``'s options from these fields)."""

    to: str = field(
        default="onnx",
        metadata=flag(
            "onnx (ONNX Runtime and most runtimes) or openvino (IR: .xml + .bin).",
            choices=tuple(EXPORT_FORMATS),
            show_default=True,
        ),
    )
    precision: str = field(
        default="fp32",
        metadata=flag(
            "fp32, fp16 (onnx: a float16 model; openvino: float16 weights and hint) or bf16 "
            "(openvino: the hint in the IR's runtime options).",
            show_default=True,
        ),
    )
    optimized: bool = field(
        default=False,
        metadata=flag(
            "Export mixbench.optimize's graph (BN folded, MixConv merged, in the form the "
            "target runtime runs fastest)."
        ),
    )
    batch: int = field(
        default=1,
        metadata=flag(
            "Batch of the check (and of the file, with --static-batch).",
            minimum=1,
            show_default=True,
        ),
    )
    dynamic_batch: bool = field(
        default=True,
        metadata=flag("Fix the batch axis to --batch (default: dynamic).", flag="--static-batch"),
    )
    image_size: int | None = field(default=None, metadata=IMAGE_SIZE)
    opset: int | None = field(
        default=None,
        metadata=flag(f"ONNX opset (--to onnx; default {DEFAULT_OPSET}).", kind=int, minimum=7),
    )
    exporter: str | None = field(
        default=None,
        metadata=flag(
            "torch.onnx.export's exporter (--to onnx; default: dynamo when onnxscript is "
            "installed).",
            choices=("dynamo", "torchscript"),
        ),
    )


@dataclass
class Deployable:
    """What ``mixbench export`` wrote and how its outputs compare with PyTorch's."""

    path: Path
    format: str  # "onnx" | "openvino"
    files: list[Path]
    precision: ComputedPrecision  # what the check computed in, read back
    check: OutputCheck
    check_batch: int
    key: Any  # the ExportKey the file is made of
    provider: str | None
    preprocessing: dict[str, Any]
    optimized: bool

    @property
    def agree(self) -> bool:
        return self.check.agree

    @property
    def bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for path in self.files:
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def warnings(self) -> list[str]:
        """What a user of the file must know: random weights are useless to deploy."""
        if not self.key.weights.startswith("random"):
            return []
        return [
            f"no weights given, the weights are random ({self.key.weights}); pass --weights "
            "FILE or --pretrained"
        ]

    def summary_lines(self) -> list[str]:
        """What ``export`` prints: the file written and how, then its check against PyTorch."""
        key, check = self.key, self.check
        shape = "dynamic batch" if key.batch is None else f"batch {key.batch}"
        files = " + ".join(str(path) for path in self.files)
        verdict = "agree" if check.agree else "DIFFER"
        return [
            f"wrote {files} ({self.bytes / 1e6:.1f} MB): {key.model} "
            f"({'optimised' if self.optimized else 'as built'}), {self.precision.asked}, "
            f"{shape}, {key.image_size}×{key.image_size}, opset {key.opset}, "
            f"{key.exporter} exporter; the card's preprocessing is in its metadata",
            f"outputs {verdict}: max relative difference {check.max_relative:.2e} "
            f"(bound {check.tolerance:.0e} for {self.precision.label}, "
            f"{self.precision.how}), top-1 {check.top1_same}/{check.images}, against "
            f"{check.reference}, batch {self.check_batch} on {self.provider}",
        ]

    def to_dict(self) -> dict[str, Any]:
        key = self.key.to_dict()
        return {
            "file": str(self.path),
            "files": [str(path) for path in self.files],
            "format": self.format,
            "bytes": self.bytes,
            "sha256": self.sha256(),
            "model": key["model"],
            "source": key["source"],
            "weights": key["weights"],
            "optimized": self.optimized,
            "graph_form": key["form"] or None,
            "dynamic_batch": key["batch"] is None,
            "batch": key["batch"],
            "image_size": key["image_size"],
            "opset": key["opset"],
            "exporter": key["exporter"],
            "precision": self.precision.asked,
            "precision_computed": self.precision.name,
            "precision_how": self.precision.how,
            "preprocessing": self.preprocessing,
            "check_batch": self.check_batch,
            "provider": self.provider,
            "outputs_agree": self.agree,
            "check": self.check.to_dict(),
            "versions": key["versions"],
        }


def export_model(
    spec: str,
    options: ExportOptions | None = None,
    out: Path | None = None,
    *,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    index_path: str | os.PathLike[str] | None = None,
) -> Deployable:
    """Write MODEL (native; ``optimized``: mixbench.optimize's graph in the form the target
    runtime runs fastest) as ``options.to`` at ``out`` and check it (see the module
    docstring)."""
    import torch

    from mixbench.measure.precision import PrecisionRequest, canonical_precision
    from mixbench.resolve import resolve_model
    from mixbench.runtimes import Request, compare_outputs
    from mixbench.runtimes.registry import implementation
    from mixbench.runtimes.subject import Subject

    options = options or ExportOptions()
    to, optimized, batch, opset = options.to, options.optimized, options.batch, options.opset

    runtime = export_runtime(to)
    if to != "onnx" and (opset is not None or options.exporter is not None):
        raise InputError(
            f"export --to {to}: --opset and --exporter are torch.onnx.export's; an {to} file "
            "is converted by its own runtime",
            hint="drop them, or export --to onnx",
        )
    precision = canonical_precision(options.precision)
    if precision not in runtime.export_precisions:
        raise InputError(
            f"export --to {to}: {precision} is not written; {to} files are "
            f"{', '.join(runtime.export_precisions)}",
            hint=f"pass --precision {runtime.export_precisions[0]}",
        )
    out = out if out is not None else default_path(spec, to, precision, optimized)
    refuse_unwritable(out, to)
    resolved = resolve_model(spec, weights=weights, pretrained=pretrained, index_path=index_path)
    subject = Subject(resolved, options.image_size)
    request = Request(
        implementation=implementation("native", runtime.name, optimize=optimized),
        precision=PrecisionRequest(precision),
        device=torch.device("cpu"),
        batch=None if options.dynamic_batch else batch,
        image_size=subject.image_size,
        opset=DEFAULT_OPSET if opset is None else opset,
        exporter=options.exporter,
    )
    path, made = runtime.write(subject, request, out)
    session = runtime.open(path, request, made)
    images = subject.images(batch)
    logits = session.run(images)
    session.observe(logits)
    _module, label = subject.reference()
    check = compare_outputs(
        logits, subject.reference_logits(images), session.precision.bound, reference=label
    )
    files = [path] + ([path.with_suffix(".bin")] if path.suffix == ".xml" else [])
    session.close()
    return Deployable(
        path=path,
        format=to,
        files=files,
        precision=session.precision,
        check=check,
        check_batch=batch,
        key=made["key"],
        provider=session.provider,
        preprocessing=resolved.preprocessing.to_dict(),
        optimized=optimized,
    )


def export_runtime(to: str) -> Any:
    """The runtime that writes and opens ``to`` files, its extra checked."""
    from mixbench.runtimes import runtime_named

    if to not in EXPORT_FORMATS:
        raise InputError(
            f"export --to {to!r}: not a format mixbench writes",
            hint=f"use {' or '.join(EXPORT_FORMATS)}",
        )
    runtime = runtime_named(EXPORT_FORMATS[to])
    runtime.require(f"export --to {to}")
    return runtime


def default_path(spec: str, to: str, precision: str, optimized: bool) -> Path:
    """``mixnet_s-fp32.onnx``, ``mixnet_s-optimized-bf16.xml``: here, named by what is in it."""
    stem = Path(spec).stem if spec.endswith((".yaml", ".yml")) else spec
    form = "-optimized" if optimized else ""
    return Path(f"{stem}{form}-{precision}{'.xml' if to == 'openvino' else '.onnx'}")


SUFFIXES = {"onnx": ".onnx", "openvino": ".xml"}
FORMAT_NAMES = {"onnx": "an ONNX file", "openvino": "an OpenVINO IR"}


def refuse_unwritable(out: Path, to: str) -> None:
    """Before any work: the folder must exist, and the suffix must be the format's."""
    if out.suffix.lower() != SUFFIXES[to]:
        raise InputError(
            f"--out {out}: {FORMAT_NAMES[to]} ends in {SUFFIXES[to]}",
            hint=f"pass --out {out.with_suffix(SUFFIXES[to])}",
        )
    from mixbench.io import check_writable

    check_writable(out, "--out")
