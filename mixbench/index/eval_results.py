"""Hugging Face's eval results — ``.eval_results/*.yaml`` in a model repo — as cards.

Each file is a list of entries, one figure each (the spec: huggingface/hub-docs
``eval_results.yaml``; read and written by ``huggingface_hub`` ≥ 1.4 as ``EvalResultEntry``)::

    - dataset:
        id: ILSVRC/imagenet-1k        # required: the Hub dataset (the benchmark)
        task_id: top1_accuracy        # required: the task within it
        revision: <sha>               # optional
      value: 78.98                    # required
      date: "2026-01-15"              # optional, ISO-8601
      source: {url, name, user, org}  # optional; url required when given
      notes: "..."                    # optional
      verifyToken: <token>            # optional

The format has no metric field and no unit: the task says what was measured, and the value is
"the metric value" (the spec's own examples are 20.90 and 0.412). So, and each guess is said:

* the metric is the ``task_id`` read as a metric name (``top1``, ``top1_accuracy``,
  ``imagenet_top5``, ``acc@5``; ``accuracy`` is top-1, as in model-index), else a top-k named
  in ``notes``; any other task is kept under its own name (``diff`` lists it as not compared);
* the scale is what ``notes`` declares (``in percent`` or ``as a fraction``: mixbench writes
  ``in percent``), else a value in (0, 1] is read as a fraction, else as percent;
* the dataset is a Hub id: ImageNet's is ``ILSVRC/imagenet-1k`` (``imagenet-1k`` before the
  move, ``timm/imagenet-1k-wds`` timm's copy); any other id is kept as it is.

The model is the repo's: the folder holding ``.eval_results/`` names it (a clone of
``timm/mixnet_xl.ra_in1k`` is ``mixnet_xl.ra_in1k``; a Hub cache snapshot
``models--timm--mixnet_s.ft_in1k/snapshots/<sha>`` is ``mixnet_s.ft_in1k``), or ``model`` does.
A source is a repo folder, its ``.eval_results`` folder, one file, or a folder of repo folders
(what ``export-index --format eval-results`` writes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from mixbench.errors import IndexProblems, Problem
from mixbench.index.cards import TOP1, TOP5, CardWarning, Location, Metric, ModelCard, Result
from mixbench.index.cards import dataset_key as loose_dataset_key
from mixbench.index.documents import INDEX_SUFFIXES, YAML_SUFFIXES, display_path, read_text
from mixbench.index.keys import key_set, suggest
from mixbench.index.located_yaml import LocatedDocument, format_path, load_yaml
from mixbench.index.normalise import canonical_metric
from mixbench.index.values import ValueProblem, describe, parse_number
from mixbench.io import exists

EVAL_RESULTS_DIR = ".eval_results"
#: the Hub id export-index writes for ImageNet-1k (ILSVRC 2012); ``imagenet-1k`` redirects to it
IMAGENET_HUB_ID = "ILSVRC/imagenet-1k"
#: Hub dataset ids (compared case-insensitively) → the dataset name cards use
HUB_DATASETS = {
    "ilsvrc/imagenet-1k": "ImageNet",
    "imagenet-1k": "ImageNet",
    "timm/imagenet-1k-wds": "ImageNet",
}
#: what ``notes`` says of the value's scale (mixbench writes "top-1 accuracy in percent")
PERCENT_NOTE = "in percent"
_PERCENT = re.compile(r"\bin percent\b|\bas (?:a )?percentages?\b", re.IGNORECASE)
_FRACTION = re.compile(r"\bas (?:a )?fractions?\b", re.IGNORECASE)
# a top-k anywhere in a task id or a note: "imagenet_top5", "Top-1 accuracy", "acc@5"
_TOP_K = re.compile(r"(?<![a-z0-9])(?:top[-_ ]?(\d+)|acc(?:uracy)?[-_ ]?@[-_ ]?(\d+))(?!\d)")

# The keys of the spec (hub-docs eval_results.yaml and docs/hub/eval-results.md), exactly as
# the Hub reads them: ``Task_ID`` is not ``task_id`` there, so it is not here either.
ENTRY_KEYS = ("dataset", "value", "verifyToken", "date", "source", "notes", "evaluation_framework")
DATASET_KEYS = ("id", "task_id", "revision", "config", "split")
#: what a card's figure is on, when an entry names its config and split
_DEFAULT_SPLITS = {"config": ("default",), "split": ("validation", "val")}
SOURCE_KEYS = ("url", "name", "user", "org")
FORMAT_HINT = (
    "each entry is `- dataset: {id: ILSVRC/imagenet-1k, task_id: top1_accuracy}` and "
    "`value: 78.98` (https://huggingface.co/docs/hub/eval-results)"
)


# ------------------------------------------------------------------ huggingface_hub, or its twin


@dataclass
class _Entry:
    """``huggingface_hub.EvalResultEntry`` (≥ 1.4), for an older huggingface_hub: same fields,
    same rule (a source needs its url)."""

    dataset_id: str
    task_id: str
    value: Any
    dataset_revision: str | None = None
    verify_token: str | None = None
    date: str | None = None
    source_url: str | None = None
    source_name: str | None = None
    source_user: str | None = None
    source_org: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        named = (self.source_name, self.source_user, self.source_org)
        if any(part is not None for part in named) and self.source_url is None:
            raise ValueError("a source needs its url")


def _entries_to_yaml(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """``eval_result_entries_to_yaml``'s output, key for key."""
    found = []
    for entry in entries:
        dataset: dict[str, Any] = {"id": entry.dataset_id, "task_id": entry.task_id}
        if entry.dataset_revision is not None:
            dataset["revision"] = entry.dataset_revision
        data: dict[str, Any] = {"dataset": dataset, "value": entry.value}
        for key, value in (("verifyToken", entry.verify_token), ("date", entry.date)):
            if value is not None:
                data[key] = value
        if entry.source_url is not None:
            source = {"url": entry.source_url}
            for key in ("name", "user", "org"):
                if getattr(entry, f"source_{key}") is not None:
                    source[key] = getattr(entry, f"source_{key}")
            data["source"] = source
        if entry.notes is not None:
            data["notes"] = entry.notes
        found.append(data)
    return found


