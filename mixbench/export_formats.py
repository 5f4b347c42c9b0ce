"""``export-index --format eval-results|hf-card``: measured accuracy in Hugging Face's forms.

``model-index`` (:mod:`mixbench.export`, the default) writes one YAML file of every measured
figure. The two Hugging Face forms hold only what a model repo shows as evaluation results:
ImageNet top-1 and top-5, one folder per model, as a Hub model repo lays them out:

* ``eval-results``: ``OUT/<model>/.eval_results/imagenet-1k.yaml``, written by
  ``huggingface_hub``'s ``eval_result_entries_to_yaml`` (one file per benchmark dataset, as the
  Hub's examples do); an entry per metric: ``dataset: {id: ILSVRC/imagenet-1k, task_id:
  top1_accuracy}``, the value in percent, ``source`` naming mixbench and ``notes`` the
  conditions (images, data, weights and their sha256, preprocessing, runtime, precision, device);
* ``hf-card``: ``OUT/<model>/README.md`` whose front matter is the ``model-index`` of
  ``huggingface_hub``'s ``ModelCardData``/``EvalResult``, the conditions in its text.

Both read back through mixbench (:mod:`mixbench.index.eval_results`, the model-index reader)
to the figures written: ``mixbench diff OUT index``, ``mixbench diff OUT/<model>/README.md index``.
A model with no measured accuracy has nothing to write in these forms and is said so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from mixbench.errors import InputError
from mixbench.export import MeasuredModel, exportable_models
from mixbench.index.eval_results import EVAL_RESULTS_DIR, IMAGENET_HUB_ID, PERCENT_NOTE, hub_format
from mixbench.io import write_atomically
from mixbench.options import flag
from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION
from mixbench.store import ResultsStore, RunRecord

EXPORT_FORMATS = ("model-index", "eval-results", "hf-card")
#: the formats written as a folder per model (``--out DIR``)
FOLDER_FORMATS = ("eval-results", "hf-card")
SOURCE_NAME = "mixbench"
#: used when the installed mixbench names no project URL (the Hub needs a source's url)
FALLBACK_URL = "https://pypi.org/project/mixbench/"
EVAL_RESULTS_FILE = "imagenet-1k.yaml"
#: metric → (task_id written, label, model-index metric type)
METRICS = {
    "top1": ("top1_accuracy", "top-1", "accuracy"),
    "top5": ("top5_accuracy", "top-5", "top_5_accuracy"),
}
# A Hub repo name: letters, digits, '-', '_', '.'; no '--' or '..'; not starting or ending
# with '-' or '.'; at most 96 characters. The folder is named after the model, and read back
# as its name, so a model named otherwise cannot be written as a repo.
_REPO_NAME = re.compile(r"(?!.*(?:--|\.\.))[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")
NO_ACCURACY_HINT = (
    "`mixbench verify MODEL --data DIR` or `mixbench eval MODEL --data DIR --pretrained` "
    "measures it; --format model-index exports the other figures"
)


@dataclass(frozen=True)
class IndexExportOptions:
    """What ``export-index`` is asked: each field's Flag is its command-line option and help."""

    out: Path = field(
        default=Path("-"),
        metadata=flag(
            "Model-index YAML file to write ('-': stdout); a folder for eval-results and hf-card.",
            kind=Path,
            dash=True,
            show_default=True,
        ),
    )
    format: str = field(
        default="model-index",
        metadata=flag(
            "eval-results: OUT/MODEL/.eval_results/imagenet-1k.yaml; hf-card: OUT/MODEL/README.md.",
            choices=EXPORT_FORMATS,
            show_default=True,
        ),
    )

    @property
    def file(self) -> Path | None:
        """Where to write (``None``: stdout, ``--out -``)."""
        return None if str(self.out) == "-" else self.out


@dataclass(frozen=True)
class FolderExport:
    """What ``export_folder`` wrote, and what it had to leave out (said, never dropped)."""

    format: str
    out: Path
    files: tuple[Path, ...]
    notes: tuple[str, ...]
    models: tuple[MeasuredModel, ...]

    def lines(self) -> list[str]:
        """What the command says it wrote (its notes go to stderr)."""
        return [f"wrote {path}" for path in self.files]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "out": str(self.out),
            "files": [str(path) for path in self.files],
            "notes": list(self.notes),
            "models": [model.to_dict() for model in self.models],
        }


