"""Turning one raw model or collection entry into typed fields, collecting every problem.

Both published shapes pass through here: paperswithcode's (``Metadata:``, ``Results:`` with
``Metrics`` as a mapping) and Hugging Face's (lowercase keys, ``task``/``dataset`` as
``{name, type}``, ``metrics`` as a list of ``{name, type, value}``). Keys are matched
case-insensitively, with spaces, hyphens and underscores alike. A key that is not known
(see :mod:`mixbench.index.keys`) is kept in ``extra`` and recorded in ``unknown_keys``.

A null or empty value anywhere in an entry (``Parameters:``, ``FLOPs: null``, ``Code: {URL:
null}``, ``Metrics: {}``, ``Results: ~``) is how indexes say "not published (yet)": the figure is
absent, and each is recorded in ``not_published`` with its line, never a reason to refuse the
entry. A metric mixbench does not compare (BLEU-4, CIDEr, ...) is kept whatever its value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mixbench.index.cards import (
    NOT_PUBLISHED,
    NOT_PUBLISHED_MESSAGE,
    TOP1,
    TOP5,
    CardWarning,
    Metric,
    Paper,
    Result,
)
from mixbench.index.fields import CARD_FIGURES
from mixbench.index.keys import (
    COLLECTION_KEYS,
    METADATA_KEYS,
    METRIC_ITEM_KEYS,
    METRIC_NAMES,
    MODEL_KEYS,
    NAMED_KEYS,
    PAPER_KEYS,
    RESULT_KEYS,
    UNKNOWN_KEY,
    UNKNOWN_METRIC,
    URL_KEYS,
    normalise_key,
    suggest,
    unknown_key,
)
from mixbench.index.located_yaml import LocatedDocument, Path, format_path
from mixbench.index.values import (
    ValueProblem,
    describe,
    is_empty,
    parse_number,
    parse_percent,
    parse_text,
    parse_text_list,
)


def lookup(mapping: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Normalised key → (key as published, value)."""
    return {normalise_key(key): (key, value) for key, value in mapping.items()}


# Metadata fields: normalised key → (card attribute, parser returning (value, resolution|None)):
# the card figures' spellings (mixbench.index.fields), then the descriptive lists.
_METADATA_FIELDS: dict[str, tuple[str, Callable[[object], tuple[Any, float | None]]]] = {
    **{normalise_key(key): (f.name, f.parse) for f in CARD_FIGURES for key in f.keys},
    "architecture": ("architecture", lambda v: (parse_text_list(v), None)),
    "tasks": ("tasks", lambda v: (parse_text_list(v), None)),
    "training_data": ("training_data", lambda v: (parse_text_list(v), None)),
    "training_techniques": ("training_techniques", lambda v: (parse_text_list(v), None)),
}

# Entry keys whose empty values are no unpublished figure (see EntryReader.find_empty).
_NOT_FIGURES = frozenset({"name", "measured"})

_PERCENT_METRIC = re.compile(r"acc|top|err", re.IGNORECASE)


@dataclass
class Fields:
    """What one entry (a model or a collection) declares, before inheritance."""

    name: str | None = None
    collection: str | None = None
    collection_path: Path = ()
    values: dict[str, Any] = field(default_factory=dict)
    resolution: dict[str, float] = field(default_factory=dict)
    results: dict[tuple[str, str], Result] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    line: int | None = None
    # Every key not known where it stands; the ones with a suggestion are warnings.
    unknown_keys: list[CardWarning] = field(default_factory=list)
    # Every null or empty value, by its path inside the entry (inheritance drops the ones the
    # other side of a model/collection pair publishes).
    not_published: list[tuple[Path, CardWarning]] = field(default_factory=list)
    # The entry as published, to tell what it publishes at a path.
    raw: dict[str, Any] = field(default_factory=dict)

    def publishes(self, path: Path) -> bool:
        """Whether the entry has a value (not null, not empty) at ``path`` or publishes what
        it holds in a short form (keys compared loosely; a path through a list is never
        matched: results merge by dataset, not position)."""
        node: object = self.raw
        for part in path:
            if is_empty(node):
                return False
            if not isinstance(node, dict):
                # published in its short form (`Code: URL` for `Code: {URL: ...}`); a list's
                # items are not matched by position
                return not isinstance(node, list)
            if not isinstance(part, str):
                return False
            found = lookup(node).get(normalise_key(part))
            if found is None:
                return False
            node = found[1]
        return not is_empty(node)


