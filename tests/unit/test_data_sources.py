"""Evaluation data sources: layouts, label files, HF datasets, synthetic, errors, pickling."""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import datasets
import huggingface_hub.constants
import pytest
from hub_cache import cache_dataset, closed_port
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from timm.data import ImageNetInfo
from timm.data.readers.reader_image_folder import find_images_and_targets
from timm.utils.misc import natural_key as timm_natural_key

from mixbench.data.sources import (
    BadImageError,
    EvalSource,
    natural_key,
    open_source,
    parse_label_text,
)
from mixbench.errors import InputError

# Independent of timm's list: the indices every ImageNet-1k classifier uses.
SYNSET_INDEX = {"n01440764": 0, "n01443537": 1, "n01484850": 2, "n15075141": 999}
# The first six ImageNet val images and their caffe val.txt indices (65 sea snake, 970 alp, ...).
VAL_SYNSETS = ["n01751748", "n09193705", "n02105855", "n04263257", "n03125729", "n01735189"]
VAL_INDICES = [65, 970, 230, 809, 516, 57]
IMAGENET_SYNSETS = ImageNetInfo("imagenet-1k").label_names()


def write_image(path: Path, size: tuple[int, int] = (8, 6), color: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (color, 255 - color, 40)).save(path)  # format from the extension
    return path


def val_name(number: int, extension: str = ".JPEG") -> str:
    return f"ILSVRC2012_val_{number:08d}{extension}"