def project_url() -> str:
    """The project's URL from the installed mixbench's metadata, else :data:`FALLBACK_URL`."""
    try:
        urls = metadata.metadata("mixbench").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    found = [url.split(",", 1)[1].strip() for url in urls if "," in url]
    return found[0] if found else FALLBACK_URL


# ------------------------------------------------------------------------ the conditions


def accuracy_conditions(model: MeasuredModel, run: RunRecord | None = None) -> list[str]:
    """What the model's accuracy was measured under, as short phrases: what ``notes`` and the
    card text say (the run is the one the accuracy came from, when known)."""
    settings = _settings(run)
    found = []
    if run is not None:
        version = run.versions.get("mixbench")
        found.append(
            f"measured by mixbench{f' {version}' if version else ''} (run {run.id}, {run.created})"
        )
    data = run.dataset if run is not None and run.kind == "eval" else settings.get("data")
    images = f"{model.images} images" if model.images else "images (count not recorded)"
    found.append(f"{images} of {data}" if data else f"{images}, data not recorded")
    if run is not None and run.weights:
        sha = run.weights_sha256 or "not recorded"
        found.append(f"weights {run.weights} (sha256 {sha})")
    preprocessing = [
        f"{model.image_size} px" if model.image_size else None,
        f"crop_pct {model.crop_pct}" if model.crop_pct is not None else None,
        f"{model.interpolation} interpolation" if model.interpolation else None,
    ]
    if any(preprocessing):
        found.append("preprocessing " + ", ".join(p for p in preprocessing if p))
    if run is not None:
        runtime = settings.get("implementation") or DEFAULT_IMPLEMENTATION
        built = " (the model as built)" if runtime == DEFAULT_IMPLEMENTATION else ""
        found.append(f"runtime {runtime}{built}, precision {_precision(settings)}")
        device = run.device or settings.get("device")
        if device:
            found.append(f"device {device}")
    return found


def _settings(run: RunRecord | None) -> dict[str, Any]:
    settings = run.details.get("settings") if run is not None else None
    return settings if isinstance(settings, dict) else {}


def _precision(settings: dict[str, Any]) -> str:
    """What the run computed in: read back where it was recorded, else what it asked for."""
    named = settings.get("precision_computed") or settings.get("precision")
    if named:
        return str(named)
    if settings.get("amp"):
        return f"mixed ({settings.get('amp_dtype') or 'autocast'})"
    return "fp32"


def _notes(metric: str, conditions: list[str]) -> str:
    # "in percent" first: it is what the reader takes the value's scale from.
    return "; ".join([f"{METRICS[metric][1]} accuracy {PERCENT_NOTE}", *conditions])


def _accuracy(model: MeasuredModel) -> dict[str, float]:
    values = {"top1": model.top1, "top5": model.top5}
    return {name: value for name, value in values.items() if value is not None}


# ------------------------------------------------------------------------ eval results


def eval_result_entries(model: MeasuredModel, run: RunRecord | None = None) -> list[Any]:
    """One ``EvalResultEntry`` per measured accuracy (huggingface_hub's, or its twin)."""
    conditions = accuracy_conditions(model, run)
    make = hub_format().entry
    return [
        make(
            dataset_id=IMAGENET_HUB_ID,
            task_id=METRICS[name][0],
            value=value,
            date=run.created if run is not None else None,
            source_url=project_url(),
            source_name=SOURCE_NAME,
            notes=_notes(name, conditions),
        )
        for name, value in _accuracy(model).items()
    ]


def to_eval_results_yaml(model: MeasuredModel, run: RunRecord | None = None) -> str:
    """``.eval_results/imagenet-1k.yaml`` of one model, as huggingface_hub writes entries."""
    entries = hub_format().to_yaml(eval_result_entries(model, run))
    header = (
        f"# ImageNet accuracy of {model.name} MEASURED by mixbench, not published figures.\n"
        "# Values are in percent (each entry's notes say so, with the conditions).\n"
    )
    return header + _dump(entries)


def _dump(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=4096)


# ------------------------------------------------------------------------ hf card


