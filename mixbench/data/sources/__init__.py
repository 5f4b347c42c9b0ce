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

import os
from pathlib import Path

from mixbench.data.sources.base import SOURCE_FORMS_HINT, BadImageError, EvalSource, decode_rgb
from mixbench.data.sources.folders import FolderSource, find_image_files, open_folder_source
from mixbench.data.sources.huggingface import (
    DEFAULT_HF_SPLIT,
    IMAGE_COLUMN_NAMES,
    LABEL_COLUMN_NAMES,
    HfSource,
    HfSpec,
    open_hf_source,
)
from mixbench.data.sources.imagenet import (
    NUM_CLASSES,
    SYNSET_PATTERN,
    VAL_NAME_PATTERN,
    canonical_val_filename,
    imagenet_synset_index,
    natural_key,
)
from mixbench.data.sources.label_files import (
    LABEL_FORM_CAFFE,
    LABEL_FORM_KAGGLE,
    LABEL_FORM_TENSORFLOW,
    LABEL_FORMS_HINT,
    parse_label_text,
    read_label_file,
)
from mixbench.data.sources.synthetic import DEFAULT_SYNTHETIC_COUNT, SyntheticSource
from mixbench.errors import InputError


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


__all__ = [
    "DEFAULT_HF_SPLIT",
    "DEFAULT_SYNTHETIC_COUNT",
    "IMAGE_COLUMN_NAMES",
    "LABEL_COLUMN_NAMES",
    "LABEL_FORMS_HINT",
    "LABEL_FORM_CAFFE",
    "LABEL_FORM_KAGGLE",
    "LABEL_FORM_TENSORFLOW",
    "NUM_CLASSES",
    "SOURCE_FORMS_HINT",
    "SYNSET_PATTERN",
    "VAL_NAME_PATTERN",
    "BadImageError",
    "EvalSource",
    "FolderSource",
    "HfSource",
    "HfSpec",
    "SyntheticSource",
    "canonical_val_filename",
    "decode_rgb",
    "find_image_files",
    "imagenet_synset_index",
    "natural_key",
    "open_folder_source",
    "open_hf_source",
    "open_source",
    "parse_label_text",
    "read_label_file",
]
