"""paperswithcode's evaluation tables — archived as ``pwc-archive`` on the Hugging Face Hub —
as cards: one card per leaderboard row on the chosen dataset.

paperswithcode.com closed in 2025; its ``evaluation-tables.json`` (the sota-extractor
``taskdb`` format) is a list of tasks::

    [{"task": "Image Classification", "description": "...", "categories": [...],
      "datasets": [{"dataset": "ImageNet", "description": "...",
                    "subdatasets": [{"subdataset": "...", "sota": {...}}],
                    "sota": {"metrics": ["Top 1 Accuracy", ...],
                             "rows": [{"model_name": "MixNet-L",
                                       "paper_title": "...", "paper_url": "...",
                                       "paper_date": "2019-07-22",
                                       "code_links": [{"title": "...", "url": "..."}],
                                       "model_links": [],
                                       "metrics": {"Top 1 Accuracy": "78.9%",
                                                   "Number of params": "7.3M"},
                                       "uses_additional_data": false}]}}],
      "subtasks": [<tasks of the same shape>]}, ...]

Read here: that whole file, a slice of it (one task object, or one dataset object), JSON Lines
of task objects (one per line: what the Hub's parquet rows become through ``to_json``), and
any of these gzipped (``evaluation-tables.json.gz`` was the original download).

Size: the real archive is hundreds of MB, so a file whose top level is a list (or JSON Lines)
is read one task at a time — memory is bounded by the largest task, not by the file, and no
file-size limit applies to it (unlike the 16 MB :data:`~mixbench.index.documents.MAX_INDEX_BYTES`
of model-index files). A file that is a single object is parsed whole, up to
:data:`MAX_VALUE_CHARS`.

Rows are picked by dataset, matched loosely (:func:`~mixbench.index.cards.dataset_key`:
"ImageNet" = "imagenet-1k" = "ILSVRC2012"), in every task and subtask; a subdataset counts by
its own name only (it is another split). Metric names go through the model-index reader's
normalisation: top-k accuracies by :func:`~mixbench.index.normalise.canonical_metric`, card
figures by their model-index keys (``Parameters``, ``FLOPs``) or paperswithcode's own
(``Number of params``, ``GFLOPs``); values parse as on any card ("78.9%", "4.1M", "1.3G").
Nothing is dropped unsaid: a metric mixbench does not compare is kept in the card's ``extra``
and counted in a note, a value that does not parse is a warning naming the file, task,
dataset, row and model, and a file of the wrong shape is bad input (exit 2).
"""

from __future__ import annotations

import difflib
import gzip
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mixbench.errors import IndexProblems, InputError, Problem
from mixbench.index.cards import TOP1, TOP5, CardWarning, Location, Metric, ModelCard, Paper, Result
from mixbench.index.cards import dataset_key as loose_dataset_key
from mixbench.index.documents import display_path
from mixbench.index.fields import CARD_FIGURES, FIELDS
from mixbench.index.keys import METRIC_NAMES, key_set, normalise_key, suggest
from mixbench.index.normalise import canonical_metric
from mixbench.index.values import ValueProblem, describe, parse_percent

DEFAULT_DATASET = "ImageNet"
#: the forms this reader takes; a plain ``.json`` is sniffed (it may be a model index)
ARCHIVE_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
#: how much of a ``.json`` file is looked at to tell an archive from a model index
HEAD_CHARS = 256 * 1024
#: read at a time; a task longer than the buffer grows it (doubling: linear in the task)
CHUNK_CHARS = 1 << 20
#: the largest single JSON value parsed whole: one task of a list, or a file that is one
#: object (the real archive's largest task is a few MB)
MAX_VALUE_CHARS = 256_000_000
#: problems listed before reading stops (a file of the wrong shape has one per entry)
MAX_PROBLEMS = 100
#: cell texts that mean "no figure" in a leaderboard: not published, not a parse failure
_EMPTY_CELLS = frozenset({"", "-", "—", "–", "n/a", "na", "none", "null", "?"})

_ARCHIVE_KEY = re.compile(r'"(?:sota|datasets|subtasks|subdatasets)"\s*:')
_MODEL_INDEX_KEY = re.compile(r'"(?:models|collections|model[-_ ]index)"\s*:', re.IGNORECASE)

