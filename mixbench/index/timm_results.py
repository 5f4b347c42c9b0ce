"""timm's published results tables (``results/results-imagenet.csv`` and friends) as cards.

Names carry pretrained tags (``mixnet_xl.ra_in1k``), params are in millions ("11.90", or
"1,013.01" for big models), accuracies are plain percentages, and older files order their
columns differently, so columns are found by header name. The dataset comes from the file name
(``results-<dataset>.csv``) or is given: a table on an unnamed dataset would match nothing on a
card, and its accuracies would drop out of every comparison unseen.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from pathlib import Path

from mixbench.errors import IndexProblems, InputError, Problem
from mixbench.index.cards import TOP1, TOP5, CardWarning, Location, Metric, ModelCard, Result
from mixbench.index.cards import dataset_key as loose_dataset_key
from mixbench.index.documents import display_path, read_text
from mixbench.index.keys import key_set, normalise_key, suggest
from mixbench.index.values import (
    ValueProblem,
    parse_crop_pct,
    parse_image_size,
    parse_interpolation,
    parse_number,
    parse_percent,
)

_COLUMN_ALIASES = {
    "model": ("model", "name", "arch"),
    "image_size": ("img_size", "image_size", "input_size"),
    "params": ("param_count", "params", "param_count_m"),
    TOP1: ("top1", "top1_acc", "acc1"),
    TOP5: ("top5", "top5_acc", "acc5"),
    "crop_pct": ("crop_pct", "crop"),
    "interpolation": ("interpolation", "interp"),
}

# Columns timm publishes that mixbench does not compare (errors and ranks derive from the rest).
_KNOWN_EXTRA_COLUMNS = ("top1_err", "top5_err", "top1_diff", "top5_diff", "rank_diff")
_COLUMN_SPELLINGS = key_set(
    *(alias for aliases in _COLUMN_ALIASES.values() for alias in aliases), *_KNOWN_EXTRA_COLUMNS
)

# A dataset's usual name, by its loose key (see cards.dataset_key): results-imagenet-real.csv,
# --dataset imagenet-real and a card's "ImageNet-ReaL" all say the same.
_DATASETS = {
    "imagenet": "ImageNet",
    "imagenet-real": "ImageNet-ReaL",
    "imagenetv2": "ImageNetV2",
    "imageneta": "ImageNet-A",
    "imagenetr": "ImageNet-R",
    "imagenetsketch": "ImageNet-Sketch",
}
#: timm's results tables are a few hundred KB; a table far beyond is refused before it is read
MAX_RESULTS_BYTES = 16_000_000
#: problems listed from one table before reading stops (a wrong file has one per row)
MAX_PROBLEMS = 100
_RESULTS_FILE = re.compile(r"results-(?P<dataset>.+)\.csv", re.IGNORECASE)
DATASET_HINT = "pass --dataset imagenet (or name the file results-<dataset>.csv)"


def dataset_name(name: str) -> str:
    """A dataset as typed (``imagenet``, ``imagenet-real``) → its usual name (``ImageNet``)."""
    text = name.strip()
    if not loose_dataset_key(text):
        raise InputError(f"--dataset {name!r}: not a dataset name", hint=DATASET_HINT)
    return _DATASETS.get(loose_dataset_key(text), text)


def dataset_from_filename(path: Path) -> str | None:
    """``results-imagenet-real.csv`` → ``ImageNet-ReaL``; None for any other file name."""
    match = _RESULTS_FILE.fullmatch(path.name)
    if match is None or not loose_dataset_key(match["dataset"]):
        return None
    return dataset_name(match["dataset"])


def results_dataset(path: Path, dataset: str | None = None) -> tuple[str, list[str]]:
    """The dataset a results table is on (``dataset`` wins over the file name), with notes.

    Raises :class:`InputError` when neither says: the table's accuracies would match nothing.
    """
    shown = display_path(path)
    named = dataset_from_filename(path)
    if dataset is None:
        if named is None:
            raise InputError(
                f"{shown}: which dataset are these results on? the file name is not "
                "results-<dataset>.csv",
                hint=DATASET_HINT,
            )
        return named, []
    given = dataset_name(dataset)
    if named is not None and loose_dataset_key(named) != loose_dataset_key(given):
        return given, [f"{shown}: read as results on {given} (--dataset), not {named} (its name)"]
    return given, []


def is_timm_results(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def read_timm_results(path: str | Path, *, dataset: str | None = None) -> list[ModelCard]:
    """One card per row; every bad cell is reported as ``file:line: column: message``.

    ``dataset`` names the dataset the table is on; without it the file must be named
    ``results-<dataset>.csv`` (see :func:`results_dataset`).
    """
    path = Path(path)
    shown = display_path(path)
    dataset_shown, _ = results_dataset(path, dataset)
    text, problems = read_text(path, shown, MAX_RESULTS_BYTES, "a results table")
    if text is None:
        raise IndexProblems(problems)
    rows = csv.reader(io.StringIO(text))  # row by row: no second copy of the table
    first = next(rows, None)
    if first is None or not any(cell.strip() for cell in first):
        raise IndexProblems([Problem(shown, None, "", "empty file: expected a header row")])
    header = [cell.strip().lower() for cell in first]
    columns = {
        field: next((header.index(a) for a in aliases if a in header), None)
        for field, aliases in _COLUMN_ALIASES.items()
    }
    if columns["model"] is None:
        expected = ", ".join(_COLUMN_ALIASES["model"])
        raise IndexProblems([Problem(shown, 1, "header", f"no model column (expected {expected})")])
    warnings = _column_warnings(header, shown)
    cards: list[ModelCard] = []
    # Some models are published at several resolutions: a row is (name, image size).
    seen: dict[tuple[str, int | None], int] = {}
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(problems) >= MAX_PROBLEMS:
            problems.append(Problem(shown, line, "", "and more problems from here on: not read"))
            break
        card = _row_card(row, header, columns, dataset_shown, shown, line, problems)
        if card is None:
            continue
        card = replace(card, warnings=warnings)
        key = (card.name, card.image_size)
        if key in seen:
            problems.append(
                Problem(
                    shown,
                    line,
                    "model",
                    f"duplicate row for {card.name!r} at "
                    f"{card.image_size} px (first on line {seen[key]})",
                )
            )
            continue
        seen[key] = line
        cards.append(card)
    if problems:
        raise IndexProblems(problems)
    return cards


def _column_warnings(header: list[str], shown: str) -> tuple[CardWarning, ...]:
    """Header cells that look like a misspelled column (``top1_ac``): that column reads empty."""
    found = []
    for cell in header:
        if normalise_key(cell) in _COLUMN_SPELLINGS:
            continue
        suggestions = suggest(cell, _COLUMN_SPELLINGS)
        if suggestions:
            found.append(CardWarning(shown, 1, cell, "unknown column, not used", suggestions))
    return tuple(found)


def _row_card(
    row: list[str],
    header: list[str],
    columns: dict[str, int | None],
    dataset: str,
    shown: str,
    line: int,
    problems: list[Problem],
) -> ModelCard | None:
    def cell(field: str) -> str | None:
        index = columns[field]
        if index is None or index >= len(row) or not row[index].strip():
            return None
        return row[index].strip()

    def bad(field: str, message: str) -> None:
        index = columns[field]
        column = header[index] if index is not None else field
        problems.append(Problem(shown, line, column, message))

    name = cell("model")
    if name is None:
        bad("model", "empty model name")
        return None
    values: dict[str, object] = {}
    resolution: dict[str, float] = {}
    metrics: dict[str, Metric] = {}
    for field in ("image_size", "params", "crop_pct", "interpolation", TOP1, TOP5):
        raw = cell(field)
        if raw is None:
            continue
        try:
            if field == "image_size":
                values[field] = parse_image_size(raw)
            elif field == "params":
                millions, step = parse_number(raw.replace(",", ""))
                values[field] = round(millions * 1e6)
                resolution[field] = max(1.0, round(step * 1e6))
            elif field == "crop_pct":
                values[field], resolution[field] = parse_crop_pct(raw)
            elif field == "interpolation":
                values[field] = parse_interpolation(raw)
            else:
                value, step, _ = parse_percent(raw + "%")
                metrics[field] = Metric(field, value, header[columns[field] or 0], True, step)
        except ValueProblem as error:
            bad(field, str(error))
    used = {index for index in columns.values() if index is not None}
    extra = {header[i]: row[i] for i in range(min(len(row), len(header))) if i not in used}
    results = (Result("Image Classification", dataset, metrics),) if metrics else ()
    return ModelCard(
        name=name,
        results=results,
        resolution=resolution,
        extra=extra,
        source=Location(shown, line),
        figures=values,
    )