class EntryReader:
    """Reads one entry of a located document, reporting problems against that document."""

    def __init__(self, doc: LocatedDocument, path: Path) -> None:
        self.doc = doc
        self.path = path
        self.unknown: list[CardWarning] = []

    def problem(self, path: Path, message: str) -> None:
        self.doc.problem(path, format_path(path), message)

    def check_key(self, path: Path, known: dict[str, str], *, message: str = UNKNOWN_KEY) -> None:
        """Record ``path[-1]`` if it is not one of ``known``."""
        found = unknown_key(self.doc, path, known, message=message)
        if found is not None:
            self.unknown.append(found)

    def check_keys(self, path: Path, mapping: dict[str, Any], known: dict[str, str]) -> None:
        for key in mapping:
            self.check_key((*path, key), known)

    def read(self, entry: object, *, kind: str) -> Fields | None:
        if not isinstance(entry, dict):
            self.problem(self.path, f"expected a {kind} mapping, got {describe(entry)}")
            return None
        fields = Fields(line=self.doc.line(self.path), unknown_keys=self.unknown, raw=entry)
        fields.not_published = self.find_empty(entry)
        keys = lookup(entry)
        known = MODEL_KEYS if kind == "model" else COLLECTION_KEYS
        for norm, (key, value) in keys.items():
            path = (*self.path, key)
            if norm == "name":
                fields.name = self.text(path, value)
            elif norm in ("in_collection", "collection") and kind == "model":
                if not is_empty(value):  # empty: no collection (said in not_published)
                    fields.collection = self.text(path, value)
                    fields.collection_path = path
            elif norm == "metadata":
                self.metadata(path, value, fields)
            elif norm == "results":
                self.results(path, value, fields)
            elif norm == "paper":
                fields.values["paper"] = self.paper(path, value)
            elif norm in ("code", "weights"):
                url = self.url(path, value)
                if url is not None:
                    fields.values[f"{norm}_url"] = url
            else:
                self.check_key(path, known)
                fields.extra[key] = value
        if kind == "model" and fields.name is None and "name" not in keys:
            self.problem(self.path, "model has no Name")
        return fields

    def find_empty(self, entry: dict[str, Any]) -> list[tuple[Path, CardWarning]]:
        """Every null or empty value in the entry, in reading order, by its path inside it.

        Not among them: the entry's ``Name`` (a model without a name cannot be a card: an
        error), nor what ``mixbench export`` writes under ``Measured`` (the runs behind measured
        figures, ``Runs: {}`` when none are stored: no figure a card publishes). Iterative: a
        document as deep as the YAML reader allows never recurses here.
        """
        found: list[tuple[Path, CardWarning]] = []
        pending: list[tuple[Path, object]] = [
            ((key,), value)
            for key, value in entry.items()
            if normalise_key(key) not in _NOT_FIGURES
        ]
        pending.reverse()
        while pending:
            inside, value = pending.pop()
            if is_empty(value):
                found.append((inside, self.not_published(inside)))
                continue
            children: list[tuple[Path, object]] = []
            if isinstance(value, dict):
                children = [((*inside, key), item) for key, item in value.items()]
            elif isinstance(value, list):
                children = [((*inside, index), item) for index, item in enumerate(value)]
            pending.extend(reversed(children))
        return found

    def not_published(self, inside: Path) -> CardWarning:
        path = (*self.path, *inside)
        return CardWarning(
            self.doc.file,
            self.doc.line(path),
            format_path(path),
            NOT_PUBLISHED_MESSAGE,
            kind=NOT_PUBLISHED,
        )

    def text(self, path: Path, value: object) -> str | None:
        try:
            text = parse_text(value, "a name").strip()
        except ValueProblem as error:
            self.problem(path, str(error))
            return None
        if not text:
            self.problem(path, "empty name")
            return None
        return text

    def url(self, path: Path, value: object) -> str | None:
        if is_empty(value):
            return None
        if isinstance(value, dict):
            self.check_keys(path, value, URL_KEYS)
            found = lookup(value).get("url")
            if found is not None and is_empty(found[1]):
                return None  # `Code: {URL: null}`: not published
            value = found[1] if found else None
        if not isinstance(value, str):
            self.problem(path, f"expected a URL, got {describe(value)}")
            return None
        return value.strip()

    def paper(self, path: Path, value: object) -> Paper | None:
        if is_empty(value):
            return None
        if isinstance(value, str):
            is_url = value.strip().startswith(("http://", "https://"))
            return Paper(url=value.strip()) if is_url else Paper(title=value.strip())
        if not isinstance(value, dict):
            self.problem(path, f"expected a title, a URL or {{Title, URL}}, got {describe(value)}")
            return None
        self.check_keys(path, value, PAPER_KEYS)
        keys = lookup(value)
        title = keys.get("title", (None, None))[1]
        url = keys.get("url", (None, None))[1]
        for name, item in (("Title", title), ("URL", url)):
            if not is_empty(item) and not isinstance(item, str):
                self.problem((*path, name), f"expected text, got {describe(item)}")
        title = title.strip() if isinstance(title, str) and not is_empty(title) else None
        url = url.strip() if isinstance(url, str) and not is_empty(url) else None
        return Paper(title=title, url=url) if title or url else None

    def metadata(self, path: Path, value: object, fields: Fields) -> None:
        if is_empty(value):
            return
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping of metadata fields, got {describe(value)}")
            return
        unknown: dict[str, Any] = {}
        for norm, (key, item) in lookup(value).items():
            if norm not in _METADATA_FIELDS:
                self.check_key((*path, key), METADATA_KEYS)
                unknown[key] = item
                continue
            if is_empty(item):
                continue  # not published: absent from the card
            attribute, parse = _METADATA_FIELDS[norm]
            try:
                parsed, resolution = parse(item)
            except ValueProblem as error:
                self.problem((*path, key), str(error))
                continue
            fields.values[attribute] = parsed
            if resolution is not None:
                fields.resolution[attribute] = resolution
        if unknown:
            fields.extra[path[-1]] = unknown

    def results(self, path: Path, value: object, fields: Fields) -> None:
        if is_empty(value):
            return
        if not isinstance(value, list):
            self.problem(path, f"expected a list of results, got {describe(value)}")
            return
        for index, item in enumerate(value):
            if is_empty(item):
                continue
            result = self.result((*path, index), item, fields)
            if result is not None:
                key = (result.task or "", result.dataset_key)
                previous = fields.results.get(key)
                if previous is not None:
                    self.conflicts((*path, index), previous.metrics, result.metrics)
                merged = {**previous.metrics, **result.metrics} if previous else result.metrics
                fields.results[key] = Result(
                    result.task, result.dataset, merged, result.dataset_type
                )

    def result(self, path: Path, item: object, fields: Fields) -> Result | None:
        if not isinstance(item, dict):
            expected = "a result mapping (Task, Dataset, Metrics)"
            self.problem(path, f"expected {expected}, got {describe(item)}")
            return None
        self.check_keys(path, item, RESULT_KEYS)
        keys = lookup(item)
        task_key, task_value = keys.get("task", ("Task", None))
        task, _ = self.named((*path, task_key), task_value)
        dataset_key, dataset_value = keys.get("dataset", ("Dataset", None))
        dataset, dataset_type = self.named((*path, dataset_key), dataset_value)
        if dataset is None and dataset_type is None and "dataset" not in keys:
            self.problem(path, "result has no Dataset")  # an empty one is not published
        metrics: dict[str, Metric] = {}
        if "metrics" not in keys:
            self.problem(path, "result has no Metrics")
        else:
            key, raw = keys["metrics"]
            for metric in self.metrics((*path, key), raw, fields):
                self.conflicts((*path, key), metrics, {metric.name: metric})
                metrics[metric.name] = metric
        return Result(task, dataset, metrics, dataset_type)

    def conflicts(self, path: Path, known: dict[str, Metric], new: dict[str, Metric]) -> None:
        """One metric published twice (``Top 1 Accuracy`` and ``top1``, or in two results on one
        dataset) with two values: which one the card means is not for mixbench to pick."""
        for name, metric in new.items():
            if name in known and known[name].value != metric.value:
                first, second = known[name], metric
                self.problem(
                    path,
                    f"{name} published twice: {first.published_name} {first.value!r} and "
                    f"{second.published_name} {second.value!r}",
                )

    def named(self, path: Path, value: object) -> tuple[str | None, str | None]:
        """A task or dataset: plain text, or Hugging Face's ``{name, type}``."""
        if is_empty(value):
            return None, None
        if isinstance(value, str):
            return value.strip(), None
        if isinstance(value, dict):
            self.check_keys(path, value, NAMED_KEYS)
            keys = lookup(value)
            name = keys.get("name", (None, None))[1]
            kind = keys.get("type", (None, None))[1]
            name, kind = (None if is_empty(part) else part for part in (name, kind))
            if (name is None or isinstance(name, str)) and (kind is None or isinstance(kind, str)):
                if name is None and kind is None and not {"name", "type"} & keys.keys():
                    self.problem(path, "expected a name or a type")
                return name, kind
        self.problem(path, f"expected a name or {{name, type}}, got {describe(value)}")
        return None, None

    def metrics(self, path: Path, value: object, fields: Fields) -> list[Metric]:
        pairs: list[tuple[Path, str | None, str | None, object]] = []
        if is_empty(value):
            return []
        if isinstance(value, dict):
            pairs = [
                ((*path, key), key, None, item)
                for key, item in value.items()
                if not is_empty(item)  # not published: absent
            ]
            for key in value:
                if canonical_metric(key, None) not in (TOP1, TOP5):
                    self.check_unknown_metric((*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if is_empty(item):
                    continue
                if not isinstance(item, dict):
                    got = describe(item)
                    self.problem((*path, index), f"expected {{name, type, value}}, got {got}")
                    continue
                self.check_keys((*path, index), item, METRIC_ITEM_KEYS)
                keys = lookup(item)
                name, kind = keys.get("name", (0, None))[1], keys.get("type", (0, None))[1]
                if "value" not in keys:
                    self.problem((*path, index), "metric has no value")
                    continue
                name, kind = (None if is_empty(part) else part for part in (name, kind))
                if not all(part is None or isinstance(part, str) for part in (name, kind)):
                    self.problem((*path, index), "metric name and type must be text")
                    continue
                if is_empty(keys["value"][1]):
                    continue  # not published
                pairs.append(((*path, index, keys["value"][0]), name, kind, keys["value"][1]))
                self.check_listed_metric((*path, index), keys, name, kind)
        else:
            self.problem(path, f"expected a mapping or a list of metrics, got {describe(value)}")
        return [m for m in (self.metric(*pair, fields) for pair in pairs) if m is not None]

    def metric(
        self, path: Path, name: str | None, kind: str | None, value: object, fields: Fields
    ) -> Metric | None:
        published = name or kind or ""
        if not published:
            self.problem(path, "metric has neither name nor type")
            return None
        canonical = canonical_metric(name, kind)
        compared = canonical in (TOP1, TOP5)
        try:
            if compared or _PERCENT_METRIC.search(published):
                number, resolution, fraction = parse_percent(value)
            else:
                number, resolution = parse_number(value)
                fraction = False
        except ValueProblem as error:
            if not compared:  # never compared: kept as published, never costs the model
                return Metric(canonical, as_published(value), published)
            self.problem(path, str(error))
            return None
        if fraction:
            line = self.doc.line(path)
            fields.notes.append(
                f"{self.doc.file}:{line}: {published} {value!r} read as a fraction, "
                f"converted to {number}%"
            )
        percent = canonical in (TOP1, TOP5) or bool(_PERCENT_METRIC.search(published))
        return Metric(canonical, number, published, percent, resolution, fraction)

    def check_unknown_metric(self, path: Path) -> None:
        """A metric mixbench does not compare: recorded, with a suggestion when misspelled."""
        self.check_key(path, METRIC_NAMES, message=UNKNOWN_METRIC)

    def check_listed_metric(
        self, path: Path, keys: dict[str, tuple[str, Any]], name: str | None, kind: str | None
    ) -> None:
        """A Hugging Face ``{name, type, value}`` metric that mixbench will not read as named.

        A generic ``type: accuracy`` reads as top-1, so a misspelled ``name: Top 5 Acuracy``
        would silently count as top-1: that is said out loud, as is a metric never compared.
        """
        if name and canonical_metric(name, None) in (TOP1, TOP5):
            return
        if canonical_metric(name, kind) in (TOP1, TOP5):
            suggestions = suggest(name, METRIC_NAMES) if name else ()
            if suggestions:  # otherwise a free-form display name, and the type decides
                at = (*path, keys["name"][0])
                message = f"metric name not recognised, read as {canonical_metric(None, kind)}"
                self.record(at, message, suggestions)
            return
        suggestions = suggest(name or "", METRIC_NAMES) or suggest(kind or "", METRIC_NAMES)
        self.record(path, UNKNOWN_METRIC, suggestions)

    def record(self, path: Path, message: str, suggestions: tuple[str, ...]) -> None:
        line = self.doc.line(path)
        self.unknown.append(
            CardWarning(self.doc.file, line, format_path(path), message, suggestions)
        )


def as_published(value: object) -> float | str:
    """A metric value mixbench does not read as a figure, kept: a number as a number, else
    its text (a mapping or a list as written)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return value.strip() if isinstance(value, str) else str(value)


# "top1", "top-5 accuracy", "acc@1", "accuracy_top1", ...
_TOP_K = re.compile(
    r"top[-_ ]?(\d+)(?:[-_ ]?acc(?:uracy)?)?"
    r"|acc(?:uracy)?[-_ ]?@?[-_ ]?(?:top[-_ ]?)?(\d+)"
)


def canonical_metric(name: str | None, kind: str | None) -> str:
    """``'Top 1 Accuracy'``, ``'top1'``, ``'acc@1'``, HF ``type: accuracy`` → ``'top1'``.

    A generic ``type: accuracy`` is top-1 unless its free-form name says which: ``Top-5 acc.
    on val (%)`` is top-5, and an error rate (``Top-1 error``) is no accuracy at all (kept
    under its name)."""
    for text in (name, kind):
        if not text:
            continue
        squashed = text.strip().lower()
        match = _TOP_K.fullmatch(squashed)
        if match:
            return f"top{match.group(1) or match.group(2)}"
        if squashed in ("accuracy", "acc"):
            said = (name or "").lower()
            if _ERROR.search(said):
                return (name or "").strip()
            named = _NAMED_TOP_K.search(said)
            return f"top{named.group(1) or named.group(2)}" if named else TOP1
    return (name or kind or "").strip()


#: a top-k anywhere in a free-form name (``Top-5 acc. on val (%)``), and an error rate
_NAMED_TOP_K = re.compile(r"(?<![a-z0-9])(?:top[-_ ]?(\d+)|acc(?:uracy)?[-_ ]?@[-_ ]?(\d+))(?!\d)")
_ERROR = re.compile(r"(?<![a-z])err(or)?s?(?![a-z])")
