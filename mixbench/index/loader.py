"""Loading a model index: files, ``Import:`` trees, collections and inheritance.

All problems in all files are collected before anything is raised, so one run of
``mixbench index check`` shows everything wrong. A problem costs only what it is in: a model
with a broken value (or whose collection has one, or whose name is taken) is left out
(:class:`LeftOut`, with its problems), a file that does not parse loses its own models, and
everything else loads.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mixbench.errors import Problem
from mixbench.index.cards import CardWarning, Location, ModelCard, Result
from mixbench.index.documents import (
    INDEX_SUFFIXES,
    MARKDOWN_SUFFIXES,
    display_path,
    markdown_documents,
    read_documents,
    read_text,
)
from mixbench.index.fields import FIELDS
from mixbench.index.keys import DOCUMENT_KEYS, unknown_key
from mixbench.index.located_yaml import LocatedDocument, format_path
from mixbench.index.normalise import EntryReader, Fields, lookup
from mixbench.index.values import describe
from mixbench.io import exists

ROOT_NAMES = ("model-index.yml", "model-index.yaml", "model_index.yml", "model-index.json")
#: What a folder without a root file is read for: every file of these kinds in it.
CARD_SUFFIXES = frozenset(INDEX_SUFFIXES)


@dataclass
class _Entry:
    fields: Fields
    doc: LocatedDocument
    # the problems inside the entry: a model with any is left out, and so are a collection's
    # models when it has any
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class LeftOut:
    """A model that is in the source but not loaded, and why: the problems in its entry, or in
    its collection (``collection`` names it then), each located as ``file:line``."""

    name: str | None
    source: Location
    problems: tuple[Problem, ...]
    collection: str | None = None

    def reason(self) -> str:
        """The first problem (and how many more): what to fix for the model to load."""
        first = str(self.problems[0]) if self.problems else "unreadable"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        via = f"its collection {self.collection!r} has a problem: " if self.collection else ""
        return f"{via}{first}{more}"

    def __str__(self) -> str:
        return f"{self.name or 'a model without a Name'} ({self.source}): {self.reason()}"


@dataclass
class IndexContents:
    """Everything read from a source tree, before cards are assembled."""

    # every model entry read as a mapping (named or not, with its problems)
    models: list[_Entry] = field(default_factory=list)
    collections: list[_Entry] = field(default_factory=list)
    # model entries that are not even a mapping: left out before they have fields
    unreadable: list[LeftOut] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Unknown top-level keys (entries keep their own in Fields.unknown_keys).
    unknown_keys: list[CardWarning] = field(default_factory=list)
    # What was read but is not a card (a README in a folder of cards), said out loud.
    notes: list[str] = field(default_factory=list)

    def all_unknown_keys(self) -> list[CardWarning]:
        """Every unknown key of every document, collection and model, in reading order."""
        found = list(self.unknown_keys)
        for entry in (*self.collections, *self.models):
            found.extend(entry.fields.unknown_keys)
        return found

    def all_not_published(self) -> list[CardWarning]:
        """Every null or empty value of every collection and model, in reading order."""
        return [
            warning
            for entry in (*self.collections, *self.models)
            for _path, warning in entry.fields.not_published
        ]


def resolve_root(path: Path) -> Path:
    """A directory stands for its ``model-index.yml``."""
    if path.is_dir():
        for name in ROOT_NAMES:
            if (path / name).is_file():
                return path / name
    return path


class IndexReader:
    def __init__(self) -> None:
        self.contents = IndexContents()
        self._done: set[Path] = set()

    def read(self, path: Path, chain: tuple[Path, ...] = (), at: Problem | None = None) -> None:
        """Read ``path`` and everything it imports; ``at`` locates the importing line."""
        if not exists(path):  # before anything stats it: a name too long is no file either
            self.fail(at, display_path(path), "file not found")
            return
        if path.is_dir() and resolve_root(path) == path:
            self.read_folder(path, chain, at)
            return
        path = resolve_root(path)
        real = path.resolve()
        if real in chain:
            cycle = " → ".join(display_path(p) for p in (*chain[chain.index(real) :], real))
            self.fail(at, display_path(path), f"import cycle: {cycle}")
            return
        if real in self._done:
            return  # imported twice through different roots: read once
        if not exists(path):
            self.fail(at, display_path(path), "file not found")
            return
        self._done.add(real)
        self.contents.files.append(display_path(path))
        docs, problems = read_documents(path)
        self.contents.problems.extend(problems)
        for doc in docs:
            self.read_document(doc, path, (*chain, real))
            self.contents.problems.extend(doc.problems)

    def read_folder(self, path: Path, chain: tuple[Path, ...], at: Problem | None) -> None:
        """A folder without ``model-index.yml``: every card file directly in it, by name (as
        timm's docs keep one ``.mdx`` per collection). A Markdown file with no model-index block
        is not a card: it is named in the notes, not read as an empty one."""
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CARD_SUFFIXES
        )
        if not files:
            self.fail(
                at,
                display_path(path),
                f"directory has no {ROOT_NAMES[0]} and no card files "
                f"({', '.join(sorted(CARD_SUFFIXES))})",
            )
            return
        for file in files:
            if file.suffix.lower() in MARKDOWN_SUFFIXES:
                shown = display_path(file)
                text, _problems = read_text(file, shown)
                if text is not None and not markdown_documents(text, shown):
                    self.contents.notes.append(
                        f"{shown}: no model-index block, not a card: skipped"
                    )
                    continue
            self.read(file, chain)

    def fail(self, at: Problem | None, shown: str, message: str) -> None:
        if at is None:
            self.contents.problems.append(Problem(shown, None, "", message))
        else:
            self.contents.problems.append(replace(at, message=f"{message} ({shown})"))

    def read_document(self, doc: LocatedDocument, path: Path, chain: tuple[Path, ...]) -> None:
        data = doc.data
        if data is None:
            if not doc.problems:
                doc.problem((), "", "empty document: no model-index data")
            return
        if isinstance(data, list):
            self.read_entries(doc, (), data, kind="model")
            return
        if not isinstance(data, dict):
            doc.problem((), "", f"expected Models/Collections/Import, got {describe(data)}")
            return
        keys = lookup(data)
        if "model_index" in keys:  # Hugging Face card front matter
            key, value = keys["model_index"]
            self.read_entries(doc, (key,), value, kind="model")
            return
        self.check_document_keys(doc, data)
        recognised = False
        if "import" in keys:
            recognised = True
            key, value = keys["import"]
            self.read_imports(doc, (key,), value, path, chain)
        for name, kind in (("collections", "collection"), ("models", "model")):
            if name in keys:
                recognised = True
                key, value = keys[name]
                self.read_entries(doc, (key,), value, kind=kind)
        if not recognised:
            if "name" in keys:  # a file holding one model
                self.read_entries(doc, (), [data], kind="model", single=True)
            else:
                doc.problem((), "", "no Models, Collections or Import found")

    def check_document_keys(self, doc: LocatedDocument, data: dict[str, Any]) -> None:
        """``Modles:`` beside ``Collections:`` would otherwise drop every model silently."""
        if not {"models", "collections", "import"} & lookup(data).keys():
            return  # a file holding one model (its keys are checked as the model's), or no index
        for key in data:
            found = unknown_key(doc, (key,), DOCUMENT_KEYS)
            if found is not None:
                self.contents.unknown_keys.append(found)

    def read_entries(
        self,
        doc: LocatedDocument,
        path: tuple[Any, ...],
        value: object,
        *,
        kind: str,
        single: bool = False,
    ) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            got = describe(value)
            doc.problem(path, format_path(path), f"expected a list of {kind}s, got {got}")
            return
        target = self.contents.models if kind == "model" else self.contents.collections
        for index, entry in enumerate(value):
            entry_path = path if single else (*path, index)
            fields = EntryReader(doc, entry_path).read(entry, kind=kind)
            if fields is None:
                if kind == "model":
                    where = Location(doc.file, doc.line(entry_path))
                    left = LeftOut(None, where, tuple(doc.problems_under(entry_path)))
                    self.contents.unreadable.append(left)
                continue
            if kind == "collection" and fields.name is None:
                doc.problem(entry_path, format_path(entry_path), "collection has no Name")
                continue
            target.append(_Entry(fields, doc, doc.problems_under(entry_path)))

    def read_imports(
        self,
        doc: LocatedDocument,
        path: tuple[Any, ...],
        value: object,
        base: Path,
        chain: tuple[Path, ...],
    ) -> None:
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            item_path = (*path, index) if isinstance(value, list) else path
            at = Problem(doc.file, doc.line(item_path), format_path(item_path), "")
            if not isinstance(item, str) or not item.strip():
                self.contents.problems.append(
                    replace(at, message=f"expected a file path or glob, got {describe(item)}")
                )
                continue
            target = base.parent / item.strip()
            if glob.has_magic(item):
                matches = sorted(
                    Path(p)
                    for p in glob.glob(str(target), recursive=True)
                    if Path(p).suffix.lower() in INDEX_SUFFIXES
                )
                if not matches:
                    self.contents.problems.append(
                        replace(at, message=f"import pattern {item!r} matched no files")
                    )
                for match in matches:
                    self.read(match, chain, at)
            else:
                self.read(target, chain, at)


@dataclass
class Assembled:
    """The cards built, the models left out, and the problems found assembling them."""

    cards: list[ModelCard] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def assemble(contents: IndexContents) -> Assembled:
    """Apply collection inheritance and build cards; report duplicates and unknown collections.

    A model with a problem of its own, a name taken before it, an unknown collection or a
    collection with a problem is left out (with those problems); every other model is built.
    """
    done = Assembled(left_out=list(contents.unreadable))
    collections: dict[str, _Entry] = {}
    for entry in contents.collections:
        name = entry.fields.name or ""
        if name in collections:
            first = collections[name]
            done.problems.append(_duplicate(entry, "collection", name, first))
        else:
            collections[name] = entry
    seen: dict[str, _Entry] = {}
    for entry in contents.models:
        own = list(entry.problems)
        name = entry.fields.name
        if name is not None and name in seen:
            own.append(_duplicate(entry, "model", name, seen[name]))
            done.problems.append(own[-1])
        elif name is not None:
            seen[name] = entry
        parent = None
        if entry.fields.collection is not None:
            parent = collections.get(entry.fields.collection)
            if parent is None:
                own.append(_unknown_collection(entry, collections))
                done.problems.append(own[-1])
        where = Location(entry.doc.file, entry.fields.line)
        if own or name is None:
            done.left_out.append(LeftOut(name, where, tuple(own)))
        elif parent is not None and parent.problems:
            collection = parent.fields.name
            done.left_out.append(LeftOut(name, where, tuple(parent.problems), collection))
        else:
            done.cards.append(build_card(entry, parent))
    return done


def _unknown_collection(entry: _Entry, collections: dict[str, _Entry]) -> Problem:
    known = ", ".join(sorted(collections)) or "none defined"
    return Problem(
        entry.doc.file,
        entry.doc.line(entry.fields.collection_path),
        format_path(entry.fields.collection_path),
        f"unknown collection {entry.fields.collection!r} (known: {known})",
    )


def _duplicate(entry: _Entry, kind: str, name: str, first: _Entry) -> Problem:
    where = f"{first.doc.file}:{first.fields.line}" if first.fields.line else first.doc.file
    return Problem(
        entry.doc.file,
        entry.fields.line,
        "Name",
        f"duplicate {kind} name {name!r} (first defined at {where})",
    )


def build_card(entry: _Entry, parent: _Entry | None) -> ModelCard:
    """The model's own values win over its collection's; nested mappings and results merge."""
    own = entry.fields
    inherited = parent.fields if parent else Fields()
    values = {**inherited.values, **own.values}
    results = dict(inherited.results)
    for key, result in own.results.items():
        base = results.get(key)
        metrics = {**base.metrics, **result.metrics} if base else result.metrics
        results[key] = Result(result.task, result.dataset, metrics, result.dataset_type)
    # An empty value on one side that the other side publishes is no gap in the card.
    not_published = (
        *(w for path, w in inherited.not_published if not own.publishes(path)),
        *(w for path, w in own.not_published if not inherited.publishes(path)),
    )
    return ModelCard(
        name=own.name or "",
        collection=own.collection,
        results=tuple(results.values()),
        extra=deep_merge(inherited.extra, own.extra),
        resolution={**inherited.resolution, **own.resolution},
        notes=(*inherited.notes, *own.notes),
        source=Location(entry.doc.file, own.line),
        warnings=tuple(w for w in (*inherited.unknown_keys, *own.unknown_keys) if w.suggestions),
        not_published=not_published,
        figures={k: v for k, v in values.items() if k in FIELDS},
        **{k: v for k, v in values.items() if k not in FIELDS},
    )


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
