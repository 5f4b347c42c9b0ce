"""The public entry points: :func:`load_index`, :func:`check_index`, :class:`ModelIndex`."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mixbench.errors import IndexProblems, InputError, Problem
from mixbench.index.cards import ModelCard
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
    """Model cards by name, with the files they came from."""

    cards: dict[str, ModelCard]
    files: tuple[str, ...]
    notes: tuple[str, ...] = ()

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


def check_index(path: str | Path | None = None) -> tuple[ModelIndex, list[Problem]]:
    """Read a model-index source (file or directory) and return it with every problem found."""
    root = Path(path) if path is not None else default_index_path()
    reader = IndexReader()
    reader.read(root)
    contents = reader.contents
    cards, problems = assemble(contents)
    notes = tuple(note for card in cards for note in card.notes)
    index = ModelIndex({card.name: card for card in cards}, tuple(contents.files), notes)
    return index, [*contents.problems, *problems]


def load_index(path: str | Path | None = None) -> ModelIndex:
    """Read a model-index source; raise :class:`IndexProblems` listing all problems, if any.

    ``path`` may be a ``.yml``/``.yaml``/``.json`` file, a Markdown card (``.md``/``.mdx``), or a
    directory holding ``model-index.yml``; by default the published MixNet cards.
    """
    index, problems = check_index(path)
    if problems:
        raise IndexProblems(problems)
    return index