def _parse_entries(data: list[dict[str, Any]]) -> list[_Entry]:
    """``parse_eval_result_entries`` for the entries of a file (already checked here)."""
    found = []
    for item in data:
        dataset, source = item["dataset"], item.get("source") or {}
        found.append(
            _Entry(
                dataset_id=dataset["id"],
                task_id=dataset["task_id"],
                value=item["value"],
                dataset_revision=dataset.get("revision"),
                verify_token=item.get("verifyToken"),
                date=item.get("date"),
                source_url=source.get("url"),
                source_name=source.get("name"),
                source_user=source.get("user"),
                source_org=source.get("org"),
                notes=item.get("notes"),
            )
        )
    return found


@dataclass(frozen=True)
class HubFormat:
    """The entry type, parser and writer of the ``.eval_results`` format in use."""

    entry: Callable[..., Any]
    parse: Callable[[list[dict[str, Any]]], list[Any]]
    to_yaml: Callable[[list[Any]], list[dict[str, Any]]]
    by_huggingface_hub: bool


@lru_cache(maxsize=1)
def hub_format() -> HubFormat:
    """huggingface_hub's own (≥ 1.4), else the same schema here (imported on first use: the
    CLI starts without it)."""
    try:
        from huggingface_hub import (
            EvalResultEntry,
            eval_result_entries_to_yaml,
            parse_eval_result_entries,
        )
    except ImportError:  # huggingface_hub < 1.4
        return HubFormat(_Entry, _parse_entries, _entries_to_yaml, False)
    return HubFormat(EvalResultEntry, parse_eval_result_entries, eval_result_entries_to_yaml, True)


