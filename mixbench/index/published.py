"""Any source of published (or measured) figures, as a list of cards: what ``diff`` compares.

A source is a model-index file or directory, a timm results CSV, Hugging Face eval results
(``.eval_results/*.yaml``: a model repo folder, that folder, a file), or a name:

* ``index``: the model index in use (``--index``, ``$MIXBENCH_INDEX`` or the packaged cards);
* ``timm:imagenet``, ``timm:imagenet-real``, ``timm:imagenetv2``: timm's published results
  tables, shipped with mixbench.

A paperswithcode archive (``evaluation-tables.json`` of the ``pwc-archive``, or a slice of
it) gives one card per leaderboard row on ``dataset`` (default ImageNet).

A results CSV's dataset is ``dataset`` (``diff --dataset``) or its ``results-<dataset>.csv``
name; the named tables and model indexes name their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mixbench.errors import InputError
from mixbench.index.cards import ModelCard
from mixbench.index.documents import display_path
from mixbench.index.eval_results import is_eval_results, load_eval_results
from mixbench.index.model_index import ModelIndex, load_index, packaged_index_path
from mixbench.index.pwc_archive import is_pwc_archive, read_pwc_archive
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

    ``dataset`` applies to a results CSV file and a paperswithcode archive only;
    ``used_dataset`` says whether it did.
    """
    text = str(spec)
    path = Path(spec)
    if not exists(path):
        if text == "index":
            index = load_index(index_path)
            label = display_path(Path(index.files[0])) if index.files else text
            return CardSource(label, tuple(index), notes=index_notes(index, label))
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
    if is_pwc_archive(path):  # paperswithcode's evaluation tables: rows on one dataset
        archive = read_pwc_archive(path, dataset)
        return CardSource(display_path(path), archive.cards, dataset is not None, archive.notes)
    if is_eval_results(path):  # Hugging Face's .eval_results/*.yaml: a repo, its folder, a file
        read = load_eval_results(path)
        return CardSource(display_path(path), tuple(read.cards), notes=tuple(read.notes))
    index, label = load_index(path), display_path(path)
    return CardSource(label, tuple(index), notes=index_notes(index, label))


def index_notes(index: ModelIndex, label: str) -> tuple[str, ...]:
    """What a diff says about an index that did not load whole: each model left out, with
    its problem's file:line, and the headline (nothing when it loaded whole)."""
    if index.complete:
        return ()
    return (
        *(f"{label}: left out: {left}" for left in index.left_out),
        *(f"{label}: not read: {problem}" for problem in index.problems_outside_models()),
        f"{label}: {index.headline()}",
    )


def load_sources(
    spec_a: str | Path,
    spec_b: str | Path,
    *,
    index_path: str | Path | None = None,
    dataset: str | None = None,
) -> tuple[CardSource, CardSource]:
    """The two sources ``diff`` compares; a ``dataset`` that neither could use is bad input
    (it would otherwise be ignored without a word)."""
    a = load_source(spec_a, index_path=index_path, dataset=dataset)
    b = load_source(spec_b, index_path=index_path, dataset=dataset)
    if dataset is not None and not (a.used_dataset or b.used_dataset):
        raise InputError(
            f"--dataset {dataset}: neither {a.label} nor {b.label} is a results CSV file "
            "or a paperswithcode archive",
            hint="drop --dataset: model indexes and the timm:* tables name their datasets",
        )
    return a, b