def open_error(spec: str | Path, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as caught:
        open_source(str(spec), **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- ImageNet val in synset folders ----------------------------------------------------------


def test_synset_folders_are_numbered_in_imagenet_order_not_folder_order(tmp_path: Path) -> None:
    # A subset of synsets: timm's own ImageFolder would number these 0..3, the card wants 0..999.
    for synset in ["n15075141", "n01484850", "n01440764"]:
        write_image(tmp_path / synset / "a.JPEG")
    source = open_source(str(tmp_path))
    assert source.kind == "imagenet-folder"
    assert [source.name(i) for i in range(len(source))] == [
        "n01440764/a.JPEG",
        "n01484850/a.JPEG",
        "n15075141/a.JPEG",
    ]
    assert [source.label(i) for i in range(len(source))] == [0, 2, 999]
    assert source.describe()["num_classes"] == 3
    assert source.load(0).mode == "RGB"


def test_folder_scan_matches_timm_order_extensions_and_labels(tmp_path: Path) -> None:
    names = ["img10.JPEG", "img2.jpeg", "IMG1.Jpg", "b.png", "notes.txt", "c.webp", "img3.JPG"]
    for synset in ["n01443537", "n01440764"]:
        for name in names:
            if name.endswith(".txt"):
                (tmp_path / synset / name).write_text("not an image")
            else:
                write_image(tmp_path / synset / name)
    write_image(tmp_path / "n01440764" / "nested" / "img0.JPEG")  # timm walks recursively
    source = open_source(str(tmp_path))

    class_to_idx = {synset: index for index, synset in enumerate(IMAGENET_SYNSETS)}
    class_to_idx["nested"] = 0  # timm labels by the innermost folder; we by the synset folder
    timm_samples, _ = find_images_and_targets(str(tmp_path), class_to_idx=class_to_idx)
    timm_names = [Path(path).relative_to(tmp_path).as_posix() for path, _ in timm_samples]
    assert [source.name(i) for i in range(len(source))] == timm_names
    assert [source.label(i) for i in range(len(source))] == [t for _, t in timm_samples]
    assert source.name(0) == "n01440764/b.png"
    assert [source.name(i) for i in range(1, 6)] == [
        "n01440764/IMG1.Jpg",
        "n01440764/img2.jpeg",
        "n01440764/img3.JPG",
        "n01440764/img10.JPEG",
        "n01440764/nested/img0.JPEG",
    ]
    assert not any(source.name(i).endswith((".webp", ".txt")) for i in range(len(source)))


def test_hidden_files_are_skipped(tmp_path: Path) -> None:
    # macOS resource forks: timm would fail on them and evaluate the next image twice.
    write_image(tmp_path / "n01440764" / "a.JPEG")
    (tmp_path / "n01440764" / "._a.JPEG").write_bytes(b"\x00\x05\x16\x07")
    write_image(tmp_path / ".ipynb_checkpoints" / "x.JPEG")
    source = open_source(str(tmp_path))
    assert [source.name(i) for i in range(len(source))] == ["n01440764/a.JPEG"]


@given(st.lists(st.text(alphabet="aB0123456789_./-", max_size=12), max_size=12))
def test_natural_key_sorts_as_timm(names: list[str]) -> None:
    assert sorted(names, key=natural_key) == sorted(names, key=timm_natural_key)


def test_folders_that_are_not_synsets_are_named(tmp_path: Path) -> None:
    for folder in ["cats", "dogs", "n01440764"]:
        write_image(tmp_path / folder / "a.jpg")
    error = open_error(tmp_path)
    assert "cats, dogs are not ImageNet-1k synsets" in error.message
    assert str(tmp_path) in error.message
    assert "n01440764" in (error.hint or "")


def test_synsets_outside_imagenet_1k_are_called_so(tmp_path: Path) -> None:
    write_image(tmp_path / "n00004475" / "a.jpg")
    error = open_error(tmp_path)
    assert "n00004475" in error.message
    assert "outside ImageNet-1k" in (error.hint or "")


def test_parent_of_train_and_val_gets_a_did_you_mean(tmp_path: Path) -> None:
    for split in ["train", "val"]:
        write_image(tmp_path / split / "n01440764" / "a.JPEG")
    error = open_error(tmp_path)
    assert "train, val are not ImageNet-1k synsets" in error.message
    assert error.hint == f"did you mean {tmp_path / 'val'}?"


def test_loose_images_beside_synset_folders_are_refused(tmp_path: Path) -> None:
    write_image(tmp_path / "n01440764" / "a.JPEG")
    write_image(tmp_path / "stray.JPEG")
    assert (
        "holds 1 images beside its synset folders (e.g. stray.JPEG)" in open_error(tmp_path).message
    )


def test_labels_with_synset_folders_are_ambiguous(tmp_path: Path) -> None:
    write_image(tmp_path / "n01440764" / "a.JPEG")
    labels = tmp_path / "val.txt"
    labels.write_text("a.JPEG 0\n")
    error = open_error(tmp_path, labels=labels)
    assert "arranged in synset folders" in error.message


def test_missing_path_file_and_empty_folder(tmp_path: Path) -> None:
    error = open_error(tmp_path / "nope")
    assert error.message == f"no such data source: {tmp_path / 'nope'}"
    assert "hf:NAME[:SPLIT]" in (error.hint or "") and "synthetic" in (error.hint or "")
    file = tmp_path / "file.txt"
    file.write_text("x")
    assert open_error(file).message == f"{file}: not a directory"
    (tmp_path / "empty" / "n01440764").mkdir(parents=True)
    assert open_error(tmp_path / "empty").message == f"{tmp_path / 'empty'}: no images found"


# --- flat val folder + labels file -----------------------------------------------------------


@pytest.fixture
def flat_folder(tmp_path: Path) -> Path:
    """Val images 1, 2, 3 and 5 of the first six (a subset, as a quick run would have)."""
    folder = tmp_path / "val"
    for number in [1, 2, 3, 5]:
        write_image(folder / val_name(number), color=number * 20)
    return folder


def caffe_text(indices: list[int], names: Callable[[int], str] = val_name) -> str:
    return "".join(f"{names(n)} {index}\n" for n, index in enumerate(indices, 1))


def tensorflow_text(indices: list[int]) -> str:
    return "".join(f"{IMAGENET_SYNSETS[index]}\n" for index in indices)


def kaggle_text(indices: list[int]) -> str:
    rows = [
        f"{val_name(n, '')},{IMAGENET_SYNSETS[index]} 1 2 30 40 {IMAGENET_SYNSETS[index]} 5 6 7 8"
        for n, index in enumerate(indices, 1)
    ]
    return "ImageId,PredictionString\n" + "\n".join(reversed(rows)) + "\n"  # any row order


@pytest.mark.parametrize(
    ("filename", "text", "form"),
    [
        ("val.txt", caffe_text(VAL_INDICES), "val.txt"),
        (
            "imagenet_2012_validation_synset_labels.txt",
            tensorflow_text(VAL_INDICES),
            "tf-synset-lines",
        ),
        ("LOC_val_solution.csv", kaggle_text(VAL_INDICES), "kaggle-loc-csv"),
    ],
)
def test_each_label_file_form_gives_the_same_labels(
    flat_folder: Path, filename: str, text: str, form: str
) -> None:
    labels = flat_folder.parent / filename
    labels.write_text(text)
    source = open_source(str(flat_folder), labels=labels)
    assert source.kind == "flat-folder"
    assert [source.name(i) for i in range(len(source))] == [val_name(n) for n in [1, 2, 3, 5]]
    assert [source.label(i) for i in range(len(source))] == [65, 970, 230, 516]
    assert source.val_filename(3) == val_name(5)
    assert source.describe()["labels_form"] == form


def test_tensorflow_synsets_map_to_the_caffe_indices() -> None:
    # The synset order (timm's) is the order of caffe's val.txt indices.
    _, labels = parse_label_text("".join(f"{s}\n" for s in VAL_SYNSETS), where="tf.txt")
    assert list(labels.values()) == VAL_INDICES


def test_flat_folder_without_labels_explains_the_two_layouts(flat_folder: Path) -> None:
    error = open_error(flat_folder)
    assert error.message == (
        f"{flat_folder} holds 4 images but no class folders: ImageNet val must be arranged in "
        "1000 synset folders, or pass --labels FILE (val.txt, LOC_val_solution.csv or TF's "
        "synset labels)"
    )
    assert "0%" in (error.hint or "")


def test_devkit_ground_truth_is_refused(flat_folder: Path) -> None:
    labels = flat_folder.parent / "ILSVRC2012_validation_ground_truth.txt"
    labels.write_text("490\n361\n171\n822\n297\n482\n")
    error = open_error(flat_folder, labels=labels)
    assert "devkit's own order" in error.message and "meta.mat" in error.message
    assert "val.txt" in (error.hint or "") and "LOC_val_solution.csv" in (error.hint or "")


def test_images_without_a_label_are_counted(flat_folder: Path) -> None:
    labels = flat_folder.parent / "val.txt"
    labels.write_text(caffe_text([65, 970]))
    error = open_error(flat_folder, labels=labels)
    assert error.message == (
        f"{flat_folder / val_name(3)}: no label in {labels} (2 of 4 images have none)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the labels file is empty"),
        ("a.JPEG 1000\n", "class index 1000 is outside 0..999"),
        ("a.JPEG n00004475\n", "'n00004475' is not an ImageNet-1k synset"),
        ("a.JPEG 1\na.JPEG 2\n", "a labelled again, differently (1, then 2)"),
        ("a.JPEG 1\nb.JPEG\n", "labels.txt:2: expected 'FILENAME INDEX'"),
        ("n01440764\n\nn01443537\n", "labels.txt:2: empty line"),
        ("ImageId,Other\n", "expected the header 'ImageId,PredictionString'"),
        ("one two three\n", "cannot tell the labels file's form"),
    ],
)
def test_label_file_problems_are_located(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_label_text(text, where="labels.txt")


def test_label_file_accepts_paths_bom_crlf_and_synsets(tmp_path: Path) -> None:
    folder = tmp_path / "flat"
    write_image(folder / val_name(1))
    labels = tmp_path / "val.txt"
    labels.write_bytes(f"\ufeffval/{val_name(1)} n01751748\r\n".encode())
    source = open_source(str(folder), labels=labels)
    assert source.label(0) == 65


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 999), min_size=1, max_size=30))
def test_every_label_form_parses_to_the_same_mapping(indices: list[int]) -> None:
    expected = {val_name(n, ""): index for n, index in enumerate(indices, 1)}
    for render in (caffe_text, tensorflow_text, kaggle_text):
        _, labels = parse_label_text(render(indices), where="labels")
        assert labels == expected


