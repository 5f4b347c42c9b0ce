"""ImageNet val ground-truth label files, for a flat folder of ``ILSVRC2012_val_*`` images.

caffe ``val.txt``, TensorFlow's synset-per-line file and Kaggle's ``LOC_val_solution.csv`` are
read; the devkit's ``ILSVRC2012_validation_ground_truth.txt`` is refused (its own numbering).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from mixbench.data.sources.imagenet import NUM_CLASSES, SYNSET_PATTERN, imagenet_synset_index
from mixbench.errors import InputError

LABEL_FORMS_HINT = (
    "use val.txt (caffe: 'ILSVRC2012_val_00000001.JPEG 65'), LOC_val_solution.csv (Kaggle) or "
    "imagenet_2012_validation_synset_labels.txt (TensorFlow: one synset per line)"
)

LABEL_FORM_CAFFE = "val.txt"
LABEL_FORM_TENSORFLOW = "tf-synset-lines"
LABEL_FORM_KAGGLE = "kaggle-loc-csv"


def read_label_file(path: Path) -> tuple[str, dict[str, int]]:
    """The labels in ``path`` as (form, file stem → class index); see :func:`parse_label_text`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such labels file", hint=LABEL_FORMS_HINT) from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            f"{path}: cannot read labels file ({error})", hint=LABEL_FORMS_HINT
        ) from error
    return parse_label_text(text, where=str(path))


def parse_label_text(text: str, *, where: str) -> tuple[str, dict[str, int]]:
    """ImageNet val ground truth in any common form, detected from the content.

    - caffe ``val.txt``: ``ILSVRC2012_val_00000001.JPEG 65`` (0-based synset-sorted index; a
      synset in place of the index is accepted too);
    - TensorFlow's ``imagenet_2012_validation_synset_labels.txt``: line i holds the synset of
      ``ILSVRC2012_val_{i:08d}``;
    - Kaggle's ``LOC_val_solution.csv``: ``ImageId,PredictionString`` rows, synset first.

    The devkit's ``ILSVRC2012_validation_ground_truth.txt`` is refused: its 1..1000 IDs follow
    the devkit's own order, which only its ``meta.mat`` maps to synsets.
    """
    lines = text.splitlines()
    first = next(
        ((number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()), None
    )
    if first is None:
        raise InputError(f"{where}: the labels file is empty", hint=LABEL_FORMS_HINT)
    first_number, first_line = first
    tokens = first_line.split()
    if first_line.lower().startswith("imageid"):
        return LABEL_FORM_KAGGLE, _parse_kaggle_csv(text, where)
    if len(tokens) == 1 and SYNSET_PATTERN.fullmatch(tokens[0]):
        return LABEL_FORM_TENSORFLOW, _parse_tensorflow_synsets(lines, where)
    if len(tokens) == 1 and tokens[0].isdigit():
        raise InputError(
            f"{where}: looks like the devkit's ILSVRC2012_validation_ground_truth.txt, whose "
            "1..1000 IDs follow the devkit's own order (not the synset order) and cannot be "
            "mapped without the devkit's meta.mat",
            hint=LABEL_FORMS_HINT,
        )
    if len(tokens) == 2:
        return LABEL_FORM_CAFFE, _parse_caffe_val_txt(lines, where)
    raise InputError(
        f"{where}:{first_number}: cannot tell the labels file's form from {first_line!r}",
        hint=LABEL_FORMS_HINT,
    )


def _parse_caffe_val_txt(lines: Sequence[str], where: str) -> dict[str, int]:
    labels: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 2:
            raise InputError(
                f"{where}:{number}: expected 'FILENAME INDEX', got {line.strip()!r}",
                hint=LABEL_FORMS_HINT,
            )
        filename, value = tokens
        _add_label(labels, _stem(filename), _class_index(value, f"{where}:{number}"), where, number)
    return labels


def _parse_tensorflow_synsets(lines: Sequence[str], where: str) -> dict[str, int]:
    last = max((number for number, line in enumerate(lines, 1) if line.strip()), default=0)
    labels: dict[str, int] = {}
    for number, line in enumerate(lines[:last], 1):
        location = f"{where}:{number}"
        synset = line.strip()
        if not synset:
            # Line i labels image i: a blank line would shift every label after it.
            raise InputError(
                f"{location}: empty line in a one-synset-per-line file", hint=LABEL_FORMS_HINT
            )
        if not SYNSET_PATTERN.fullmatch(synset):
            raise InputError(
                f"{location}: expected a synset like n01440764, got {synset!r}",
                hint=LABEL_FORMS_HINT,
            )
        labels[f"ILSVRC2012_val_{number:08d}"] = _class_index(synset, location)
    return labels


def _parse_kaggle_csv(text: str, where: str) -> dict[str, int]:
    rows = csv.reader(io.StringIO(text))
    header = [column.strip().lower() for column in next(rows)]
    if "imageid" not in header or "predictionstring" not in header:
        raise InputError(
            f"{where}:1: expected the header 'ImageId,PredictionString', got {','.join(header)!r}",
            hint=LABEL_FORMS_HINT,
        )
    image_column, prediction_column = header.index("imageid"), header.index("predictionstring")
    labels: dict[str, int] = {}
    for row in rows:
        number = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(image_column, prediction_column) or not row[prediction_column].split():
            raise InputError(
                f"{where}:{number}: expected 'ImageId,SYNSET ...', got {','.join(row)!r}",
                hint=LABEL_FORMS_HINT,
            )
        synset = row[prediction_column].split()[0]
        location = f"{where}:{number}"
        _add_label(
            labels, _stem(row[image_column].strip()), _class_index(synset, location), where, number
        )
    return labels


def _class_index(value: str, location: str) -> int:
    """A class index from a 0-based index or an ImageNet-1k synset id."""
    if value.isdigit():
        index = int(value)
        if index >= NUM_CLASSES:
            raise InputError(
                f"{location}: class index {index} is outside 0..{NUM_CLASSES - 1}",
                hint="val.txt holds 0-based indices in the sorted-synset order",
            )
        return index
    synset_index = imagenet_synset_index()
    if value not in synset_index:
        raise InputError(
            f"{location}: {value!r} is not an ImageNet-1k synset", hint=LABEL_FORMS_HINT
        )
    return synset_index[value]


def _add_label(labels: dict[str, int], stem: str, label: int, where: str, number: int) -> None:
    if labels.setdefault(stem, label) != label:
        raise InputError(
            f"{where}:{number}: {stem} labelled again, differently ({labels[stem]}, then {label})",
            hint="one label per image",
        )


def _stem(name: str) -> str:
    """``ILSVRC2012_val_00000001`` from ``val/ILSVRC2012_val_00000001.JPEG`` (or ``\\``)."""
    return os.path.splitext(PurePosixPath(name.replace("\\", "/")).name)[0]
