"""ImageNet val as image files in a folder: synset folders, or flat files plus a labels file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from PIL import Image

from mixbench.data.sources.base import (
    EvalSource,
    _classes_present,
    _name_a_few,
    _sha256_json,
    decode_rgb,
)
from mixbench.data.sources.imagenet import (
    SYNSET_PATTERN,
    canonical_val_filename,
    imagenet_synset_index,
    natural_key,
)
from mixbench.data.sources.label_files import _stem, read_label_file
from mixbench.errors import InputError

#: How the data-source hints name a folder source.
FOLDER_FORM = "an ImageNet val folder (DIR/n01440764/*.JPEG, or a flat DIR with --labels FILE)"


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
        #: folders left out of the scan (reached again through a link, or unreadable)
        self.skipped: list[str] = []

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
        if self.skipped:
            summary["skipped_folders"] = list(self.skipped)
        return summary


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1  # gone since the scan: still a different content, so a different fingerprint


def find_image_files(root: Path, skipped: list[str] | None = None) -> list[str]:
    """Image files under ``root``, as sorted POSIX paths relative to it.

    As timm's folder reader: a recursive walk following links, timm's image extensions in any
    case, natural sort. Unlike timm, hidden files and folders (``._x.JPEG`` resource forks,
    ``.ipynb_checkpoints``) are left out: timm would fail on them and evaluate a neighbour twice.
    Each folder is entered once, by its device and inode, in sorted order: a link back up
    (``n01440764/up -> ..``) would otherwise count images many times, in the wrong class, or
    never end. Folders reached again (and ones that cannot be read) go into ``skipped``.
    """
    from timm.data.readers.img_extensions import get_img_extensions

    extensions = get_img_extensions(as_set=True)
    found: list[str] = []
    seen = {_identity(root)}
    for folder, subfolders, files in os.walk(root, followlinks=True):
        relative_folder = Path(folder).relative_to(root)
        kept = []
        for name in sorted(subfolders):
            if name.startswith("."):
                continue
            identity = _identity(Path(folder) / name)
            if identity is None or identity in seen:
                if skipped is not None:
                    why = "unreadable" if identity is None else "already read through a link"
                    skipped.append(f"{(relative_folder / name).as_posix()} ({why})")
                continue
            seen.add(identity)
            kept.append(name)
        subfolders[:] = kept
        for filename in files:
            if filename.startswith(".") or os.path.splitext(filename)[1].lower() not in extensions:
                continue
            found.append((relative_folder / filename).as_posix())
    # timm sorts the full paths by natural key; the shared root prefix does not change the order.
    # The plain string breaks the ties natural_key leaves (case, leading zeros) deterministically.
    return sorted(found, key=lambda relative: (natural_key(relative), relative))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def open_folder_source(spec: str, *, labels: str | os.PathLike[str] | None = None) -> FolderSource:
    """A folder of ImageNet val images: synset folders, or flat files plus a labels file."""
    root = Path(spec).expanduser()
    if not root.is_dir():
        # open_source checks this first, with the hint of every form; a direct call gets this one.
        raise InputError(f"{spec}: not a directory", hint=f"give {FOLDER_FORM}")
    skipped: list[str] = []
    images = find_image_files(root, skipped)
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
        source = _flat_folder_source(spec, root, loose, Path(labels).expanduser())
    else:
        source = _synset_folder_source(spec, root, loose, in_folders, labels)
    source.skipped = skipped
    return source


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
