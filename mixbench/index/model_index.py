"""The public entry points: :func:`load_index`, :func:`check_index`, :class:`ModelIndex`.

An index in the wild is never all complete: a null or empty value is a figure not published
(yet), a warning; a broken value costs the model it is in (left out, with its problem), never
the whole index. ``strict`` makes any of it fatal.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mixbench.errors import IndexProblems, InputError, Problem
from mixbench.index.cards import CardWarning, ModelCard
from mixbench.index.eval_results import check_eval_results, is_eval_results
from mixbench.index.keys import strict_problem
from mixbench.index.loader import IndexReader, LeftOut, assemble

INDEX_ENV = "MIXBENCH_INDEX"


def packaged_index_path() -> Path:
    """The published MixNet cards shipped with mixbench.

    A wheel carries them inside the package; a source checkout keeps them at the top level.
    """
    packaged = resources.files("mixbench") / "model_index"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "model_index"


def default_index_path() -> Path:
    """``$MIXBENCH_INDEX`` when set, else the packaged index."""
    env = os.environ.get(INDEX_ENV)
    return Path(env) if env else packaged_index_path()


@dataclass(frozen=True)
class ModelIndex:
    """Model cards by name, with the files they came from, and what did not load.

    ``warnings``: unknown keys close to a known one (probable misspellings), wherever they are;
    ``unknown_keys``: every unknown key, the ones ``strict`` loading rejects;
    ``not_published``: every null or empty value (a figure not published), located;
    ``problems``: every error found (a value that cannot mean what its field needs, a file that
    does not parse, a missing import, a duplicate name ...), each costing what it is in;
    ``left_out``: the models not loaded because of them, each with its problems.
    :meth:`headline` says all of it in one line.
    """

    cards: dict[str, ModelCard]
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[CardWarning, ...] = ()
    unknown_keys: tuple[CardWarning, ...] = ()
    not_published: tuple[CardWarning, ...] = ()
    problems: tuple[Problem, ...] = ()
    left_out: tuple[LeftOut, ...] = ()

    def __iter__(self) -> Iterator[ModelCard]:
        return iter(self.cards.values())

    def __len__(self) -> int:
        return len(self.cards)

    def __contains__(self, name: object) -> bool:
        return name in self.cards

    def __getitem__(self, name: str) -> ModelCard:
        if name in self.cards:
            return self.cards[name]
        untagged = name.split(".", 1)[0]  # timm pretrained tags: mixnet_xl.ra_in1k
        if untagged in self.cards:
            return self.cards[untagged]
        self.raise_if_left_out(name)
        close = difflib.get_close_matches(name, self.cards, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "`mixbench list` shows every card"
        raise InputError(f"no model card named {name!r} in the index", hint=hint)

    def raise_if_left_out(self, name: str) -> None:
        """Bad input naming why, when ``name`` (or its untagged form) is a model in the source
        that was left out: asking for it must not read as a typo."""
        wanted = (name, name.split(".", 1)[0])
        for left in self.left_out:
            if left.name in wanted:
                raise InputError(
                    f"no model card named {name!r} in the index: left out ({left.source}): "
                    f"{left.reason()}",
                    hint="fix the field named above; `mixbench index check PATH` lists every "
                    "problem",
                )

    @property
    def collections(self) -> tuple[str, ...]:
        return tuple(sorted({c.collection for c in self if c.collection}))

    @property
    def complete(self) -> bool:
        """Nothing left out, nothing empty, no misspelled key: nothing to say."""
        return not (self.problems or self.left_out or self.not_published or self.warnings)

    def headline(self) -> str:
        """``548 models loaded from 85 files; 37 with warnings (not published: 21 fields);
        0 left out``: what loaded, what came with warnings, what did not."""
        text = f"{_count(len(self), 'model')} loaded from {_count(len(self.files), 'file')}"
        with_warnings = sum(1 for card in self if card.warnings or card.not_published)
        kinds = [
            f"{label}: {_count(len(found), unit)}"
            for label, unit, found in (
                ("not published", "field", self.not_published),
                ("misspelled", "key", self.warnings),
            )
            if found
        ]
        if with_warnings or kinds:  # a clean index says nothing of warnings
            text += f"; {with_warnings} with warnings" + (f" ({', '.join(kinds)})" if kinds else "")
        text += f"; {len(self.left_out)} left out"
        if self.problems:
            text += f" ({_count(len(self.problems), 'error')}"
            outside = len(self.problems_outside_models())
            text += f", {outside} outside any model: a file or import not read)" if outside else ")"
        return text

    def problems_outside_models(self) -> list[Problem]:
        """Problems no left-out model carries: whole files or imports that were not read."""
        carried = {problem for left in self.left_out for problem in left.problems}
        return [problem for problem in self.problems if problem not in carried]


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


STRICT_HINT = (
    "--strict accepts only keys mixbench knows and no empty values: fix or remove the fields "
    "named above (`mixbench index check --strict PATH` lists them all)"
)


def check_index(
    path: str | Path | None = None, *, strict: bool = False
) -> tuple[ModelIndex, list[Problem]]:
    """Read a model-index source (file or directory) and return it with every problem found.

    The index holds every model that loads (``index.problems`` and ``index.left_out`` say what
    did not); the problems returned are those, and with ``strict`` also every unknown key
    (close to a known one or not) and every null or empty value.
    """
    root = Path(path) if path is not None else default_index_path()
    if is_eval_results(root):  # Hugging Face's .eval_results/*.yaml (mixbench.index.eval_results)
        return _eval_results_index(root, strict=strict)
    reader = IndexReader()
    reader.read(root)
    contents = reader.contents
    assembled = assemble(contents)
    cards = assembled.cards
    notes = (*contents.notes, *(note for card in cards for note in card.notes))
    unknown = _in_file_order(contents.all_unknown_keys(), contents.files)
    warnings = tuple(warning for warning in unknown if warning.suggestions)
    problems = [*contents.problems, *assembled.problems]
    index = ModelIndex(
        {card.name: card for card in cards},
        tuple(contents.files),
        notes,
        warnings,
        unknown,
        _in_file_order(contents.all_not_published(), contents.files),
        tuple(problems),
        tuple(assembled.left_out),
    )
    if strict:
        problems.extend(strict_problem(warning) for warning in (*unknown, *index.not_published))
        problems = _problems_in_file_order(problems, contents.files)
    return index, problems


def _in_file_order(found: list[CardWarning], files: list[str]) -> tuple[CardWarning, ...]:
    """By file (as read), then line: the order a reader goes through the source."""
    rank = {file: index for index, file in enumerate(files)}
    return tuple(sorted(found, key=lambda w: (rank.get(w.file, len(rank)), w.file, w.line or 0)))


def _problems_in_file_order(found: list[Problem], files: list[str]) -> list[Problem]:
    rank = {file: index for index, file in enumerate(files)}
    return sorted(found, key=lambda p: (rank.get(p.file, len(rank)), p.file, p.line or 0))


NO_MODELS_HINT = "a model index lists its models under Models: (each with a Name)"


def load_index(path: str | Path | None = None, *, strict: bool = False) -> ModelIndex:
    """Read a model-index source: every model that loads, and what did not.

    ``path`` may be a ``.yml``/``.yaml``/``.json`` file, a Markdown card (``.md``/``.mdx``), or a
    directory holding ``model-index.yml``; by default the published MixNet cards. Misspelled keys
    are ``warnings`` on the index and its cards; null or empty values are ``not_published``
    (the figure absent); a model with a broken value is in ``left_out`` and its problem in
    ``problems`` (say :meth:`ModelIndex.headline` to a user: never drop them silently).

    Raises :class:`IndexProblems` listing every problem when nothing loads at all, and with
    ``strict`` when there is any problem, unknown key or empty value.
    """
    index, problems = check_index(path, strict=strict)
    if strict and problems:
        strict_only = not index.problems
        raise IndexProblems(problems, hint=STRICT_HINT if strict_only else None)
    if problems and not index.cards:
        raise IndexProblems(problems)  # nothing to work with: the problems are the answer
    if not index.cards:  # a source defining no model: every use of it would compare nothing
        where = index.files[0] if len(index.files) == 1 else str(path or default_index_path())
        nothing = Problem(where, None, "", "no models: the source defines none")
        raise IndexProblems([nothing], hint=NO_MODELS_HINT)
    return index


def _eval_results_index(root: Path, *, strict: bool) -> tuple[ModelIndex, list[Problem]]:
    """An eval results source as an index (``--index``, ``index check``): its cards, notes and
    unknown keys as a model index has them."""
    read = check_eval_results(root)
    notes = (*read.notes, *(note for card in read.cards for note in card.notes))
    unknown = tuple(read.unknown_keys)
    warnings = tuple(warning for warning in unknown if warning.suggestions)
    cards = {card.name: card for card in read.cards}
    left_out = tuple(LeftOut(name, where, problems) for name, where, problems in read.left_out)
    index = ModelIndex(
        cards,
        tuple(read.files),
        notes,
        warnings,
        unknown,
        problems=tuple(read.problems),
        left_out=left_out,
    )
    problems = [*read.problems, *(strict_problem(w) for w in unknown if strict)]
    return index, problems