# paperswithcode's column names for card figures: normalised name → (figure, unit suffix a
# bare number is in). "GFLOPs" 0.256 is 256M; the model-index keys (Parameters, FLOPs, ...)
# are read too, through the card schema.
_PWC_FIGURES: dict[str, tuple[str, str]] = {
    **{normalise_key(key): (f.name, "") for f in CARD_FIGURES for key in f.keys},
    "number_of_params": ("params", ""),
    "params_(m)": ("params", "M"),
    "mparams": ("params", "M"),
    "gflops": ("flops", "G"),
    "mflops": ("flops", "M"),
    "flops_(g)": ("flops", "G"),
    "flops_(m)": ("flops", "M"),
}
_KNOWN_METRICS = {
    **METRIC_NAMES,
    **key_set("Number of params", "GFLOPs", *(k for f in CARD_FIGURES for k in f.keys)),
}


@dataclass(frozen=True)
class ArchiveRead:
    """The cards of one archive file on one dataset, and what was said reading it."""

    cards: tuple[ModelCard, ...]
    dataset: str
    notes: tuple[str, ...] = ()


def is_pwc_archive(path: Path) -> bool:
    """True for a file in one of the archive's forms (a ``.json`` one is sniffed: a model
    index in JSON has ``Models``/``model-index``, an archive ``datasets``/``sota``)."""
    name = path.name.lower()
    if not path.is_file() or not name.endswith(ARCHIVE_SUFFIXES):
        return False
    if not name.endswith(".json"):
        return True  # .jsonl and .gz: no model-index form uses them
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            head = stream.read(HEAD_CHARS)
    except OSError:
        return False
    return bool(_ARCHIVE_KEY.search(head)) and not _MODEL_INDEX_KEY.search(head)


def read_pwc_archive(path: str | Path, dataset: str | None = None) -> ArchiveRead:
    """One card per row on ``dataset`` (default ImageNet) of the archive at ``path``.

    Raises :class:`~mixbench.errors.IndexProblems` when the file is malformed or of the wrong
    shape, :class:`~mixbench.errors.InputError` when it has no row on the dataset.
    """
    path = Path(path)
    wanted = (dataset or DEFAULT_DATASET).strip()
    if not loose_dataset_key(wanted):
        raise InputError(
            f"--dataset {dataset!r}: not a dataset name", hint="e.g. --dataset imagenet"
        )
    reader = _Reader(display_path(path), loose_dataset_key(wanted))
    for where, value in _values(path, reader.shown, reader.problems):
        reader.top_level(where, value)
        if len(reader.problems) >= MAX_PROBLEMS:
            reader.problems.append(Problem(reader.shown, None, "", "and more problems: not read"))
            break
    if reader.problems:
        raise IndexProblems(
            reader.problems,
            hint="a paperswithcode archive is a list of tasks {task, datasets: [{dataset, sota: "
            "{rows: [{model_name, metrics}]}}], subtasks}, one task, or one dataset",
        )
    if not reader.rows:
        raise _no_rows(reader, wanted)
    return ArchiveRead(tuple(reader.cards()), wanted, tuple(reader.notes(wanted, dataset is None)))


def _no_rows(reader: _Reader, wanted: str) -> InputError:
    names = list(reader.datasets_seen)
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    if close:
        hint = f"did you mean --dataset {close[0]!r}?"
    elif names:
        shown = ", ".join(repr(name) for name, _ in reader.datasets_seen.most_common(5))
        hint = f"its datasets with the most rows: {shown}; pass --dataset NAME"
    else:
        hint = "the file has no dataset at all: is it a paperswithcode evaluation-tables file?"
    return InputError(f"{reader.shown}: no leaderboard rows on {wanted}", hint=hint)


# ------------------------------------------------------------------------ JSON, streamed


