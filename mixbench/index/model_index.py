"""The public entry points: :func:`load_index`, :func:`check_index`, :class:`ModelIndex`."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mixbench.errors import IndexProblems, InputError, Problem
from mixbench.index.cards import CardWarning, ModelCard
from mixbench.index.keys import strict_problem
from mixbench.index.loader import IndexReader, assemble

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
    """Model cards by name, with the files they came from.

    ``warnings``: unknown keys close to a known one (probable misspellings), wherever they are;
    ``unknown_keys``: every unknown key, the ones ``strict`` loading rejects.
    """

    cards: dict[str, ModelCard]
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[CardWarning, ...] = ()
    unknown_keys: tuple[CardWarning, ...] = ()

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
        close = difflib.get_close_matches(name, self.cards, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "`mixbench list` shows every card"
        raise InputError(f"no model card named {name!r} in the index", hint=hint)

    @property
    def collections(self) -> tuple[str, ...]:
        return tuple(sorted({c.collection for c in self if c.collection}))


STRICT_HINT = (
    "--strict accepts only keys mixbench knows: fix or remove the keys named above "
    "(`mixbench index check --strict PATH` lists them all)"
)


def check_index(
    path: str | Path | None = None, *, strict: bool = False
) -> tuple[ModelIndex, list[Problem]]:
    """Read a model-index source (file or directory) and return it with every problem found.

    Unknown keys close to a known one are ``index.warnings``; with ``strict`` every unknown key,
    close or not, is also a problem.
    """
    root = Path(path) if path is not None else default_index_path()
    reader = IndexReader()
    reader.read(root)
    contents = reader.contents
    cards, problems = assemble(contents)
    notes = (*contents.notes, *(note for card in cards for note in card.notes))
    unknown = _in_file_order(contents.all_unknown_keys(), contents.files)
    warnings = tuple(warning for warning in unknown if warning.suggestions)
    index = ModelIndex(
        {card.name: card for card in cards}, tuple(contents.files), notes, warnings, unknown
    )
    problems = [*contents.problems, *problems]
    if strict:
        problems.extend(strict_problem(warning) for warning in unknown)
    return index, problems


def _in_file_order(found: list[CardWarning], files: list[str]) -> tuple[CardWarning, ...]:
    """By file (as read), then line: the order a reader goes through the source."""
    rank = {file: index for index, file in enumerate(files)}
    return tuple(sorted(found, key=lambda w: (rank.get(w.file, len(rank)), w.file, w.line or 0)))


def load_index(path: str | Path | None = None, *, strict: bool = False) -> ModelIndex:
    """Read a model-index source; raise :class:`IndexProblems` listing all problems, if any.

    ``path`` may be a ``.yml``/``.yaml``/``.json`` file, a Markdown card (``.md``/``.mdx``), or a
    directory holding ``model-index.yml``; by default the published MixNet cards. Misspelled keys
    are ``warnings`` on the index and its cards; ``strict`` makes every unknown key a problem.
    """
    index, problems = check_index(path, strict=strict)
    if problems:
        strict_only = strict and len(problems) == len(index.unknown_keys)
        raise IndexProblems(problems, hint=STRICT_HINT if strict_only else None)
    return index