# --- unreadable images -----------------------------------------------------------------------


def _noise_jpeg(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not an image", _noise_jpeg()[:600]],
    ids=["empty", "garbage", "truncated"],
)
def test_unreadable_image_is_a_bad_image_error_naming_the_file(
    tmp_path: Path, content: bytes
) -> None:
    write_image(tmp_path / "n01440764" / "good.JPEG")
    bad = tmp_path / "n01440764" / "bad.JPEG"
    bad.write_bytes(content)
    source = open_source(str(tmp_path))  # opening reads no image bytes
    assert source.name(0) == "n01440764/bad.JPEG"
    with pytest.raises(BadImageError) as caught:
        source.load(0)
    error = caught.value
    assert error.name == "n01440764/bad.JPEG" and error.reason
    assert error.message.startswith(f"{bad}: cannot read image (")
    assert isinstance(error, InputError)
    copy = pickle.loads(pickle.dumps(error))  # travels back from DataLoader workers
    assert (copy.name, copy.reason, copy.message) == (error.name, error.reason, error.message)
    assert source.load(1).size == (8, 6)


# --- Hugging Face datasets -------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hub calls: datasets and huggingface_hub read these flags at import time."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def jpeg_bytes(color: int, size: tuple[int, int] = (10, 7)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (color, 10, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def hf_dataset(
    names: list[str], labels: list[int], images: list[bytes] | None = None
) -> datasets.Dataset:
    images = images or [jpeg_bytes(40 * i) for i in range(len(labels))]
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=names)}
    )
    rows = {
        "image": [
            {"bytes": data, "path": f"ILSVRC2012_val_{i + 1:08d}_x.JPEG"}
            for i, data in enumerate(images)
        ],
        "label": labels,
    }
    return datasets.Dataset.from_dict(rows, features=features)


