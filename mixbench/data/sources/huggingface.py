"""``hf:NAME[:SPLIT]``: a Hugging Face dataset split, its images decoded here as timm does.

``datasets`` is imported only when such a source is opened: it is slow to import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

import mixbench.hub as hub
from mixbench.data.sources.base import (
    BadImageError,
    EvalSource,
    _classes_present,
    _name_a_few,
    _sha256_json,
    decode_rgb,
)
from mixbench.data.sources.imagenet import (
    NUM_CLASSES,
    SYNSET_PATTERN,
    VAL_NAME_PATTERN,
    imagenet_synset_index,
)
from mixbench.errors import InputError
from mixbench.io import exists

if TYPE_CHECKING:
    import datasets

DEFAULT_HF_SPLIT = "validation"

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
        name, colon, split = ("", "", "") if rest and exists(rest) else rest.rpartition(":")
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
    # Local data (a folder of images or parquet files) never needs the hub; a hub name does
    # unless it is cached, and without a network the hub is not waited for: only the cache is read.
    why_offline = None if local.exists() else _why_hub_offline()
    try:
        with _hub_offline(why_offline is not None):
            return datasets.load_dataset(
                name,
                split=split,
                cache_dir=None if cache_dir is None else os.fspath(cache_dir),
                token=os.environ.get("HF_TOKEN"),
            )
    except ConnectionError as error:  # offline and not cached (datasets: "Couldn't reach ...")
        raise _not_cached_error(hf_spec, why_offline, error) from error
    except (OSError, ValueError, datasets.exceptions.DatasetsError) as error:
        raise InputError(
            f"hf:{name}:{split}: cannot load the dataset ({_first_line(error)})",
            hint=_hf_load_hint(name, error),
        ) from error


def _why_hub_offline() -> str | None:
    """Why the hub is not to be asked (offline mode set, or no connection), or None."""
    import datasets
    import huggingface_hub.constants

    flags_set = any(getattr(module, flag) for module, flag in _offline_flags())
    if flags_set or hub.env_flag("HF_DATASETS_OFFLINE") or hub.hub_offline_requested():
        return "HF_HUB_OFFLINE is set"
    endpoint = getattr(datasets.config, "HF_ENDPOINT", huggingface_hub.constants.ENDPOINT)
    problem = hub.hub_unreachable(endpoint)
    return None if problem is None else f"the Hugging Face hub is unreachable (offline? {problem})"


def _offline_flags() -> list[tuple[Any, str]]:
    """The module flags datasets and huggingface_hub check, when called, for offline mode
    (datasets < 3 checks HF_DATASETS_OFFLINE, later ones HF_HUB_OFFLINE)."""
    import datasets
    import huggingface_hub.constants

    candidates = [
        (datasets.config, "HF_HUB_OFFLINE"),
        (datasets.config, "HF_DATASETS_OFFLINE"),
        (huggingface_hub.constants, "HF_HUB_OFFLINE"),
    ]
    return [(module, flag) for module, flag in candidates if hasattr(module, flag)]


@contextmanager
def _hub_offline(offline: bool) -> Iterator[None]:
    """datasets and huggingface_hub offline for one call: their environment variables are
    read only at import, and offline they go straight to the cache instead of retrying."""
    if not offline:
        yield
        return
    flags = _offline_flags()
    saved = [getattr(module, flag) for module, flag in flags]
    for module, flag in flags:
        setattr(module, flag, True)
    try:
        yield
    finally:
        for (module, flag), value in zip(flags, saved, strict=True):
            setattr(module, flag, value)


def _not_cached_error(hf_spec: HfSpec, why_offline: str | None, error: Exception) -> InputError:
    where = f"hf:{hf_spec.name}:{hf_spec.split}"
    if why_offline is None:  # the probe reached the hub, the load did not: say what failed
        why_offline = f"the Hugging Face hub could not be reached ({_first_line(error)})"
    if why_offline.startswith("HF_HUB_OFFLINE"):
        first = "unset HF_HUB_OFFLINE (and HF_DATASETS_OFFLINE) to download it"
    else:
        first = "set HF_HUB_OFFLINE=1 to use only the local cache without trying the hub"
    return InputError(
        f"{where}: cannot load the dataset: it is not in the local datasets cache and "
        f"{why_offline}",
        hint=f"{first}; --cache-dir names the cache it is in; a gated dataset such as "
        "imagenet-1k needs HF_TOKEN; a save_to_disk folder is read as hf:DIR",
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _hf_load_hint(name: str, error: BaseException) -> str:
    if "split" in str(error).lower():
        return f"pick one of its splits: hf:{name}:SPLIT"
    return (
        "check the name; a gated dataset such as imagenet-1k needs HF_TOKEN; offline "
        "(HF_HUB_OFFLINE=1 or HF_DATASETS_OFFLINE=1) only the local HF cache (--cache-dir) is "
        "used; a save_to_disk folder is read as hf:DIR"
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
