"""timm's published results tables (``results/results-imagenet.csv`` and friends) as cards.

Names carry pretrained tags (``mixnet_xl.ra_in1k``), params are in millions ("11.90", or
"1,013.01" for big models), accuracies are plain percentages, and older files order their
columns differently, so columns are found by header name.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from mixbench.errors import IndexProblems, Problem
from mixbench.index.cards import TOP1, TOP5, Location, Metric, ModelCard, Result
from mixbench.index.documents import display_path, read_text
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

# results-<dataset>.csv → the dataset's usual name.
_DATASETS = {
    "imagenet": "ImageNet",
    "imagenet-real": "ImageNet-ReaL",
    "imagenetv2-matched-frequency": "ImageNetV2",
    "imagenet-a": "ImageNet-A",
    "imagenet-r": "ImageNet-R",
    "sketch": "ImageNet-Sketch",
}


def dataset_from_filename(path: Path) -> str:
    stem = re.sub(r"^results-", "", path.stem.lower())
    return _DATASETS.get(stem, stem)


def is_timm_results(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def read_timm_results(path: str | Path) -> list[ModelCard]:
    """One card per row; every bad cell is reported as ``file:line: column: message``."""
    path = Path(path)
    shown = display_path(path)
    text, problems = read_text(path, shown)
    if text is None:
        raise IndexProblems(problems)
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise IndexProblems([Problem(shown, None, "", "empty file: expected a header row")])
    header = [cell.strip().lower() for cell in rows[0]]
    columns = {
        field: next((header.index(a) for a in aliases if a in header), None)
        for field, aliases in _COLUMN_ALIASES.items()
    }
    if columns["model"] is None:
        expected = ", ".join(_COLUMN_ALIASES["model"])
        raise IndexProblems([Problem(shown, 1, "header", f"no model column (expected {expected})")])
    dataset = dataset_from_filename(path)
    cards: list[ModelCard] = []
    # Some models are published at several resolutions: a row is (name, image size).
    seen: dict[tuple[str, int | None], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        card = _row_card(row, header, columns, dataset, shown, line, problems)
        if card is None:
            continue
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
        **values,  # type: ignore[arg-type]
    )