def test_hf_saved_dataset_with_synset_class_names(tmp_path: Path) -> None:
    hf_dataset(["n15075141", "n01440764"], [0, 1, 1]).save_to_disk(tmp_path / "ds")
    source = open_source(f"hf:{tmp_path / 'ds'}")
    assert source.kind == "hf"
    assert [source.label(i) for i in range(3)] == [999, 0, 0]
    assert source.name(2) == f"hf:{tmp_path / 'ds'}:validation#2"
    assert source.val_filename(1) == "ILSVRC2012_val_00000002.JPEG"
    image = source.load(1)
    assert (image.mode, image.size) == ("RGB", (10, 7))
    assert source.describe()["label_mapping"] == "synset"


def test_hf_plain_class_names_keep_their_indices(tmp_path: Path) -> None:
    names = [f"class {i}" for i in range(1000)]  # as HF's imagenet-1k: lemmas, standard order
    hf_dataset(names, [5, 998]).save_to_disk(tmp_path / "ds")
    source = open_source(f"hf:{tmp_path / 'ds'}")
    assert [source.label(0), source.label(1)] == [5, 998]
    assert source.describe()["label_mapping"] == "index"


def test_hf_dataset_dict_splits(tmp_path: Path) -> None:
    splits = {
        "validation": hf_dataset(["n01440764", "n01443537"], [1, 0]),
        "train": hf_dataset(["n01440764", "n01443537"], [0]),
    }
    datasets.DatasetDict(splits).save_to_disk(tmp_path / "dd")
    default = open_source(f"hf:{tmp_path / 'dd'}")
    explicit = open_source(f"hf:{tmp_path / 'dd'}:validation")
    assert len(default) == len(explicit) == 2 and explicit.label(0) == 1
    assert len(open_source(f"hf:{tmp_path / 'dd'}:train")) == 1
    error = open_error(f"hf:{tmp_path / 'dd'}:test")
    assert error.message == f"hf:{tmp_path / 'dd'}: no split 'test'; it has validation, train"


def test_hf_local_data_dir_through_load_dataset(tmp_path: Path, offline: None) -> None:
    for synset in ["n01443537", "n01440764"]:
        write_image(tmp_path / "data" / "validation" / synset / "a.jpg")
    source = open_source(f"hf:{tmp_path / 'data'}", cache_dir=tmp_path / "cache")
    assert sorted(source.label(i) for i in range(len(source))) == [0, 1]
    assert source.load(0).size == (8, 6)
    error = open_error(f"hf:{tmp_path / 'data'}:nosuch", cache_dir=tmp_path / "cache")
    assert "nosuch" in error.message and "hf:" in (error.hint or "")


def test_hf_parquet_dir_through_load_dataset(tmp_path: Path, offline: None) -> None:
    (tmp_path / "pq").mkdir()
    hf_dataset(["n01443537", "n01440764"], [0, 1]).to_parquet(
        tmp_path / "pq" / "validation.parquet"
    )
    source = open_source(f"hf:{tmp_path / 'pq'}:validation", cache_dir=tmp_path / "cache")
    assert [source.label(0), source.label(1)] == [1, 0]
    assert source.val_filename(0) == "ILSVRC2012_val_00000001.JPEG"


def test_hf_corrupt_image_is_a_bad_image_error(tmp_path: Path) -> None:
    hf_dataset(["n01440764"], [0, 0], images=[jpeg_bytes(1), b"garbage"]).save_to_disk(
        tmp_path / "ds"
    )
    source = open_source(f"hf:{tmp_path / 'ds'}")
    source.load(0)
    with pytest.raises(BadImageError) as caught:
        source.load(1)
    assert caught.value.name == f"hf:{tmp_path / 'ds'}:validation#1"
    assert caught.value.message.startswith(f"hf:{tmp_path / 'ds'}:validation#1: cannot read image")


