"""``mixbench export-index``: the *measured* figures of the results store as a model index.

The file is in the paperswithcode / timm model-index form that ``model_index/`` publishes, so
``mixbench diff index measured.yml`` holds the published cards against what was measured:

>>> from mixbench.export import export_index
>>> from mixbench.store import ResultsStore
>>> text = export_index(ResultsStore(), Path("measured.yml"))  # doctest: +SKIP

Per model, the newest ``verify`` run gives params, FLOPs, file size and the eval preprocessing;
accuracy comes from that run's top-1/top-5 checks when it measured them, else from the newest
``eval`` run that scored the model's own weights on real data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mixbench.errors import InputError
from mixbench.index.documents import MARKDOWN_SUFFIXES
from mixbench.index.fields import CARD_FIELDS, CARD_FIGURES, FIELDS, CardField, HasFigures
from mixbench.io import write_atomically
from mixbench.records import Measurement, find
from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION
from mixbench.store import ResultsStore, RunRecord

# Checks that ran and measured something; "skipped" ones carry no measurement worth exporting.
PREPROCESSING_FIELDS = ("image_size", "crop_pct", "interpolation")
ACCURACY_FIELDS = ("top1", "top5")

NO_RUNS_HINT = "run `mixbench verify MODEL|all` or `mixbench eval` first"


@dataclass(frozen=True)
class MeasuredModel(HasFigures):
    """What the results store measured of one model; None where nothing was."""

    name: str
    #: the measured card figures by :data:`~mixbench.index.fields.FIELDS` name (flops: counted
    #: in ``flops_convention``); a figure not measured is absent
    figures: dict[str, Any] = field(default_factory=dict)
    top1: float | None = None
    top5: float | None = None
    images: int | None = None  # eval image count behind top1/top5
    #: the counting convention ``flops`` is in (a key of mixbench.measure.complexity's
    #: CONVENTIONS) and the input it was counted at, ``224x224``
    flops_convention: str | None = None
    flops_input: str | None = None
    sources: dict[str, int] = field(default_factory=dict)  # field -> run id it came from

    @classmethod
    def of(cls, name: str, **values: Any) -> MeasuredModel:
        """``MeasuredModel.of("m", params=5, top1=80.0)``: card figures by name, the rest as
        fields (``None`` figures left out)."""
        figures = {k: v for k, v in values.items() if k in FIELDS and v is not None}
        rest = {k: v for k, v in values.items() if k not in FIELDS}
        return cls(name=name, figures=figures, **rest)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the figures as fields of their own, as on a card's ``to_dict``."""
        data = asdict(self)
        figures = data.pop("figures")
        return {"name": self.name, **{k: figures.get(k) for k in CARD_FIELDS}, **data}

    @property
    def is_empty(self) -> bool:
        """True when no figure was measured (``images`` and ``sources`` only qualify those)."""
        return not self.figures and self.top1 is None and self.top5 is None


# ------------------------------------------------------------------------ reading the store


def measured_models(store: ResultsStore, models: list[str] | None = None) -> list[MeasuredModel]:
    """The measured figures of each model with verify or eval runs (or of ``models``), by name.

    Models whose runs measured nothing exportable (e.g. only random-weight evals) are left out.
    """
    wanted = set(models) if models is not None else None
    runs: dict[str, list[RunRecord]] = {}
    for record in store.runs():  # newest first, so each list is too
        if record.kind not in ("verify", "eval"):
            continue
        if wanted is not None and record.model not in wanted:
            continue
        runs.setdefault(record.model, []).append(record)
    found = [_measure(name, runs[name]) for name in sorted(runs)]
    return [model for model in found if not model.is_empty]