def _open(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return path.open(encoding="utf-8-sig")


def _values(path: Path, shown: str, problems: list[Problem]) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` of each top-level value: each task of a list (``[3]``), each line of
    JSON Lines (``line 3``), or the one object (``""``). Read errors become problems."""
    try:
        with _open(path) as stream:
            if path.name.lower().removesuffix(".gz").endswith(".jsonl"):
                yield from _json_lines(stream, shown, problems)
            else:
                yield from _json_values(stream, shown, problems)
    except UnicodeDecodeError as error:
        problems.append(Problem(shown, None, "", f"not UTF-8 text (byte {error.start})"))
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        problems.append(Problem(shown, None, "", f"cannot read file: {error}"))


def _json_lines(stream: IO[str], shown: str, problems: list[Problem]) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        value = _parse(line, shown, problems, first_line=number)
        if problems:
            return
        yield f"line {number}", value


def _json_values(stream: IO[str], shown: str, problems: list[Problem]) -> Iterator[tuple[str, Any]]:
    buffer = _JsonBuffer(stream)
    first = buffer.peek()
    if first is None:
        problems.append(Problem(shown, None, "", "empty file: expected a paperswithcode archive"))
        return
    if first != "[":
        text = buffer.rest(MAX_VALUE_CHARS)
        if text is None:
            problems.append(_too_large(shown, "a file that is one JSON object"))
            return
        value = _parse(text, shown, problems, first_line=1)
        if not problems:
            yield "", value
        return
    yield from _list_items(buffer, shown, problems)


def _list_items(
    buffer: _JsonBuffer, shown: str, problems: list[Problem]
) -> Iterator[tuple[str, Any]]:
    """The items of a top-level JSON list, one at a time."""
    buffer.take(1)  # "["
    index = 0
    while True:
        mark = buffer.peek()
        if mark == "]" and index == 0:
            buffer.take(1)
            break
        try:
            value = buffer.decode()
        except _Malformed as error:
            problems.append(Problem(shown, error.line, "", error.message))
            return
        yield f"[{index}]", value
        index += 1
        mark = buffer.peek()
        if mark == ",":
            buffer.take(1)
            continue
        if mark == "]":
            buffer.take(1)
            break
        found = "the end of the file" if mark is None else repr(mark)
        problems.append(
            Problem(shown, buffer.line, "", f"malformed JSON: expected ',' or ']', found {found}")
        )
        return
    if buffer.peek() is not None:
        problems.append(
            Problem(shown, buffer.line, "", "malformed JSON: extra data after the list")
        )


def _parse(text: str, shown: str, problems: list[Problem], *, first_line: int) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        line = first_line + error.lineno - 1
        problems.append(Problem(shown, line, "", f"malformed JSON: {error.msg}"))
    except RecursionError:
        problems.append(Problem(shown, first_line, "", "JSON nested too deeply"))
    except ValueError as error:  # an integer of more digits than Python converts
        problems.append(Problem(shown, first_line, "", f"unreadable JSON: {error}"))
    return None


def _too_large(shown: str, what: str) -> Problem:
    limit = f"{MAX_VALUE_CHARS / 1e6:.0f} MB"
    return Problem(
        shown, None, "", f"{what} larger than {limit}: split it, or give a list of tasks"
    )


class _Malformed(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _maybe_cut(error: json.JSONDecodeError, length: int) -> bool:
    """Whether a decoding error may be the window's end cutting a value (else it is a real
    one, said at once rather than after reading the rest of the file)."""
    return error.pos >= length - 8 or error.msg.startswith("Unterminated string")


class _JsonBuffer:
    """A window on a text stream that decodes one JSON value at a time. A value cut by the
    end of the window is decoded again once the window has grown (by doubling, so a long
    value costs time linear in its length); lines are counted as the window moves on."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.lines_before = 0  # newlines in the text already dropped from the window
        self.eof = False
        self.decoder = json.JSONDecoder()

    @property
    def line(self) -> int:
        return self.lines_before + self.text.count("\n", 0, self.pos) + 1

    def _more(self, size: int) -> bool:
        if self.eof:
            return False
        if self.pos > CHUNK_CHARS:  # drop what was read (copying the rest once per chunk)
            self.lines_before += self.text.count("\n", 0, self.pos)
            self.text, self.pos = self.text[self.pos :], 0
        chunk = self.stream.read(size)
        if not chunk:
            self.eof = True
            return False
        self.text += chunk
        return True

    def peek(self) -> str | None:
        """The next character that is not white space (None at the end of the file)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more(CHUNK_CHARS):
                return None

    def take(self, count: int) -> None:
        self.pos += count

    def rest(self, limit: int) -> str | None:
        """Everything left (None when longer than ``limit``), joined once."""
        parts, total = [self.text[self.pos :]], len(self.text) - self.pos
        while chunk := self.stream.read(CHUNK_CHARS):
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                return None
        self.eof = True
        return "".join(parts)

    def decode(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if _maybe_cut(error, len(self.text)) and self._grow():
                    continue
                line = self.lines_before + error.lineno
                raise _Malformed(line, f"malformed JSON: {error.msg}") from None
            except RecursionError:
                raise _Malformed(self.line, "JSON nested too deeply") from None
            except ValueError as error:  # an integer of more digits than Python converts
                raise _Malformed(self.line, f"unreadable JSON: {error}") from None
            if end == len(self.text) and self._grow():
                continue  # a number or literal may go on past the window
            self.pos = end
            return value

    def _grow(self) -> bool:
        pending = len(self.text) - self.pos
        if pending > MAX_VALUE_CHARS:
            raise _Malformed(self.line, f"one task is larger than {MAX_VALUE_CHARS / 1e6:.0f} MB")
        return self._more(max(CHUNK_CHARS, pending))


# ------------------------------------------------------------------------ tasks and rows


@dataclass
class _Row:
    """One leaderboard row read into card parts; rows of one model and paper merge."""

    name: str
    where: str
    task: str
    dataset: str
    paper: Paper | None
    code_url: str | None
    figures: dict[str, Any] = field(default_factory=dict)
    resolution: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[CardWarning] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Reader:
    """Walks tasks, subtasks, datasets and subdatasets, collecting the wanted rows."""

    def __init__(self, shown: str, wanted_key: str) -> None:
        self.shown = shown
        self.wanted_key = wanted_key
        self.problems: list[Problem] = []
        self.rows: dict[tuple[str, str], _Row] = {}
        self.datasets_seen: Counter[str] = Counter()
        self.tables = 0
        self.unknown_metrics: Counter[str] = Counter()
        self.empty_cells = 0
        self.renamed: list[str] = []
        self.names: set[str] = set()
        self.matched: Counter[str] = Counter()  # the wanted dataset as the file spells it

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.shown, None, where, message))

    # --- structure

    def top_level(self, where: str, value: Any) -> None:
        if not isinstance(value, dict):
            kind = "a task object" if where else "a list of tasks, a task or a dataset object"
            self.problem(where, f"expected {kind}, got {describe(value)}")
            return
        if "sota" in value and not ({"datasets", "subtasks"} & value.keys()):
            self.dataset(value, where, task="")  # a slice: one dataset object
        else:
            self.walk(value, where)

    def walk(self, root: dict[str, Any], where: str) -> None:
        """A task and its subtasks, depth first in file order (a stack: no recursion limit)."""
        stack: list[tuple[Any, str, str]] = [(root, where, "")]
        while stack and len(self.problems) < MAX_PROBLEMS:
            task, at, parent = stack.pop()
            if not isinstance(task, dict):
                self.problem(at, f"expected a task object, got {describe(task)}")
                continue
            name = self.task_name(task, at)
            path = f"{parent} > {name}" if parent else name
            shown_at = f"{at} {path}".strip()
            for index, item in enumerate(self.listed(task, "datasets", shown_at)):
                self.dataset(item, f"{shown_at} > datasets[{index}]", task=path)
            subtasks = self.listed(task, "subtasks", shown_at)
            for index in reversed(range(len(subtasks))):
                stack.append((subtasks[index], f"{at}.subtasks[{index}]", path))

    def task_name(self, task: dict[str, Any], at: str) -> str:
        name = task.get("task")
        if isinstance(name, list) and all(isinstance(part, str) for part in name):
            name = ", ".join(name)  # sota-extractor's own example writes ["Dialogue"]
        if name is None:
            return "(unnamed task)"
        if not isinstance(name, str):
            self.problem(f"{at} task", f"expected a task name, got {describe(name)}")
            return "(unnamed task)"
        return name.strip() or "(unnamed task)"

    def listed(self, mapping: dict[str, Any], key: str, at: str) -> list[Any]:
        value = mapping.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"{at} > {key}", f"expected a list, got {describe(value)}")
            return []
        return value

    def dataset(self, item: Any, at: str, *, task: str) -> None:
        stack: list[tuple[Any, str]] = [(item, at)]
        while stack:
            entry, where = stack.pop()
            if not isinstance(entry, dict):
                self.problem(where, f"expected a dataset object, got {describe(entry)}")
                continue
            name = entry.get("dataset", entry.get("subdataset", ""))
            if not isinstance(name, str):
                self.problem(f"{where} dataset", f"expected a dataset name, got {describe(name)}")
                continue
            name = name.strip()
            self.datasets_seen[name] += _row_count(entry.get("sota"))
            if loose_dataset_key(name) == self.wanted_key:
                self.matched[name] += 1
                self.sota(entry.get("sota"), f"{where} {name}".strip(), task, name)
            subdatasets = self.listed(entry, "subdatasets", where)
            for index in reversed(range(len(subdatasets))):
                stack.append((subdatasets[index], f"{where} > subdatasets[{index}]"))

    def sota(self, sota: Any, at: str, task: str, dataset: str) -> None:
        if sota is None:
            return
        if not isinstance(sota, dict):
            self.problem(f"{at} > sota", f"expected {{metrics, rows}}, got {describe(sota)}")
            return
        rows = self.listed(sota, "rows", f"{at} > sota")
        self.tables += 1
        for index, row in enumerate(rows):
            self.row(row, f"{task} > {dataset} > rows[{index}]", task, dataset)

    # --- rows

    def row(self, row: Any, at: str, task: str, dataset: str) -> None:
        if not isinstance(row, dict):
            self.problem(at, f"expected a row object, got {describe(row)}")
            return
        name = row.get("model_name")
        if not isinstance(name, str) or not name.strip():
            got = "no model_name" if name is None else f"model_name {describe(name)}"
            self.problem(at, f"expected a model_name, got {got}")
            return
        metrics = row.get("metrics")
        if metrics is not None and not isinstance(metrics, dict):
            self.problem(f"{at} {name} > metrics", f"expected a mapping, got {describe(metrics)}")
            return
        read = self.row_parts(row, name.strip(), f"{at} ({name.strip()})", task, dataset)
        for key, value in (metrics or {}).items():
            self.cell(read, str(key), value)
        self.keep(read)

    def row_parts(self, row: dict[str, Any], name: str, at: str, task: str, dataset: str) -> _Row:
        title, url = _text(row.get("paper_title")), _text(row.get("paper_url"))
        paper = Paper(title, url) if title or url else None
        code_urls = _link_urls(row.get("code_links"))
        extra: dict[str, Any] = {"task": task}
        for key in ("paper_date", "uses_additional_data", "model_links", "code_links"):
            if row.get(key) not in (None, [], ""):
                extra[key] = row[key]
        return _Row(
            name, at, task, dataset, paper, code_urls[0] if code_urls else None, extra=extra
        )

    def cell(self, read: _Row, key: str, value: Any) -> None:
        """One metric of a row: an accuracy, a card figure, or kept as extra."""
        if value is None or (isinstance(value, str) and value.strip().lower() in _EMPTY_CELLS):
            self.empty_cells += 1  # a leaderboard leaves columns empty: not published
            return
        where = f"{read.where} > {key}"
        canonical = canonical_metric(key, None)
        figure = _PWC_FIGURES.get(normalise_key(key))
        try:
            if canonical in (TOP1, TOP5):
                number, step, fraction = parse_percent(value)
                read.metrics[canonical] = Metric(canonical, number, key, True, step, fraction)
                if fraction:
                    read.notes.append(
                        f"{self.shown}: {where}: {value!r} read as a fraction, {number}%"
                    )
            elif figure is not None:
                name, unit = figure
                parsed, step = FIELDS[name].parse(_with_unit(value, unit))
                read.figures[name] = parsed
                if step is not None:
                    read.resolution[name] = step
            else:
                read.extra.setdefault("metrics", {})[key] = value
                self.unknown_metrics[key] += 1
                suggestions = suggest(key, _KNOWN_METRICS)
                if suggestions:
                    message = "unknown metric, not compared"
                    read.warnings.append(CardWarning(self.shown, None, where, message, suggestions))
        except (ValueProblem, ArithmeticError) as error:  # decimal overflow: "1e999999999"
            message = str(error) if isinstance(error, ValueProblem) else f"out of range: {value!r}"
            read.warnings.append(CardWarning(self.shown, None, where, f"{message}; not compared"))

    def keep(self, read: _Row) -> None:
        """A row joins the card of the same model from the same paper (the same table reached
        from two tasks); the same name from another paper gets the paper in its name."""
        paper_id = (read.paper.url or read.paper.title or "") if read.paper else ""
        key = (read.name, paper_id)
        if key in self.rows:
            _merge(self.rows[key], read, self.shown)
            return
        if read.name in self.names:
            paper = (read.paper.title or paper_id) if read.paper else "no paper"
            renamed, count = f"{read.name} [{paper}]", 2
            while renamed in self.names:
                renamed, count = f"{read.name} [{paper}] #{count}", count + 1
            self.renamed.append(f"{read.name!r} from another paper is named {renamed!r}")
            read.name = renamed
            key = (renamed, paper_id)
        self.names.add(read.name)
        self.rows[key] = read

    # --- results

    def cards(self) -> list[ModelCard]:
        return [_card(read, self.shown) for read in self.rows.values()]

    def notes(self, dataset: str, defaulted: bool) -> list[str]:
        spelled = " / ".join(self.matched) or dataset
        chosen = f"{spelled} (the default; --dataset NAME for another)" if defaulted else spelled
        found = [
            f"{self.shown}: {len(self.rows)} models from {self.tables} leaderboard(s) on {chosen}"
        ]
        if self.unknown_metrics:
            listed = ", ".join(
                f"{name} ({count})" for name, count in self.unknown_metrics.most_common()
            )
            found.append(f"{self.shown}: metrics not compared (kept in the cards' extra): {listed}")
        if self.empty_cells:
            found.append(f"{self.shown}: {self.empty_cells} empty metric value(s): not published")
        found.extend(f"{self.shown}: {line}" for line in self.renamed)
        return found


def _merge(first: _Row, later: _Row, shown: str) -> None:
    """``later`` (the same model and paper in another table) into ``first``: a figure the
    first lacks is added; one that differs is a warning, and the first is kept."""
    for name, value in later.figures.items():
        if name not in first.figures:
            first.figures[name] = value
            if name in later.resolution:
                first.resolution[name] = later.resolution[name]
        elif first.figures[name] != value:
            first.warnings.append(_conflict(shown, later.where, name, value, first))
    for name, metric in later.metrics.items():
        if name not in first.metrics:
            first.metrics[name] = metric
        elif first.metrics[name].value != metric.value:
            first.warnings.append(_conflict(shown, later.where, name, metric.value, first))
    first.warnings.extend(later.warnings)
    first.notes.extend(later.notes)


def _conflict(shown: str, where: str, name: str, value: Any, first: _Row) -> CardWarning:
    message = f"{name} {value} differs from {first.where}; that one is kept"
    return CardWarning(shown, None, where, message)


def _card(read: _Row, shown: str) -> ModelCard:
    results = (Result(read.task, read.dataset, read.metrics),) if read.metrics else ()
    return ModelCard(
        name=read.name,
        paper=read.paper,
        code_url=read.code_url,
        figures=read.figures,
        tasks=(read.task,) if read.task else (),
        results=results,
        extra=read.extra,
        resolution=read.resolution,
        notes=tuple(read.notes),
        source=Location(shown),
        warnings=tuple(read.warnings),
    )


def _with_unit(value: Any, unit: str) -> Any:
    """A bare number in a column named for its unit (GFLOPs: 0.256) with that unit (0.256G)."""
    if not unit or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return f"{value!r}{unit}"
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?[\d.,_eE+-]+\s*", value):
        return f"{value.strip()}{unit}"
    return value


def _row_count(sota: Any) -> int:
    rows = sota.get("rows") if isinstance(sota, dict) else None
    return len(rows) if isinstance(rows, list) else 0


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _link_urls(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    urls = (_text(link.get("url")) for link in value if isinstance(link, dict))
    return [url for url in urls if url]


__all__ = [
    "ARCHIVE_SUFFIXES",
    "DEFAULT_DATASET",
    "ArchiveRead",
    "is_pwc_archive",
    "read_pwc_archive",
]
