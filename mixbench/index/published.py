"""Any source of published (or measured) figures, as a list of cards: what ``diff`` compares.

A source is a model-index file or directory, a timm results CSV, or a name:

* ``index``: the model index in use (``--index``, ``$MIXBENCH_INDEX`` or the packaged cards);
* ``timm:imagenet``, ``timm:imagenet-real``, ``timm:imagenetv2``: timm's published results
  tables, shipped with mixbench.

A results CSV's dataset is ``dataset`` (``diff --dataset``) or its ``results-<dataset>.csv``
name; the named tables and model indexes name their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mixbench.errors import InputError
from mixbench.index.cards import ModelCard
from mixbench.index.documents import display_path
from mixbench.index.model_index import load_index, packaged_index_path
from mixbench.index.timm_results import is_timm_results, read_timm_results, results_dataset
from mixbench.io import exists

TIMM_TABLES = {
    "timm:imagenet": "results-imagenet.csv",
    "timm:imagenet-real": "results-imagenet-real.csv",
    "timm:imagenetv2": "results-imagenetv2-matched-frequency.csv",
}
NAMED_SOURCES = ("index", *TIMM_TABLES)


@dataclass(frozen=True)
class CardSource:
    """The cards of one source; ``used_dataset``: whether the ``dataset`` given was applied."""

    label: str
    cards: tuple[ModelCard, ...]
    used_dataset: bool = False
    notes: tuple[str, ...] = ()


def load_source(
    spec: str | Path, *, index_path: str | Path | None = None, dataset: str | None = None
) -> CardSource:
    """Read a source named on the command line (see the module docstring for the forms).

    ``dataset`` applies to a results CSV file only; ``used_dataset`` says whether it did.
    """
    text = str(spec)
    path = Path(spec)
    if not exists(path):
        if text == "index":
            index = load_index(index_path)
            label = display_path(Path(index.files[0])) if index.files else text
            return CardSource(label, tuple(index))
        if text in TIMM_TABLES:
            table = packaged_index_path() / "timm-results" / TIMM_TABLES[text]
            return CardSource(text, tuple(read_timm_results(table)))
        raise InputError(
            f"{text}: no such file or directory",
            hint="give a model-index file or directory, a timm results CSV, or one of: "
            + ", ".join(NAMED_SOURCES),
        )
    if path.is_file() and is_timm_results(path):
        _, notes = results_dataset(path, dataset)
        cards = tuple(read_timm_results(path, dataset=dataset))
        return CardSource(display_path(path), cards, dataset is not None, tuple(notes))
    return CardSource(display_path(path), tuple(load_index(path)))