def _measure(name: str, runs: Sequence[RunRecord]) -> MeasuredModel:
    values: dict[str, Any] = {}
    sources: dict[str, int] = {}

    def take(key: str, value: object, run: RunRecord) -> None:
        if value is not None:
            values[key] = value
            if run.id is not None:
                sources[key] = run.id

    verify = next((run for run in runs if run.kind == "verify"), None)
    scored = [run for run in runs if run.kind == "eval" and _is_model_accuracy(run)]
    if verify is not None:
        measured = _verify_measurements(verify)
        figures = {m.metric: m.value for m in measured}
        for card_field in CARD_FIGURES:
            if card_field.name == "flops":  # a count means something only in its convention
                continue
            take(card_field.name, _read(card_field, figures.get(card_field.name)), verify)
        flops = find(measured, "flops")
        if flops is not None and "convention" in flops.conditions:
            take("flops", _read(FIELDS["flops"], flops.value), verify)
            values["flops_convention"] = flops.conditions["convention"]
            values["flops_input"] = flops.conditions.get("input")
        accuracy = [find(measured, key) for key in ACCURACY_FIELDS]
        for key, found in zip(ACCURACY_FIELDS, accuracy, strict=True):
            # a subset of the classes is not what a card's accuracy is of: never exported
            chosen_classes = found is not None and found.conditions.get("selection") == "classes"
            if found is not None and not chosen_classes and _on_real_data(_data_of(found, verify)):
                take(key, _percent(found.value), verify)
                take("images", _count(found.conditions.get("images")), verify)
        if any(key in values for key in ACCURACY_FIELDS) and "images" not in values:
            behind = _eval_behind(verify, values, scored)  # a run stored without its count
            if behind is not None:
                take("images", _count(_images(behind)), behind)
    # Accuracy is taken from one run as a pair: a top-1 and a top-5 of different runs could be
    # of different weights or data.
    if scored and not any(key in values for key in ACCURACY_FIELDS):
        newest = scored[0]
        for key in ACCURACY_FIELDS:
            take(key, _percent(newest.metrics.get(key)), newest)
        take("images", _count(_images(newest)), newest)
        # The preprocessing that produced this accuracy, where verify said nothing of it.
        for key, value in _preprocessing(newest.preprocessing).items():
            if key not in values:
                take(key, value, newest)
    return MeasuredModel.of(name, sources=sources, **values)


def _images(run: RunRecord) -> object:
    """An evaluation's image count: its measurement (``count`` in its summary when stored
    before measurements were kept)."""
    return run.metrics.get("images", run.metrics.get("count"))


def _verify_measurements(run: RunRecord) -> list[Measurement]:
    """A verify run's measurements; a run stored before they were kept gets them from its
    checks (their structured fields, never their reason text)."""
    if run.measurements:
        return run.measurements
    from mixbench.verify import VerifyReport

    return VerifyReport.from_run_record(run).measurements()


def _preprocessing(values: dict[str, Any]) -> dict[str, Any]:
    found = {key: _read(FIELDS[key], values.get(key)) for key in PREPROCESSING_FIELDS}
    return {key: value for key, value in found.items() if value is not None}


def _read(card_field: CardField, value: object) -> Any:
    """``value`` as the index's own parser reads it, or None: what we write must read back
    (floats rounded to 6 places: no binary noise)."""
    read = card_field.read(value)
    return round(read, 6) if isinstance(read, float) else read