def test_hf_unknown_name_offline_is_an_input_error(tmp_path: Path, offline: None) -> None:
    error = open_error("hf:no-such-user/no-such-dataset", cache_dir=tmp_path / "cache")
    assert error.message.startswith("hf:no-such-user/no-such-dataset:validation: cannot load")
    assert "HF_TOKEN" in (error.hint or "") and "HF_DATASETS_OFFLINE" in (error.hint or "")


def test_hf_labels_outside_imagenet_are_refused(tmp_path: Path) -> None:
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    rows = {"image": [{"bytes": jpeg_bytes(0), "path": None}] * 2, "label": [3, -1]}
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(tmp_path / "ds")
    error = open_error(f"hf:{tmp_path / 'ds'}")
    assert "1 labels in column label are outside 0..999 (e.g. -1)" in error.message
    assert "test split is unlabelled" in (error.hint or "")


def test_hf_missing_label_column_names_the_columns(tmp_path: Path) -> None:
    features = datasets.Features({"image": datasets.Image(), "caption": datasets.Value("string")})
    rows = {"image": [{"bytes": jpeg_bytes(0), "path": None}], "caption": ["a fish"]}
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(tmp_path / "ds")
    error = open_error(f"hf:{tmp_path / 'ds'}")
    assert error.message == (
        f"hf:{tmp_path / 'ds'}:validation: no label columns; columns: image (Image), caption (Value)"
    )


def test_hf_untyped_columns_by_name(tmp_path: Path) -> None:
    # webdataset-style: raw bytes in "jpg" and synset strings in "cls".
    features = datasets.Features({"jpg": datasets.Value("binary"), "cls": datasets.Value("string")})
    rows = {"jpg": [jpeg_bytes(0), jpeg_bytes(9)], "cls": ["n01443537", "n15075141"]}
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(tmp_path / "ds")
    source = open_source(f"hf:{tmp_path / 'ds'}")
    assert [source.label(0), source.label(1)] == [1, 999]
    assert source.load(1).size == (10, 7)


# --- Hugging Face hub without a network ------------------------------------------------------

PROXY_VARIABLES = [
    case(name)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for case in (str.lower, str.upper)
]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline mode off and the hub's endpoint a closed loopback port: having no network,
    deterministically and without leaving the host."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", endpoint)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint)


def test_hf_hub_name_without_network_fails_fast(tmp_path: Path, no_network: None) -> None:
    # mixbench's own probe answered, not the libraries' 25 s of retries: its message says so
    # (how long it takes is benchmarks/responsiveness.py's, not a timed test's)
    error = open_error("hf:someone/absent-set", cache_dir=tmp_path / "cache")
    assert error.message.startswith(
        "hf:someone/absent-set:validation: cannot load the dataset: it is not in the local "
        "datasets cache and the Hugging Face hub is unreachable (offline? 127.0.0.1:"
    )
    assert "HF_HUB_OFFLINE=1" in (error.hint or "") and "\n" not in error.message
    # the offline switch was for that one call only
    assert datasets.config.HF_HUB_OFFLINE is False
    assert huggingface_hub.constants.HF_HUB_OFFLINE is False


def test_hf_cached_hub_dataset_without_network(tmp_path: Path, no_network: None) -> None:
    dataset = hf_dataset(["n01443537", "n01440764"], [0, 1, 1])
    cache_dataset(tmp_path / "cache", "someone/tiny-val", dataset)
    source = open_source("hf:someone/tiny-val", cache_dir=tmp_path / "cache")
    assert [source.label(i) for i in range(3)] == [1, 0, 0]
    assert source.load(2).size == (10, 7)


def test_hf_cached_hub_dataset_offline(tmp_path: Path, offline: None) -> None:
    cache_dataset(tmp_path / "cache", "someone/tiny-val", hf_dataset(["n01440764"], [0, 0]))
    source = open_source("hf:someone/tiny-val:validation", cache_dir=tmp_path / "cache")
    assert len(source) == 2 and source.label(1) == 0