def to_hf_card(model: MeasuredModel, run: RunRecord | None = None) -> str:
    """A README.md whose front matter is the model's ``model-index`` (huggingface_hub's
    ``ModelCardData``), with the conditions in its text."""
    from huggingface_hub import EvalResult, ModelCardData

    results = [
        EvalResult(
            task_type="image-classification",
            task_name="Image Classification",
            dataset_type=IMAGENET_HUB_ID,
            dataset_name="ImageNet",
            dataset_split="validation",
            metric_type=METRICS[name][2],
            metric_name=f"Top {name[-1]} Accuracy",
            # a value in (0, 1] reads as a fraction unless it says "%" (values.parse_percent)
            metric_value=f"{value}%" if 0 < value <= 1 else value,
            source_name=SOURCE_NAME,
            source_url=project_url(),
        )
        for name, value in _accuracy(model).items()
    ]
    front = ModelCardData(model_name=model.name, eval_results=results).to_yaml()
    rows = "".join(
        f"| {METRICS[name][1]} | {value} % |\n" for name, value in _accuracy(model).items()
    )
    # paths and names are the user's: "<" escaped, so no text can open a model-index block
    conditions = "".join(
        f"- {' '.join(item.replace('<', '&lt;').split())}\n"
        for item in accuracy_conditions(model, run)
    )
    return (
        f"---\n{front}\n---\n\n# {model.name}: measured ImageNet accuracy\n\n"
        "Measured by mixbench, not published: compare with the card by "
        "`mixbench diff index README.md`.\n\n"
        f"| metric | ImageNet |\n|---|---:|\n{rows}\nConditions:\n\n{conditions}"
    )


# ------------------------------------------------------------------------ the command


WRITERS: dict[str, tuple[Callable[[MeasuredModel, RunRecord | None], str], Path]] = {
    "eval-results": (to_eval_results_yaml, Path(EVAL_RESULTS_DIR, EVAL_RESULTS_FILE)),
    "hf-card": (to_hf_card, Path("README.md")),
}


def export_folder(
    store: ResultsStore, out: Path | None, fmt: str, *, models: list[str] | None = None
) -> FolderExport:
    """Write each measured model's accuracy under ``out/<model>/`` in ``fmt`` (eval-results or
    hf-card); models without measured accuracy are named in the notes."""
    if fmt not in WRITERS:
        raise InputError(f"--format {fmt}: not a folder format", hint=", ".join(FOLDER_FORMATS))
    if out is None:
        raise InputError(
            f"--format {fmt} writes a folder per model: give --out DIR",
            hint=f"`mixbench export-index --format {fmt} --out measured/`",
        )
    found = exportable_models(store, models)
    notes = [
        f"{model.name}: no accuracy measured: nothing to write as {fmt}"
        for model in found
        if not _accuracy(model)
    ]
    written = [model for model in found if _accuracy(model)]
    if not written:
        raise InputError(
            f"{store.path}: no measured accuracy to write as {fmt}", hint=NO_ACCURACY_HINT
        )
    _check_names(written)
    write, name = WRITERS[fmt]
    files = []
    for model in written:
        path = out / model.name / name
        _make_folder(path.parent)
        write_atomically(path, write(model, _accuracy_run(store, model)))
        files.append(path)
    return FolderExport(fmt, out, tuple(files), tuple(notes), tuple(written))


def _accuracy_run(store: ResultsStore, model: MeasuredModel) -> RunRecord | None:
    run_id = model.sources.get("top1", model.sources.get("top5"))
    return store.get(run_id) if run_id is not None else None


def _check_names(models: list[MeasuredModel]) -> None:
    bad = [model.name for model in models if not _REPO_NAME.fullmatch(model.name)]
    if bad:
        raise InputError(
            f"not a Hugging Face repo name, so not a folder to read back as the model: "
            f"{', '.join(map(repr, bad))}",
            hint="export the other models by name (`export-index MODEL...`), or these with "
            "--format model-index, which keeps any name",
        )


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"{folder}: cannot create: {error.strerror or error}",
            hint="give --out a folder that can be written",
        ) from error


__all__ = [
    "EXPORT_FORMATS",
    "FOLDER_FORMATS",
    "FolderExport",
    "IndexExportOptions",
    "accuracy_conditions",
    "eval_result_entries",
    "export_folder",
    "project_url",
    "to_eval_results_yaml",
    "to_hf_card",
]
