"""Evaluation data sources: where the images and their ImageNet-1k labels come from.

``open_source(spec)`` turns what the user typed into an :class:`EvalSource`, by the table of
forms in :mod:`~mixbench.data.sources.registry` (one row per form; adding a source is a module
and a row there):

- ``DIR`` arranged as ImageNet val in synset folders (``DIR/n01440764/*.JPEG``);
- ``DIR`` holding the flat ``ILSVRC2012_val_*.JPEG`` files, with ``labels=FILE``;
- ``hf:NAME[:SPLIT]``, a Hugging Face dataset (hub name, local data dir or ``save_to_disk`` dir);
- ``synthetic[:N]``, generated images for smoke runs.

Every source reads an image the way timm's datasets do (:func:`decode_rgb`: ``Image.open(...)
.convert("RGB")``, no EXIF rotation), numbers classes in timm's ImageNet-1k synset order, and
pickles cheaply, so DataLoader workers can take it.
"""

from __future__ import annotations

from mixbench.data.sources.base import BadImageError, EvalSource, decode_rgb
from mixbench.data.sources.folders import (
    FOLDER_FORM,
    FolderSource,
    find_image_files,
    open_folder_source,
)
from mixbench.data.sources.huggingface import (
    DEFAULT_HF_SPLIT,
    IMAGE_COLUMN_NAMES,
    LABEL_COLUMN_NAMES,
    HfSource,
    HfSpec,
    open_hf_source,
)
from mixbench.data.sources.imagenet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
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
from mixbench.data.sources.registry import (
    SOURCE_FORMS,
    SOURCE_FORMS_HINT,
    SourceForm,
    open_source,
)
from mixbench.data.sources.synthetic import DEFAULT_SYNTHETIC_COUNT, SyntheticSource

__all__ = [
    "DEFAULT_HF_SPLIT",
    "DEFAULT_SYNTHETIC_COUNT",
    "FOLDER_FORM",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_COLUMN_NAMES",
    "LABEL_COLUMN_NAMES",
    "LABEL_FORMS_HINT",
    "LABEL_FORM_CAFFE",
    "LABEL_FORM_KAGGLE",
    "LABEL_FORM_TENSORFLOW",
    "NUM_CLASSES",
    "SOURCE_FORMS",
    "SOURCE_FORMS_HINT",
    "SYNSET_PATTERN",
    "VAL_NAME_PATTERN",
    "BadImageError",
    "EvalSource",
    "FolderSource",
    "HfSource",
    "HfSpec",
    "SourceForm",
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