def entry_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(_Entry))


# ------------------------------------------------------------------ which paths are eval results


def is_eval_results(path: str | Path) -> bool:
    """A repo folder holding ``.eval_results/``, that folder, a folder of such repos, or a
    YAML file in one (or anywhere, holding a list of ``- dataset: ...`` entries)."""
    path = Path(path)
    try:
        if path.is_dir():
            return path.name == EVAL_RESULTS_DIR or bool(_repo_folders(path))
        if path.is_file() and path.suffix.lower() in YAML_SUFFIXES:
            return path.parent.name == EVAL_RESULTS_DIR or _holds_entries(path)
    except (OSError, ValueError):
        return False
    return False


def _repo_folders(path: Path) -> list[Path]:
    """``path`` itself when it holds ``.eval_results/``; else its sub-folders that do, when
    ``path`` holds no card files of its own (a folder of cards stays a model index)."""
    if (path / EVAL_RESULTS_DIR).is_dir():
        return [path]
    children = sorted(path.iterdir())
    own_cards = [
        child
        for child in children
        if child.is_file()
        and child.suffix.lower() in INDEX_SUFFIXES
        and not child.name.lower().startswith("readme")
    ]
    if own_cards:
        return []
    return [child for child in children if (child / EVAL_RESULTS_DIR).is_dir()]


def _holds_entries(path: Path) -> bool:
    """A YAML file whose first item is an eval result (``dataset:`` with no model ``name``)."""
    text, _ = read_text(path, str(path))
    if text is None or not _starts_a_list(text):
        return False  # a model index (Models:, Collections:) is not parsed twice
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return False  # the model-index reader says what is wrong with it
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return False
    first = {str(key).lower() for key in data[0]}
    return "dataset" in first and "name" not in first


def _starts_a_list(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "---", "%")):
            return stripped == "-" or stripped.startswith(("- ", "["))
    return False


# ------------------------------------------------------------------ reading


@dataclass
class EvalResultsRead:
    """Everything read from an eval results source, and every problem found in it."""

    cards: list[ModelCard] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: about the source (files not read, a README beside); each card's own are on the card
    notes: list[str] = field(default_factory=list)
    #: keys the spec does not have (those close to one of its keys carry suggestions)
    unknown_keys: list[CardWarning] = field(default_factory=list)
    #: the models not read because of problems in their files: (name, where, problems)
    left_out: list[tuple[str, Location, tuple[Problem, ...]]] = field(default_factory=list)


@dataclass(frozen=True)
class _Repo:
    name: str
    files: tuple[Path, ...]
    where: str  # as shown: the .eval_results folder, or the one file


