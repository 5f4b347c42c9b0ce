"""An ImageNet-val-shaped JPEG folder with a randomised timm mixnet_s checkpoint whose labels
give known scores: a third top-1 hits, a third top-5-only hits, a third misses (33.33 / 66.67)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import timm
import torch
from PIL import Image
from safetensors.torch import save_file
from timm.data import ImageNetInfo, resolve_data_config

SYNSETS = ImageNetInfo().label_names()
IMAGES = 24
TOP1, TOP5 = 100 * 8 / 24, 100 * 16 / 24


def synthetic_image(seed: int) -> Image.Image:
    """Structured content (gradients, blobs, noise) so that predictions vary per image."""
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(120, 360, size=2))
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [
        np.sin(x * rng.uniform(2, 30) + rng.uniform(0, 6)) * np.cos(y * rng.uniform(2, 30))
        for _ in range(3)
    ]
    pixels = (np.stack(channels, -1) * 100 + 128 + rng.normal(0, 20, (height, width, 3))).clip(
        0, 255
    )
    image = Image.fromarray(pixels.astype(np.uint8))
    return image.convert("L") if seed % 7 == 3 else image  # real val has grayscale JPEGs


def timm_reference(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = timm.create_model("mixnet_s").eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            elif isinstance(module, torch.nn.Linear):
                module.weight.mul_(8)  # spread the logits so top-k is far from ties
    return model


def make_imagenet_folder(root: Path) -> tuple[Path, Path, torch.nn.Module]:
    """An ImageNet-val-shaped folder whose labels give non-trivial top-1 and top-5.

    Each image goes into the synset folder of timm's top-1 class (a top-1 hit), its 4th class
    (a top-5 hit only) or a class outside its top 5 (a miss), in turn.
    """
    folder = root / "val"
    reference = timm_reference()
    config = resolve_data_config({}, model=reference)
    transform = timm.data.create_transform(**config)
    staging = root / "staging"
    staging.mkdir()
    files = []
    for number in range(1, IMAGES + 1):
        files.append(staging / f"ILSVRC2012_val_{number:08d}.JPEG")
        synthetic_image(number).save(files[-1], quality=90)
    # predictions on the JPEGs as written (compression changes pixels, and so the ranking)
    with torch.no_grad():
        batch = []
        for path in files:
            with Image.open(path) as image:
                batch.append(transform(image.convert("RGB")))
        ranked = reference(torch.stack(batch)).argsort(dim=1, descending=True)
    for number, (path, order) in enumerate(zip(files, ranked, strict=True), start=1):
        label = int(order[[0, 3, 10][number % 3]])
        target = folder / SYNSETS[label]
        target.mkdir(parents=True, exist_ok=True)
        path.rename(target / path.name)
    weights = root / "mixnet_s.safetensors"
    save_file(reference.state_dict(), str(weights))
    return folder, weights, reference