def _percent(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0 <= number <= 100 else None


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _on_real_data(spec: object) -> bool:
    """Synthetic images have arbitrary labels: a score on them says nothing of the model."""
    return not (isinstance(spec, str) and (spec == "synthetic" or spec.startswith("synthetic:")))


def _is_model_accuracy(run: RunRecord) -> bool:
    """An eval run scores the model only with its trained weights, on real data, through the
    model as built in float32, as cards are measured (an evaluation through a deployed runtime
    path, or in bf16/fp16, is about that path: the deployed checks hold it against this one).
    Runs stored before paths were recorded say neither, and count as before."""
    settings = run.details.get("settings")
    settings = settings if isinstance(settings, dict) else {}
    as_built = settings.get("implementation") in (None, DEFAULT_IMPLEMENTATION)
    in_fp32 = (settings.get("precision_computed") or settings.get("precision")) in (None, "fp32")
    return run.weights is not None and _on_real_data(run.dataset) and as_built and in_fp32


def _data_of(measurement: Measurement, verify: RunRecord) -> object:
    if "data" in measurement.conditions:
        return measurement.conditions["data"]
    settings = verify.details.get("settings")
    return settings.get("data") if isinstance(settings, dict) else None


def _eval_behind(
    verify: RunRecord, values: dict[str, Any], scored: Iterable[RunRecord]
) -> RunRecord | None:
    """The eval run verify recorded for its accuracy checks, found by its identical scores:
    how the image count of a verify run stored before measurements carried it is found."""
    for run in scored:  # newest first
        same = all(run.metrics.get(key) == values.get(key) for key in ACCURACY_FIELDS)
        if same and run.weights == verify.weights and run.created <= verify.created:
            return run
    return None


# ------------------------------------------------------------------------ writing YAML


def to_model_index_yaml(
    models: list[MeasuredModel],
    *,
    source: str = "mixbench",
    store_path: str | os.PathLike[str] | None = None,
) -> str:
    """The models as model-index YAML, in the shape and units the timm cards publish."""
    origin = f" ({_one_line(os.fspath(store_path))})" if store_path is not None else ""
    header = [
        f"Model index of MEASURED figures, generated by {_one_line(source)} from its results "
        f"store{origin}.",
        "These are measurements, not published figures: compare them with the cards by",
        "`mixbench diff index THIS_FILE`.",
        "FLOPs are counted at the card's image size in the convention that reproduces the",
        "card's figure (Measured: FLOPs Convention), else as 2 × MACs counted by fvcore;",
        "File Size is of the weights file measured;",
        "accuracies are on the evaluation data the runs used; `Measured` names the runs.",
    ]
    body = yaml.safe_dump(
        {"Models": [_entry(model, source) for model in models]},
        sort_keys=False,
        allow_unicode=True,
        width=4096,  # keep long names and URLs on one line
    )
    return "".join(f"# {line}\n" for line in header) + body


def _entry(model: MeasuredModel, source: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"Name": model.name}
    # Keys, order and text forms as in model_index/mixnet.md.
    metadata: dict[str, Any] = {
        card_field.export_key: card_field.written(model.figure(card_field.name))
        for card_field in CARD_FIGURES
        if model.figure(card_field.name) is not None
    }
    if metadata:
        entry["Metadata"] = metadata
    metrics: dict[str, str] = {}
    if model.top1 is not None:
        metrics["Top 1 Accuracy"] = _percent_text(model.top1)
    if model.top5 is not None:
        metrics["Top 5 Accuracy"] = _percent_text(model.top5)
    if metrics:
        entry["Results"] = [
            {"Task": "Image Classification", "Dataset": "ImageNet", "Metrics": metrics}
        ]
    # Not a paperswithcode field; the index reader keeps unknown fields as they are.
    measured: dict[str, Any] = {"Source": source, "Runs": dict(model.sources)}
    if model.flops is not None and model.flops_convention is not None:
        measured["FLOPs Convention"] = model.flops_convention
        measured["FLOPs Input"] = model.flops_input
    if model.images is not None:
        measured["Images"] = model.images
    entry["Measured"] = measured
    return entry


def _percent_text(value: float) -> str:
    """``78.98%`` as the cards write it; a third decimal kept, since 50,000 images give one."""
    text = f"{value:.3f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}%"


def _one_line(text: str) -> str:
    """Text safe inside a YAML comment: every line break YAML knows becomes a space."""
    return " ".join(text.splitlines())


# ------------------------------------------------------------------------ the command


def exportable_models(store: ResultsStore, models: list[str] | None = None) -> list[MeasuredModel]:
    """:func:`measured_models`, or an :class:`InputError` when a model asked for (or every
    model) has nothing to export: an export of nothing is never written."""
    found = measured_models(store, models)
    if models is not None:
        missing = sorted(set(models) - {model.name for model in found})
        if missing:
            raise InputError(
                f"{store.path}: no verify or eval runs to export for {', '.join(missing)}",
                hint=f"`mixbench runs` lists the stored runs; {NO_RUNS_HINT}",
            )
    if not found:
        hint = NO_RUNS_HINT
        if store.runs(kind="eval", limit=1):  # there are evals, but none scored the model
            hint += " (an eval counts only with trained weights, on real data)"
        raise InputError(f"{store.path}: no verify or eval runs to export", hint=hint)
    return found


def export_index(
    store: ResultsStore, out: Path | None = None, *, models: list[str] | None = None
) -> str:
    """The measured model index of ``store`` as YAML text; also written to ``out`` if given."""
    if out is not None and out.suffix.lower() in {*MARKDOWN_SUFFIXES, ".json"}:
        raise InputError(
            f"{out}: a model index export is YAML, not {out.suffix}",
            hint="name the output file .yml",
        )
    found = exportable_models(store, models)
    text = to_model_index_yaml(found, store_path=store.path)
    if out is not None:
        write_atomically(out, text)
    return text


__all__ = [
    "MeasuredModel",
    "export_index",
    "exportable_models",
    "measured_models",
    "to_model_index_yaml",
]