@dataclass(frozen=True)
class _Figure:
    dataset: str  # the name cards use, or the Hub id as it is
    hub_id: str
    metric: Metric
    file: str
    line: int | None
    record: dict[str, Any]  # what the card keeps of the entry (``extra``)

    @property
    def at(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def read_eval_results(path: str | Path, *, model: str | None = None) -> list[ModelCard]:
    """The cards of an eval results source; raise :class:`IndexProblems` listing every
    problem (``file:line: field: message``)."""
    return load_eval_results(path, model=model).cards


def load_eval_results(path: str | Path, *, model: str | None = None) -> EvalResultsRead:
    """:func:`check_eval_results`, raising :class:`IndexProblems` when anything is wrong: a
    verifier reads all of a source or says why not."""
    read = check_eval_results(path, model=model)
    if read.problems:
        raise IndexProblems(read.problems, hint=f"fix the entries named above; {FORMAT_HINT}")
    return read


def check_eval_results(path: str | Path, *, model: str | None = None) -> EvalResultsRead:
    """Read an eval results source (see the module docstring) into one card per model repo."""
    read = EvalResultsRead()
    for repo in _repos(Path(path), model, read):
        before = len(read.problems)
        card = _read_repo(repo, read)
        if len(read.problems) > before:  # a model is read whole or not at all
            problems = tuple(read.problems[before:])
            read.left_out.append((repo.name, Location(repo.where), problems))
        elif card is not None:
            read.cards.append(card)
    return read


def _repos(path: Path, model: str | None, read: EvalResultsRead) -> list[_Repo]:
    shown = display_path(path)
    if not exists(path):
        read.problems.append(Problem(shown, None, "", "no such file or directory"))
        return []
    if path.is_file():
        in_repo = path.parent.name == EVAL_RESULTS_DIR
        name = model or (repo_name(path.parent.parent) if in_repo else path.stem)
        if model is None and not in_repo:
            read.notes.append(
                f"{shown}: named {name!r} after the file (it is in no {EVAL_RESULTS_DIR}/ "
                "folder of a model repo): name the model to compare it as another"
            )
        return [_Repo(name, (path,), shown)]
    try:
        folders = [path.parent] if path.name == EVAL_RESULTS_DIR else _repo_folders(path)
    except OSError as error:
        read.problems.append(Problem(shown, None, "", f"cannot read: {error.strerror or error}"))
        return []
    if not folders:
        read.problems.append(Problem(shown, None, "", f"no {EVAL_RESULTS_DIR}/ folder here"))
        return []
    if model is not None and len(folders) > 1:
        read.problems.append(
            Problem(shown, None, "", f"holds {len(folders)} model repos; a model name names one")
        )
        return []
    repos = []
    for folder in folders:
        results = folder / EVAL_RESULTS_DIR
        files = _result_files(results, read)
        name = model or repo_name(folder)
        readme = folder / "README.md"
        if readme.is_file():
            read.notes.append(
                f"{display_path(readme)}: not read ({EVAL_RESULTS_DIR}/ was); a model-index in "
                "its front matter is a source of its own"
            )
        if files:
            repos.append(_Repo(name, files, display_path(results)))
    return repos


def repo_name(folder: Path) -> str:
    """The model a repo folder is of: its name, or the repo of a Hub cache snapshot."""
    resolved = folder.resolve()
    snapshot = resolved.parent.name == "snapshots"
    for part in (resolved, resolved.parent.parent) if snapshot else (resolved,):
        if part.name.startswith("models--") and part.name.count("--") >= 2:
            return part.name.split("--", 2)[2]
    return resolved.name


def _result_files(folder: Path, read: EvalResultsRead) -> tuple[Path, ...]:
    shown = display_path(folder)
    try:
        children = sorted(folder.iterdir())
    except OSError as error:
        read.problems.append(Problem(shown, None, "", f"cannot read: {error.strerror or error}"))
        return ()
    files = tuple(p for p in children if p.is_file() and p.suffix.lower() in YAML_SUFFIXES)
    for other in children:
        if other not in files:
            read.notes.append(f"{display_path(other)}: not a .yaml eval results file: not read")
    if not files:
        read.problems.append(Problem(shown, None, "", "no .yaml files: no eval results"))
    return files


def _read_repo(repo: _Repo, read: EvalResultsRead) -> ModelCard | None:
    figures: list[_Figure] = []
    notes: list[str] = []
    warnings: list[CardWarning] = []
    for path in repo.files:
        shown = display_path(path)
        read.files.append(shown)
        figures.extend(_read_file(path, shown, read, notes, warnings))
    if not figures:
        return None
    results = _results(figures, read, notes)
    return ModelCard(
        name=repo.name,
        results=results,
        extra={"eval_results": [figure.record for figure in figures]},
        notes=tuple(notes),
        source=Location(repo.where),
        warnings=tuple(warning for warning in warnings if warning.suggestions),
    )


def _read_file(
    path: Path,
    shown: str,
    read: EvalResultsRead,
    notes: list[str],
    warnings: list[CardWarning],
) -> list[_Figure]:
    text, problems = read_text(path, shown, what="an eval results file")
    if text is None:
        read.problems.extend(problems)
        return []
    if not text.strip():
        read.problems.append(Problem(shown, None, "", "empty file: no eval results"))
        return []
    doc = load_yaml(text, shown)
    if doc.problems:
        read.problems.extend(doc.problems)
        return []
    if not isinstance(doc.data, list) or not doc.data:
        got = "an empty list" if doc.data == [] else describe(doc.data)
        read.problems.append(
            Problem(shown, doc.line(()), "", f"expected a list of eval results, got {got}")
        )
        return []
    entries = _EntryReader(doc, read, notes, warnings)
    return [f for i, item in enumerate(doc.data) if (f := entries.entry((i,), item)) is not None]


class _EntryReader:
    """One file's entries: each checked with its line, then parsed by the format's parser."""

    def __init__(
        self,
        doc: LocatedDocument,
        read: EvalResultsRead,
        notes: list[str],
        warnings: list[CardWarning],
    ) -> None:
        self.doc, self.read, self.notes, self.warnings = doc, read, notes, warnings

    def problem(self, path: tuple[Any, ...], message: str) -> None:
        self.read.problems.append(
            Problem(self.doc.file, self.doc.line(path), format_path(path), message)
        )

    def at(self, path: tuple[Any, ...]) -> str:
        return f"{self.doc.file}:{self.doc.line(path)}"

    def entry(self, path: tuple[Any, ...], item: object) -> _Figure | None:
        if not isinstance(item, dict):
            self.problem(path, f"expected an entry (dataset, value, ...), got {describe(item)}")
            return None
        if isinstance(item.get("data"), dict) and "dataset" not in item:
            path, item = (*path, "data"), item["data"]  # the Hub API's {filename, data} form
        if "error" in item:  # the Hub's "this file failed validation": nothing to read
            self.problem((*path, "error"), f"the Hub refused this entry: {item['error']!r}")
            return None
        clean = self.checked(path, item)
        if clean is None:
            return None
        try:
            [entry] = hub_format().parse([clean])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            self.problem(path, f"not an eval result: {error}")  # checked above: not expected
            return None
        figure = self.figure(path, entry)
        return None if figure is None else self.on_its_split(path, figure, item["dataset"])

    def on_its_split(
        self, path: tuple[Any, ...], figure: _Figure, dataset: dict[str, Any]
    ) -> _Figure:
        """A figure on another split than validation (or another config of the dataset) is
        not the one a card publishes: kept under a dataset name that says so, never compared
        as ImageNet's."""
        split, config = dataset.get("split"), dataset.get("config")
        other = [
            f"{key} {value}"
            for key, value in (("config", config), ("split", split))
            if value is not None and str(value).strip().lower() not in _DEFAULT_SPLITS[key]
        ]
        if not other:
            return figure
        named = f"{figure.dataset} ({', '.join(other)})"
        self.notes.append(
            f"{self.at((*path, 'dataset'))}: on {', '.join(other)}, not the validation set "
            f"a card publishes: kept as {named!r}"
        )
        return replace(figure, dataset=named)

    def checked(self, path: tuple[Any, ...], item: dict[Any, Any]) -> dict[str, Any] | None:
        """The entry with its types checked (``None`` when it cannot be read), dates as text."""
        self.unknown(path, item, ENTRY_KEYS)
        ok = True
        dataset = item.get("dataset")
        if not isinstance(dataset, dict):
            what = "no dataset" if dataset is None else f"dataset is {describe(dataset)}"
            self.problem(path, f"{what}: expected dataset: {{id, task_id}}")
            dataset, ok = {}, False
        else:
            self.unknown((*path, "dataset"), dataset, DATASET_KEYS)
        clean_dataset: dict[str, Any] = {}
        for key in ("id", "task_id"):
            value = dataset.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and key == "task_id":
                value = str(value)
            if isinstance(value, str) and value.strip():
                clean_dataset[key] = value.strip()
            elif ok:
                got = "missing" if value is None else f"got {describe(value)}"
                self.problem((*path, "dataset", key), f"dataset.{key}: {got}: expected text")
                ok = False
        revision = self.text((*path, "dataset", "revision"), dataset.get("revision"))
        if revision is not None:
            clean_dataset["revision"] = revision
        if "value" not in item or item["value"] is None:
            self.problem(path, "no value")
            ok = False
        elif isinstance(item["value"], bool) or not isinstance(item["value"], int | float | str):
            self.problem((*path, "value"), f"expected a number, got {describe(item['value'])}")
            ok = False
        clean: dict[str, Any] = {"dataset": clean_dataset, "value": item.get("value")}
        for key in ("verifyToken", "date", "notes"):
            value = item.get(key)
            if isinstance(value, dt.date):  # an unquoted YAML date
                value = value.isoformat()
            text = self.text((*path, key), value)
            ok = ok and (value is None or text is not None)
            if text is not None:
                clean[key] = text
        source = self.source((*path, "source"), item.get("source"))
        ok = ok and source is not False
        if isinstance(source, dict) and source:
            clean["source"] = source
        return clean if ok else None

    def text(self, path: tuple[Any, ...], value: object) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self.problem(path, f"expected text, got {describe(value)}")
        return None

    def source(self, path: tuple[Any, ...], value: object) -> dict[str, str] | bool:
        """The source as text fields; False when it cannot be read."""
        if value is None or value == {}:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"expected source: {{url, name}}, got {describe(value)}")
            return False
        self.unknown(path, value, SOURCE_KEYS)
        found = {}
        for key in SOURCE_KEYS:
            if key in value:
                text = self.text((*path, key), value[key])
                if text is None:
                    return False
                found[key] = text
        if found and "url" not in found:
            self.problem(path, "source has no url (the Hub requires one when a source is given)")
            return False
        return found

    def unknown(self, path: tuple[Any, ...], item: dict[Any, Any], known: tuple[str, ...]) -> None:
        spellings = key_set(*known)
        for key in item:
            if str(key) in known:
                continue
            found = CardWarning(
                self.doc.file,
                self.doc.line((*path, key)),
                format_path((*path, key)),
                "unknown key, not used (the Hub reads exactly: " + ", ".join(known) + ")",
                suggest(str(key), spellings),
            )
            self.read.unknown_keys.append(found)
            self.warnings.append(found)

    def figure(self, path: tuple[Any, ...], entry: Any) -> _Figure | None:
        dataset = HUB_DATASETS.get(entry.dataset_id.lower(), entry.dataset_id)
        if dataset == entry.dataset_id:
            self.notes.append(
                f"{self.at((*path, 'dataset', 'id'))}: dataset {entry.dataset_id!r} is not one "
                f"mixbench knows (ImageNet is {IMAGENET_HUB_ID}): kept under its id"
            )
        name = self.metric_name(path, entry)
        try:
            metric = self.metric(path, name, entry)
        except ValueProblem as error:
            self.problem((*path, "value"), str(error))
            return None
        record = {
            "file": self.doc.file,
            "line": self.doc.line(path),
            **{key: getattr(entry, key) for key in entry_fields() if key != "verify_token"},
            "verified": entry.verify_token is not None,
        }
        return _Figure(dataset, entry.dataset_id, metric, self.doc.file, record["line"], record)

    def metric_name(self, path: tuple[Any, ...], entry: Any) -> str:
        task = entry.task_id
        canonical = canonical_metric(task, None)
        if canonical in (TOP1, TOP5):
            return canonical
        named = _top_k(task)
        if named is not None:
            return named
        from_notes = _top_k(entry.notes or "")
        where = self.at((*path, "dataset", "task_id"))
        if from_notes is not None:
            self.notes.append(f"{where}: task {task!r} read as {from_notes}, as its notes say")
            return from_notes
        self.notes.append(
            f"{where}: task {task!r} names no metric mixbench compares (top-1, top-5): "
            "kept under its own name"
        )
        return task

    def metric(self, path: tuple[Any, ...], name: str, entry: Any) -> Metric:
        value = entry.value
        if isinstance(value, str) and "," in value:  # 76,5: a decimal comma, or 1,000?
            raise ValueProblem(f"not a number: {value!r} (write a decimal point: 76.5)")
        explicit = isinstance(value, str) and value.strip().endswith("%")
        number, resolution = parse_number(value.strip().rstrip("%") if explicit else value)
        accuracy = name in (TOP1, TOP5) or explicit
        if not accuracy:
            return Metric(name, number, entry.task_id, False, resolution)
        notes = entry.notes or ""
        declared = "percent" if explicit or _PERCENT.search(notes) else None
        declared = declared or ("fraction" if _FRACTION.search(notes) else None)
        fraction = declared == "fraction" or (declared is None and 0 < number <= 1)
        if fraction:
            if not 0 <= number <= 1:
                raise ValueProblem(f"accuracy {value!r} is not a fraction in [0, 1], as notes say")
            number, resolution = round(number * 100, 10), round(resolution * 100, 10)
            if declared is None:
                self.notes.append(
                    f"{self.at((*path, 'value'))}: {name} {value!r} read as a fraction, "
                    f"converted to {number}% (the format does not say; a value in (0, 1] is "
                    "read as one: write 'in percent' in notes to say otherwise)"
                )
        if not 0 <= number <= 100:
            raise ValueProblem(f"accuracy {value!r} is outside 0–100%")
        return Metric(name, number, entry.task_id, True, resolution, fraction)