def test_hf_offline_set_after_import_skips_the_probe(
    tmp_path: Path, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mixbench.hub as hub

    def no_probe(endpoint: str, **kwargs: object) -> str:
        raise AssertionError(f"probed {endpoint} although HF_HUB_OFFLINE is set")

    monkeypatch.setattr(hub, "hub_unreachable", no_probe)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    error = open_error("hf:someone/absent-set", cache_dir=tmp_path / "cache")
    assert error.message.endswith("not in the local datasets cache and HF_HUB_OFFLINE is set")
    assert "unset HF_HUB_OFFLINE" in (error.hint or "")


# --- synthetic, specs ------------------------------------------------------------------------


def test_synthetic_is_deterministic_and_varied() -> None:
    source = open_source("synthetic:12")
    assert len(source) == 12 and len(open_source("synthetic")) == 256
    again = open_source("synthetic:12")
    assert source.load(5).tobytes() == again.load(5).tobytes()
    sizes = {source.load(i).size for i in range(12)}
    assert len(sizes) > 6 and any(w != h for w, h in sizes)
    assert all(160 <= side <= 400 for size in sizes for side in size)
    assert {source.label(i) for i in range(12)} <= set(range(1000))
    assert len({open_source("synthetic:1000").label(i) for i in range(1000)}) == 1000
    with pytest.raises(IndexError):
        source.load(12)


@pytest.mark.parametrize("spec", ["synthetic:0", "synthetic:x", "hf:", "hf::validation"])
def test_malformed_specs(spec: str) -> None:
    assert spec in open_error(spec).message


def test_labels_only_for_folders(tmp_path: Path) -> None:
    assert (
        "does not apply to synthetic" in open_error("synthetic", labels=tmp_path / "v.txt").message
    )


# --- pickling and fingerprints ---------------------------------------------------------------


@pytest.fixture
def every_kind(tmp_path: Path) -> dict[str, Callable[[], EvalSource]]:
    write_image(tmp_path / "tree" / "n01443537" / "a.JPEG")
    write_image(tmp_path / "flat" / val_name(1))
    (tmp_path / "val.txt").write_text(caffe_text([65]))
    hf_dataset(["n01440764"], [0]).save_to_disk(tmp_path / "ds")
    return {
        "imagenet-folder": lambda: open_source(str(tmp_path / "tree")),
        "flat-folder": lambda: open_source(str(tmp_path / "flat"), labels=tmp_path / "val.txt"),
        "hf": lambda: open_source(f"hf:{tmp_path / 'ds'}"),
        "synthetic": lambda: open_source("synthetic:3"),
    }


@pytest.mark.parametrize("kind", ["imagenet-folder", "flat-folder", "hf", "synthetic"])
def test_sources_pickle_small_and_whole(
    every_kind: dict[str, Callable[[], EvalSource]], kind: str
) -> None:
    source = every_kind[kind]()
    assert source.kind == kind
    data = pickle.dumps(source)
    assert len(data) < 20_000
    copy = pickle.loads(data)
    assert len(copy) == len(source)
    assert [copy.label(0), copy.name(0), copy.val_filename(0)] == [
        source.label(0),
        source.name(0),
        source.val_filename(0),
    ]
    assert copy.load(0).tobytes() == source.load(0).tobytes()
    assert copy.fingerprint() == source.fingerprint()
    assert copy.describe() == source.describe()
    assert source.describe()["count"] == len(source)


def test_fingerprint_follows_files_and_labels(tmp_path: Path) -> None:
    for synset in ["n01440764", "n01443537"]:
        write_image(tmp_path / "tree" / synset / "a.JPEG")
    first = open_source(str(tmp_path / "tree")).fingerprint()
    assert open_source(str(tmp_path / "tree")).fingerprint() == first
    write_image(tmp_path / "tree" / "n01443537" / "b.JPEG")
    added = open_source(str(tmp_path / "tree")).fingerprint()
    assert added != first
    (tmp_path / "tree" / "n01443537" / "b.JPEG").write_bytes(_noise_jpeg())  # new size
    assert open_source(str(tmp_path / "tree")).fingerprint() != added

    write_image(tmp_path / "flat" / val_name(1))
    labels = tmp_path / "val.txt"
    labels.write_text(caffe_text([65]))
    before = open_source(str(tmp_path / "flat"), labels=labels).fingerprint()
    labels.write_text(caffe_text([66]))
    assert open_source(str(tmp_path / "flat"), labels=labels).fingerprint() != before
    assert open_source("synthetic:3").fingerprint() != open_source("synthetic:4").fingerprint()
