"""Evaluation data sources: where the images and their ImageNet-1k labels come from.

``open_source(spec)`` turns what the user typed into an :class:`EvalSource`:

- ``DIR`` arranged as ImageNet val in synset folders (``DIR/n01440764/*.JPEG``);
- ``DIR`` holding the flat ``ILSVRC2012_val_*.JPEG`` files, with ``labels=FILE``;
- ``hf:NAME[:SPLIT]``, a Hugging Face dataset (hub name, local data dir or ``save_to_disk`` dir);
- ``synthetic[:N]``, generated images for smoke runs.

Every source reads an image the way timm's datasets do (``Image.open(...).convert("RGB")``, no
EXIF rotation), numbers classes in timm's ImageNet-1k synset order, and pickles cheaply, so
DataLoader workers can take it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from PIL import Image

from mixbench.errors import InputError

if TYPE_CHECKING:
    import datasets

NUM_CLASSES = 1000
DEFAULT_HF_SPLIT = "validation"
DEFAULT_SYNTHETIC_COUNT = 256

SYNSET_PATTERN = re.compile(r"n\d{8}")
VAL_NAME_PATTERN = re.compile(r"ILSVRC2012_val_(\d{8})")

SOURCE_FORMS_HINT = (
    "give an ImageNet val folder (DIR/n01440764/*.JPEG, or a flat DIR with --labels FILE), "
    "hf:NAME[:SPLIT] for a Hugging Face dataset, or synthetic[:N]"
)
LABEL_FORMS_HINT = (
    "use val.txt (caffe: 'ILSVRC2012_val_00000001.JPEG 65'), LOC_val_solution.csv (Kaggle) or "
    "imagenet_2012_validation_synset_labels.txt (TensorFlow: one synset per line)"
)

# PIL's ways of saying "this is not a readable image": unidentified/truncated files are OSError,
# malformed chunks SyntaxError/ValueError, some truncated formats EOFError, and oversized images
# DecompressionBombError. timm's datasets let all of these through.
_IMAGE_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


class BadImageError(InputError):
    """One image of a source cannot be read (corrupt, truncated, empty or not an image)."""

    def __init__(self, name: str, reason: str, *, path: str | None = None) -> None:
        self.name = name
        self.reason = reason
        self.path = path
        super().__init__(
            f"{path or name}: cannot read image ({reason})",
            # timm's ImageDataset skips such a file with a warning and returns the next image in
            # its place, so the next image counts twice: mixbench refuses instead.
            hint="replace or remove the file; timm would silently evaluate the next image twice",
        )

    def __reduce__(self) -> tuple[Callable[..., BadImageError], tuple[str, str, str | None]]:
        # The default Exception pickling re-calls the class with ``args`` (the message alone),
        # which does not fit this signature; DataLoader workers and multiprocessing need this.
        return _rebuild_bad_image_error, (self.name, self.reason, self.path)


def _rebuild_bad_image_error(name: str, reason: str, path: str | None) -> BadImageError:
    return BadImageError(name, reason, path=path)


def decode_rgb(data: str | os.PathLike[str] | bytes, *, name: str) -> Image.Image:
    """An encoded image (a file path or its bytes) as RGB, exactly as timm reads it.

    No ``ImageOps.exif_transpose``: timm does not apply it, and card-exact means scoring the
    pixels timm scored (HF ``datasets`` does rotate when it decodes, which is one reason the HF
    source decodes the bytes itself).
    """
    try:
        opened = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        with opened as image:
            return image.convert("RGB")  # decodes every pixel, so a truncated file fails here
    except _IMAGE_READ_ERRORS as error:
        path = None if isinstance(data, bytes) else os.fspath(data)
        reason = str(error) or type(error).__name__
        raise BadImageError(name, reason, path=path) from error


class EvalSource(ABC):
    """An indexable set of evaluation images with ImageNet-1k labels (0..999, synset order)."""

    spec: str
    kind: str

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def label(self, index: int) -> int:
        """The ImageNet-1k class index of image ``index`` (timm's synset-sorted order)."""

    @abstractmethod
    def name(self, index: int) -> str:
        """A stable human name of image ``index`` (relative path, or ``hf:NAME:SPLIT#i``)."""

    def val_filename(self, index: int) -> str | None:
        """``ILSVRC2012_val_NNNNNNNN.JPEG`` when the image is a known val image (for ReaL)."""
        return None

    @abstractmethod
    def load(self, index: int) -> Image.Image:
        """Image ``index`` as RGB; :class:`BadImageError` when it cannot be read."""

    @abstractmethod
    def fingerprint(self) -> str:
        """sha256 hex of what identifies the content, computed without reading image bytes."""

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """A JSON-able summary: kind, spec, count, classes present and kind-specific details."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r}, {len(self)} images)"


def open_source(
    spec: str,
    *,
    labels: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> EvalSource:
    """The evaluation source ``spec`` names; :class:`InputError` with a hint when it cannot be."""
    if spec.startswith("hf:"):
        _refuse_labels(labels, spec)
        return open_hf_source(spec, cache_dir=cache_dir)
    if spec == "synthetic" or spec.startswith("synthetic:"):
        _refuse_labels(labels, spec)
        return SyntheticSource.from_spec(spec)
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(f"no such data source: {spec}", hint=SOURCE_FORMS_HINT)
    if not path.is_dir():
        raise InputError(f"{spec}: not a directory", hint=SOURCE_FORMS_HINT)
    return open_folder_source(spec, labels=labels)


def _refuse_labels(labels: str | os.PathLike[str] | None, spec: str) -> None:
    if labels is not None:
        raise InputError(
            f"--labels {os.fspath(labels)} does not apply to {spec}",
            hint="--labels is for a flat folder of ILSVRC2012_val_*.JPEG files",
        )


# --- ImageNet-1k class numbering -----------------------------------------------------------------


@lru_cache(maxsize=1)
def imagenet_synset_index() -> dict[str, int]:
    """Synset id → class index in timm's ImageNet-1k order (the sorted synsets)."""
    from timm.data import ImageNetInfo  # imports torch and torchvision: only when needed

    return {synset: index for index, synset in enumerate(ImageNetInfo("imagenet-1k").label_names())}


def natural_key(text: str) -> list[int | str]:
    """timm's sort key for image paths: case-folded, digit runs compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower())]


def canonical_val_filename(filename: str) -> str | None:
    """``ILSVRC2012_val_00000293.JPEG`` for any name carrying that val number, else ``None``.

    ReaL labels are keyed by the original JPEG names; a re-encoded ``.png`` copy or HF's
    ``ILSVRC2012_val_00000293_n01751748.JPEG`` still names the same val image.
    """
    match = VAL_NAME_PATTERN.search(filename)
    return f"ILSVRC2012_val_{int(match.group(1)):08d}.JPEG" if match else None


def _sha256_json(value: object) -> str:
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def _classes_present(labels: Iterable[int]) -> int:
    return len(set(labels))


def _name_a_few(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} (and {len(names) - limit} more)"


# --- folders -------------------------------------------------------------------------------------


class FolderSource(EvalSource):
    """Image files under a root folder, with one label each (both folder layouts)."""

    def __init__(
        self,
        *,
        spec: str,
        kind: str,
        root: Path,
        relative_paths: Sequence[str],
        labels: Sequence[int],
        labels_file: Path | None = None,
        labels_form: str | None = None,
    ) -> None:
        self.spec = spec
        self.kind = kind
        self.root = root
        # Plain lists of short strings and ints: 50k of them pickle in a few MB at most.
        self._relative_paths = list(relative_paths)
        self._labels = list(labels)
        self.labels_file = labels_file
        self.labels_form = labels_form

    def __len__(self) -> int:
        return len(self._relative_paths)

    def label(self, index: int) -> int:
        return self._labels[index]

    def name(self, index: int) -> str:
        return self._relative_paths[index]

    def val_filename(self, index: int) -> str | None:
        return canonical_val_filename(PurePosixPath(self._relative_paths[index]).name)

    def load(self, index: int) -> Image.Image:
        relative = self._relative_paths[index]
        return decode_rgb(self.root / relative, name=relative)

    def fingerprint(self) -> str:
        entries = sorted(
            (relative, _file_size(self.root / relative), label)
            for relative, label in zip(self._relative_paths, self._labels, strict=True)
        )
        return _sha256_json(entries)

    def describe(self) -> dict[str, object]:
        summary: dict[str, object] = {
            "kind": self.kind,
            "spec": self.spec,
            "root": str(self.root),
            "count": len(self),
            "num_classes": _classes_present(self._labels),
        }
        if self.labels_file is not None:
            summary["labels_file"] = str(self.labels_file)
            summary["labels_form"] = self.labels_form
        return summary


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1  # gone since the scan: still a different content, so a different fingerprint


def find_image_files(root: Path) -> list[str]:
    """Image files under ``root``, as sorted POSIX paths relative to it.

    As timm's folder reader: a recursive walk following links, timm's image extensions in any
    case, natural sort. Unlike timm, hidden files and folders (``._x.JPEG`` resource forks,
    ``.ipynb_checkpoints``) are left out: timm would fail on them and evaluate a neighbour twice.
    """
    from timm.data.readers.img_extensions import get_img_extensions

    extensions = get_img_extensions(as_set=True)
    found: list[str] = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        relative_folder = Path(folder).relative_to(root)
        for filename in files:
            if filename.startswith(".") or os.path.splitext(filename)[1].lower() not in extensions:
                continue
            found.append((relative_folder / filename).as_posix())
    # timm sorts the full paths by natural key; the shared root prefix does not change the order.
    # The plain string breaks the ties natural_key leaves (case, leading zeros) deterministically.
    return sorted(found, key=lambda relative: (natural_key(relative), relative))


def open_folder_source(spec: str, *, labels: str | os.PathLike[str] | None = None) -> FolderSource:
    """A folder of ImageNet val images: synset folders, or flat files plus a labels file."""
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise InputError(f"{spec}: not a directory", hint=SOURCE_FORMS_HINT)
    images = find_image_files(root)
    if not images:
        from timm.data.readers.img_extensions import get_img_extensions

        raise InputError(
            f"{root}: no images found",
            hint=f"looked for {'/'.join(get_img_extensions())} files (any case) in it and below",
        )
    loose = [relative for relative in images if "/" not in relative]
    in_folders = [relative for relative in images if "/" in relative]
    if not in_folders:
        if labels is None:
            raise InputError(
                f"{root} holds {len(loose)} images but no class folders: ImageNet val must be "
                "arranged in 1000 synset folders, or pass --labels FILE (val.txt, "
                "LOC_val_solution.csv or TF's synset labels)",
                hint="a class-folder reader puts every image of a flat folder in one class, "
                "which scores about 0%",
            )
        return _flat_folder_source(spec, root, loose, Path(labels).expanduser())
    return _synset_folder_source(spec, root, loose, in_folders, labels)


def _synset_folder_source(
    spec: str,
    root: Path,
    loose: list[str],
    in_folders: list[str],
    labels: str | os.PathLike[str] | None,
) -> FolderSource:
    synset_index = imagenet_synset_index()
    # The top folder names the class, also for images nested deeper inside it (timm would use the
    # innermost folder's name; the two agree on the standard one-level layout).
    class_folders = [relative.split("/", 1)[0] for relative in in_folders]
    not_synsets = sorted({folder for folder in class_folders if folder not in synset_index})
    if not_synsets:
        raise InputError(
            f"{root}: folders {_name_a_few(not_synsets)} are not ImageNet-1k synsets",
            hint=_not_synsets_hint(root, not_synsets),
        )
    if labels is not None:
        raise InputError(
            f"--labels {os.fspath(labels)} given, but {root} is arranged in synset folders",
            hint="drop --labels (the folder names are the labels), or point at a flat folder",
        )
    if loose:
        raise InputError(
            f"{root} holds {len(loose)} images beside its synset folders (e.g. {loose[0]})",
            hint="move them into their synset folders, or out of the folder",
        )
    return FolderSource(
        spec=spec,
        kind="imagenet-folder",
        root=root,
        relative_paths=in_folders,
        labels=[synset_index[folder] for folder in class_folders],
    )


def _not_synsets_hint(root: Path, not_synsets: Sequence[str]) -> str:
    for split_folder in ("val", "validation"):
        if (root / split_folder).is_dir():
            return f"did you mean {root / split_folder}?"
    if all(SYNSET_PATTERN.fullmatch(name) for name in not_synsets):
        return "these WordNet synsets are outside ImageNet-1k; mixbench scores its 1000 classes"
    return "ImageNet val must be arranged as DIR/n01440764/*.JPEG (one folder per synset)"


def _flat_folder_source(
    spec: str, root: Path, images: list[str], labels_file: Path
) -> FolderSource:
    form, label_by_stem = read_label_file(labels_file)
    image_labels: list[int] = []
    missing: list[str] = []
    for relative in images:
        label = label_by_stem.get(_stem(relative))
        if label is None:
            missing.append(relative)
        else:
            image_labels.append(label)
    if missing:
        raise InputError(
            f"{root / missing[0]}: no label in {labels_file} "
            f"({len(missing)} of {len(images)} images have none)",
            hint="labels are matched by file name (ILSVRC2012_val_00000001); is it the "
            "ImageNet-1k validation ground truth for these files?",
        )
    return FolderSource(
        spec=spec,
        kind="flat-folder",
        root=root,
        relative_paths=images,
        labels=image_labels,
        labels_file=labels_file,
        labels_form=form,
    )


def _stem(name: str) -> str:
    """``ILSVRC2012_val_00000001`` from ``val/ILSVRC2012_val_00000001.JPEG`` (or ``\\``)."""
    return os.path.splitext(PurePosixPath(name.replace("\\", "/")).name)[0]


# --- label files ---------------------------------------------------------------------------------

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


# --- Hugging Face datasets -----------------------------------------------------------------------

IMAGE_COLUMN_NAMES = ("image", "img", "jpg", "png")
LABEL_COLUMN_NAMES = ("label", "labels", "cls", "target")


@dataclass(frozen=True)
class HfSpec:
    """``hf:NAME[:SPLIT]`` taken apart."""

    name: str
    split: str
    split_given: bool

    @classmethod
    def parse(cls, spec: str) -> HfSpec:
        rest = spec.removeprefix("hf:")
        # A local path may itself hold ':'; only split it off when the whole is not a path.
        name, colon, split = ("", "", "") if rest and Path(rest).exists() else rest.rpartition(":")
        if not colon:
            name, split = rest, ""
        if not name:
            raise InputError(
                f"{spec}: no dataset name", hint="write hf:NAME[:SPLIT], e.g. hf:imagenet-1k"
            )
        return cls(name=name, split=split or DEFAULT_HF_SPLIT, split_given=bool(split))


class HfSource(EvalSource):
    """One split of a Hugging Face dataset; images decoded here, not by ``datasets``."""

    kind = "hf"

    def __init__(
        self,
        *,
        spec: str,
        hf_spec: HfSpec,
        images: datasets.Dataset,
        image_column: str,
        label_column: str,
        labels: Sequence[int],
        label_mapping: str,
        val_numbers: Sequence[int] | None,
        dataset_fingerprint: str,
    ) -> None:
        self.spec = spec
        self.hf_spec = hf_spec
        # Memory-mapped Arrow: pickling it records the cache files, not the images.
        self._images = images
        self.image_column = image_column
        self.label_column = label_column
        self._labels = list(labels)
        self.label_mapping = label_mapping
        self._val_numbers = None if val_numbers is None else list(val_numbers)
        self._dataset_fingerprint = dataset_fingerprint

    def __len__(self) -> int:
        return len(self._labels)

    def label(self, index: int) -> int:
        return self._labels[index]

    def name(self, index: int) -> str:
        return f"hf:{self.hf_spec.name}:{self.hf_spec.split}#{index}"

    def val_filename(self, index: int) -> str | None:
        if self._val_numbers is None or not self._val_numbers[index]:
            return None
        return f"ILSVRC2012_val_{self._val_numbers[index]:08d}.JPEG"

    def load(self, index: int) -> Image.Image:
        name = self.name(index)
        value = self._images[index][self.image_column]
        # As timm's HF reader: the embedded bytes when there are any, else the file path.
        if isinstance(value, dict):
            value = value.get("bytes") or value.get("path")
        if isinstance(value, bytes | str) and value:
            if isinstance(value, str) and "://" in value:
                raise BadImageError(name, f"stored as a remote path {value}, not embedded bytes")
            return decode_rgb(value, name=name)
        raise BadImageError(name, "no image bytes or path in the dataset row")

    def fingerprint(self) -> str:
        return _sha256_json(
            {
                "dataset_fingerprint": self._dataset_fingerprint,
                "split": self.hf_spec.split,
                "columns": [self.image_column, self.label_column],
            }
        )

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "spec": self.spec,
            "dataset": self.hf_spec.name,
            "split": self.hf_spec.split,
            "count": len(self),
            "num_classes": _classes_present(self._labels),
            "image_column": self.image_column,
            "label_column": self.label_column,
            "label_mapping": self.label_mapping,
        }


def open_hf_source(spec: str, *, cache_dir: str | os.PathLike[str] | None = None) -> HfSource:
    """``hf:NAME[:SPLIT]`` through the ``datasets`` library (imported only now: it is slow)."""
    import datasets

    hf_spec = HfSpec.parse(spec)
    dataset = _load_hf_dataset(hf_spec, cache_dir)
    where = f"hf:{hf_spec.name}:{hf_spec.split}"
    features = dataset.features
    image_column = _pick_column(
        "image",
        features,
        lambda feature: isinstance(feature, datasets.Image),
        IMAGE_COLUMN_NAMES,
        where,
    )
    label_column = _pick_column(
        "label",
        features,
        lambda feature: isinstance(feature, datasets.ClassLabel),
        LABEL_COLUMN_NAMES,
        where,
    )
    label_mapping, labels = _read_hf_labels(dataset, label_column, where)
    images = dataset.select_columns([image_column])
    if isinstance(features[image_column], datasets.Image):
        # Undecoded {bytes, path}: we decode as timm does, and a corrupt image becomes a
        # BadImageError rather than an exception deep inside datasets.
        images = images.cast_column(image_column, datasets.Image(decode=False))
    return HfSource(
        spec=spec,
        hf_spec=hf_spec,
        images=images,
        image_column=image_column,
        label_column=label_column,
        labels=labels,
        label_mapping=label_mapping,
        val_numbers=_read_val_numbers(images, image_column),
        dataset_fingerprint=str(getattr(dataset, "_fingerprint", "")),
    )


def _is_saved_to_disk(path: Path) -> bool:
    """Whether ``path`` was written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def _load_hf_dataset(hf_spec: HfSpec, cache_dir: str | os.PathLike[str] | None) -> datasets.Dataset:
    import datasets

    name, split = hf_spec.name, hf_spec.split
    local = Path(name).expanduser()
    if _is_saved_to_disk(local):
        try:
            loaded = datasets.load_from_disk(str(local))
        except (OSError, ValueError, datasets.exceptions.DatasetsError) as error:
            raise InputError(
                f"hf:{name}: cannot load the saved dataset ({_first_line(error)})",
                hint="is it a complete Dataset/DatasetDict.save_to_disk folder?",
            ) from error
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise InputError(
                    f"hf:{name}: no split {split!r}; it has {', '.join(loaded)}",
                    hint=f"write hf:{name}:SPLIT",
                )
            return loaded[split]
        if hf_spec.split_given and loaded.split is not None and str(loaded.split) != split:
            raise InputError(
                f"hf:{name}: holds the {loaded.split} split, not {split!r}",
                hint=f"write hf:{name}",
            )
        return loaded
    try:
        return datasets.load_dataset(
            name,
            split=split,
            cache_dir=None if cache_dir is None else os.fspath(cache_dir),
            token=os.environ.get("HF_TOKEN"),
        )
    except (OSError, ValueError, datasets.exceptions.DatasetsError) as error:
        raise InputError(
            f"hf:{name}:{split}: cannot load the dataset ({_first_line(error)})",
            hint=_hf_load_hint(name, error),
        ) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _hf_load_hint(name: str, error: BaseException) -> str:
    if "split" in str(error).lower():
        return f"pick one of its splits: hf:{name}:SPLIT"
    return (
        "check the name; a gated dataset such as imagenet-1k needs HF_TOKEN; offline "
        "(HF_DATASETS_OFFLINE=1) only the local HF cache (--cache-dir) is used; a "
        "save_to_disk folder is read as hf:DIR"
    )


def _pick_column(
    role: str,
    features: datasets.Features,
    is_typed: Callable[[Any], bool],
    usual_names: Sequence[str],
    where: str,
) -> str:
    """The one column holding ``role``: by feature type first, then by its usual names."""
    typed = [column for column, feature in features.items() if is_typed(feature)]
    candidates = typed or [column for column in usual_names if column in features]
    if len(candidates) > 1:
        named = [column for column in candidates if column in usual_names]
        candidates = named if len(named) == 1 else candidates
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(
        f"{column} ({type(feature).__name__})" for column, feature in features.items()
    )
    problem = "several" if candidates else "no"
    raise InputError(
        f"{where}: {problem} {role} columns; columns: {found}",
        hint=f"mixbench looks for one {role} column: a typed feature, or one named "
        f"{'/'.join(usual_names)}",
    )


def _read_hf_labels(dataset: datasets.Dataset, column: str, where: str) -> tuple[str, list[int]]:
    """(how labels were mapped, the labels as ImageNet-1k indices) for a whole split."""
    import datasets

    values = dataset.select_columns([column]).with_format("arrow")[:].column(column).to_pylist()
    feature = dataset.features[column]
    names = feature.names if isinstance(feature, datasets.ClassLabel) else None
    synset_index = imagenet_synset_index()
    if names and all(SYNSET_PATTERN.fullmatch(name) for name in names):
        # Class names are synsets: renumber them in timm's synset order.
        unknown = [name for name in names if name not in synset_index]
        if unknown:
            raise InputError(
                f"{where}: class names {_name_a_few(unknown)} in column {column} are not "
                "ImageNet-1k synsets",
                hint="mixbench scores the 1000 ImageNet-1k classes",
            )
        _check_indices(values, len(names), column, where)
        order = [synset_index[name] for name in names]
        return "synset", [order[value] for value in values]
    if values and all(isinstance(value, str) for value in values):
        unknown = sorted({value for value in values if value not in synset_index})
        if unknown:
            raise InputError(
                f"{where}: labels {_name_a_few(unknown)} in column {column} are not "
                "ImageNet-1k synsets",
                hint="string labels must be synset ids like n01440764",
            )
        return "synset", [synset_index[value] for value in values]
    _check_indices(values, NUM_CLASSES, column, where)
    return "index", list(values)


def _check_indices(values: Sequence[object], count: int, column: str, where: str) -> None:
    bad = [value for value in values if not _is_index(value, count)]
    if bad:
        raise InputError(
            f"{where}: {len(bad)} labels in column {column} are outside 0..{count - 1} "
            f"(e.g. {bad[0]!r})",
            hint="the ImageNet test split is unlabelled (-1): use the validation split"
            if -1 in bad
            else "the labels must be ImageNet-1k class indices in the standard order",
        )


def _is_index(value: object, count: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _read_val_numbers(images: datasets.Dataset, column: str) -> list[int] | None:
    """Each row's ILSVRC2012 val number from its stored path (0 where none), without decoding."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers: list[int] = []
    for batch in images.with_format("arrow").iter(batch_size=4096):
        stored = batch.column(column)
        if pa.types.is_struct(stored.type) and stored.type.get_field_index("path") >= 0:
            paths = pc.struct_field(stored, "path").to_pylist()
        elif pa.types.is_string(stored.type) or pa.types.is_large_string(stored.type):
            paths = stored.to_pylist()
        else:
            return None
        for path in paths:
            match = VAL_NAME_PATTERN.search(path) if path else None
            numbers.append(int(match.group(1)) if match else 0)
    return numbers if any(numbers) else None


# --- synthetic -----------------------------------------------------------------------------------

_SYNTHETIC_VERSION = 1  # bump when the generated pixels change: the fingerprint follows it


class SyntheticSource(EvalSource):
    """Deterministic generated images of varied sizes, for smoke runs without data."""

    kind = "synthetic"

    def __init__(self, spec: str, count: int) -> None:
        self.spec = spec
        self.count = count

    @classmethod
    def from_spec(cls, spec: str) -> SyntheticSource:
        _, colon, count_text = spec.partition(":")
        if not colon:
            return cls(spec, DEFAULT_SYNTHETIC_COUNT)
        if not count_text.isdigit() or int(count_text) < 1:
            raise InputError(f"{spec}: expected synthetic:N with N ≥ 1", hint="e.g. synthetic:64")
        return cls(spec, int(count_text))

    def __len__(self) -> int:
        return self.count

    def _check(self, index: int) -> None:
        if not 0 <= index < self.count:
            raise IndexError(f"image {index} of {self.count}")

    def label(self, index: int) -> int:
        self._check(index)
        return index * 7919 % NUM_CLASSES  # 7919 is prime to 1000: the first 1000 cover each class

    def name(self, index: int) -> str:
        self._check(index)
        return f"synthetic#{index}"

    def load(self, index: int) -> Image.Image:
        import numpy as np

        self._check(index)
        rng = np.random.default_rng([_SYNTHETIC_VERSION, index])
        width, height = (int(side) for side in rng.integers(160, 401, size=2))
        # Smooth colour ramps plus noise: something for a resize filter to work on.
        ys = np.linspace(0.0, 1.0, height)[:, None, None]
        xs = np.linspace(0.0, 1.0, width)[None, :, None]
        start, slope_x, slope_y = (rng.uniform(0, 255, size=3) for _ in range(3))
        ramp = start + (slope_x - 128) * xs + (slope_y - 128) * ys
        noise = rng.normal(0.0, 12.0, size=(height, width, 3))
        pixels = np.clip(ramp + noise, 0, 255).astype(np.uint8)
        return Image.fromarray(pixels)

    def fingerprint(self) -> str:
        return _sha256_json({"synthetic": _SYNTHETIC_VERSION, "count": self.count})

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "spec": self.spec,
            "count": self.count,
            "num_classes": min(self.count, NUM_CLASSES),
        }
