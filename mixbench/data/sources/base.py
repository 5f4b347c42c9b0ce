"""What every evaluation source shares.

The :class:`EvalSource` interface, image decoding exactly as timm reads (:func:`decode_rgb`,
:class:`BadImageError`), and small helpers for fingerprints, summaries and messages.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

from PIL import Image

from mixbench.errors import InputError

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


def _sha256_json(value: object) -> str:
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def _classes_present(labels: Iterable[int]) -> int:
    return len(set(labels))


def _name_a_few(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} (and {len(names) - limit} more)"
