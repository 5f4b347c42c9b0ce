"""Card-exact preprocessing: our sources + Preprocessing give timm's eval tensors bit for bit.

timm reads an image with ``Image.open(f).convert("RGB")`` inside ``ImageDataset`` and runs
``create_transform(..., is_training=False)``; both are used here as the reference, on images of
every awkward size and mode we could think of.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from timm.data import ImageDataset, create_transform

from mixbench.data.preprocess import Preprocessing
from mixbench.data.sources import EvalSource, open_source

pytestmark = pytest.mark.filterwarnings("ignore:Palette images with Transparency")

# (image_size, crop_pct, interpolation): MixNet's card, and others that exercise the arithmetic
# (floor(197 / 0.9) = 218, no resize margin at 1.0, and crop_pct > 1 which pads the crop).
CONFIGS = [
    (224, 0.875, "bicubic"),
    (197, 0.9, "bilinear"),
    (256, 1.0, "bicubic"),
    (224, 1.15, "bicubic"),
]
EXIF_ORIENTATION = 0x0112


def _pattern(width: int, height: int, seed: int) -> Image.Image:
    """Gradients plus noise: resize filters produce different pixels for different inputs."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    channels = [
        (xs * 255 // max(width - 1, 1)),
        (ys * 255 // max(height - 1, 1)),
        ((xs + ys) * 7 % 256),
    ]
    pixels = np.stack(channels, axis=-1) + rng.integers(-20, 21, size=(height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # "rotate 90° clockwise to display"
    buffer = io.BytesIO()
    _pattern(300, 200, 9).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _encoded(image: Image.Image, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


@cache
def _image_files() -> dict[str, bytes]:
    """File name → bytes: sizes from 1×1 to 1600×1200 and every PIL mode timm meets."""
    rgb = _pattern(333, 250, 0)
    palette_transparent = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette_transparent.info["transparency"] = 5
    sixteen_bit = Image.fromarray(np.arange(120 * 90, dtype=np.uint16).reshape(90, 120) * 7)
    return {
        "large.JPEG": _encoded(_pattern(1600, 1200, 1), "JPEG", quality=90),
        "tiny_1x1.png": _encoded(_pattern(1, 1, 2), "PNG"),
        "thin_7x300.jpg": _encoded(_pattern(7, 300, 3), "JPEG"),
        "wide_600x4.png": _encoded(_pattern(600, 4, 4), "PNG"),
        "small_odd_101x57.png": _encoded(_pattern(101, 57, 5), "PNG"),
        "exactly_224.png": _encoded(_pattern(224, 224, 6), "PNG"),
        "gray_L.jpg": _encoded(rgb.convert("L"), "JPEG"),
        "cmyk.jpg": _encoded(rgb.convert("CMYK"), "JPEG"),
        "rgba.png": _encoded(Image.merge("RGBA", (*rgb.split(), rgb.convert("L"))), "PNG"),
        "palette.png": _encoded(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "palette_transparent.png": _encoded(palette_transparent, "PNG"),
        "gray_alpha_LA.png": _encoded(rgb.convert("LA"), "PNG"),
        "bilevel_1.png": _encoded(rgb.convert("1"), "PNG"),
        "sixteen_bit_I16.png": _encoded(sixteen_bit, "PNG"),
        "exif_rotated.jpeg": _exif_rotated_jpeg(),
    }


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("val")
    for name, data in _image_files().items():
        (root / "n01440764" / name).parent.mkdir(exist_ok=True)
        (root / "n01440764" / name).write_bytes(data)
    return root


def _timm_transform(preprocessing: Preprocessing) -> object:
    size = preprocessing.image_size
    return create_transform(
        input_size=(3, size, size),
        crop_pct=preprocessing.crop_pct,
        interpolation=preprocessing.interpolation,
        mean=preprocessing.mean,
        std=preprocessing.std,
        is_training=False,
    )


def _assert_matches_timm(
    source: EvalSource, timm_dataset: ImageDataset, pre: Preprocessing
) -> None:
    transform, crop = pre.transform(), pre.crop_transform()
    ours_whole, ours_crops = [], []
    for index in range(len(source)):
        image = source.load(index)
        ours_whole.append(transform(image))
        ours_crops.append(crop(image))
    ours_split = pre.normalize(torch.stack(ours_crops))
    for index in range(len(source)):
        reference = timm_dataset[index][0]
        name = source.name(index)
        assert reference.shape == (3, pre.image_size, pre.image_size), name
        assert torch.equal(ours_whole[index], reference), f"{name}: transform() differs from timm"
        assert torch.equal(ours_split[index], reference), (
            f"{name}: crop+normalize differs from timm"
        )


@pytest.mark.parametrize(("image_size", "crop_pct", "interpolation"), CONFIGS)
@pytest.mark.slow
def test_folder_images_match_timm_bit_for_bit(
    image_folder: Path, image_size: int, crop_pct: float, interpolation: str
) -> None:
    pre = Preprocessing(image_size=image_size, crop_pct=crop_pct, interpolation=interpolation)
    source = open_source(str(image_folder))
    timm_dataset = ImageDataset(str(image_folder), transform=_timm_transform(pre))
    # The same images in the same order as timm's folder reader.
    assert [source.name(i) for i in range(len(source))] == timm_dataset.filenames()
    assert len(source) == len(_image_files())
    _assert_matches_timm(source, timm_dataset, pre)


def test_exif_orientation_is_not_applied_as_in_timm(image_folder: Path) -> None:
    # timm never calls ImageOps.exif_transpose, so the published accuracy was measured on the
    # stored (unrotated) pixels; card-exact means the same pixels, so we do not rotate either.
    source = open_source(str(image_folder))
    index = next(i for i in range(len(source)) if source.name(i).endswith("exif_rotated.jpeg"))
    with Image.open(image_folder / source.name(index)) as stored:
        assert stored.getexif()[EXIF_ORIENTATION] == 6
        assert ImageOps.exif_transpose(stored).size == (200, 300)  # what a viewer would show
    assert source.load(index).size == (300, 200)


@pytest.fixture(scope="module")
def parquet_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same image files as a Hugging Face parquet dataset (bytes embedded)."""
    root = tmp_path_factory.mktemp("hf")
    (root / "data").mkdir()
    files = _image_files()
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=["n01440764"])}
    )
    rows = {
        "image": [{"bytes": data, "path": name} for name, data in files.items()],
        "label": [0] * len(files),
    }
    dataset = datasets.Dataset.from_dict(rows, features=features)
    dataset.to_parquet(root / "data" / "validation.parquet")
    return root


def test_hf_images_match_timm_hfds_reader(
    parquet_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    data, cache = parquet_dataset / "data", parquet_dataset / "cache"
    pre = Preprocessing()  # MixNet's card: 224, 0.875, bicubic
    source = open_source(f"hf:{data}", cache_dir=cache)
    timm_dataset = ImageDataset(
        str(cache), reader=f"hfds/{data}", split="validation", transform=_timm_transform(pre)
    )
    _assert_matches_timm(source, timm_dataset, pre)

    # datasets' own decoding applies the EXIF rotation, which timm (and so the card) does not:
    # the reason the HF source decodes the bytes itself.
    decoded = datasets.load_dataset(str(data), split="validation", cache_dir=str(cache))
    exif_index = list(_image_files()).index("exif_rotated.jpeg")
    assert decoded[exif_index]["image"].size == (200, 300)
    assert source.load(exif_index).size == (300, 200)


def test_the_images_cover_every_mode() -> None:
    modes = set()
    for data in _image_files().values():
        with Image.open(io.BytesIO(data)) as image:
            modes.add(image.mode)
    assert modes == {"RGB", "L", "CMYK", "RGBA", "P", "LA", "1", "I;16"}