def _top_k(text: str) -> str | None:
    """``top1`` or ``top5`` named in ``text``; none for an error rate (``top1_error``): its
    value is 100 minus the accuracy, kept under its own name."""
    lowered = text.lower()
    match = _TOP_K.search(lowered)
    if match is None or re.search(r"err(or)?s?(?![a-z])", lowered):
        return None
    return f"top{int(match.group(1) or match.group(2))}"


def _results(figures: list[_Figure], read: EvalResultsRead, notes: list[str]) -> tuple[Result, ...]:
    """One result per dataset; a metric given twice is said (same value) or a problem."""
    by_dataset: dict[str, tuple[str, str, dict[str, Metric]]] = {}
    first: dict[tuple[str, str], _Figure] = {}
    for figure in figures:
        key = loose_dataset_key(figure.dataset)
        _, _, metrics = by_dataset.setdefault(key, (figure.dataset, figure.hub_id, {}))
        seen = first.get((key, figure.metric.name))
        if seen is None:
            first[(key, figure.metric.name)] = figure
            metrics[figure.metric.name] = figure.metric
            continue
        if seen.metric.value == figure.metric.value:
            notes.append(f"{figure.at}: {figure.metric.name} given again (as at {seen.at})")
            continue
        read.problems.append(
            Problem(
                figure.file,
                figure.line,
                figure.metric.name,
                f"{figure.metric.value} on {figure.dataset}, but {seen.metric.value} at "
                f"{seen.at}: which one is the model's?",
            )
        )
    return tuple(
        Result(_task(dataset), dataset, metrics, dataset_type=hub_id)
        for dataset, hub_id, metrics in by_dataset.values()
    )


def _task(dataset: str) -> str | None:
    known = {loose_dataset_key(name) for name in HUB_DATASETS.values()}
    return "Image Classification" if loose_dataset_key(dataset) in known else None


__all__ = [
    "EVAL_RESULTS_DIR",
    "HUB_DATASETS",
    "IMAGENET_HUB_ID",
    "PERCENT_NOTE",
    "EvalResultsRead",
    "HubFormat",
    "check_eval_results",
    "hub_format",
    "is_eval_results",
    "load_eval_results",
    "read_eval_results",
    "repo_name",
]
