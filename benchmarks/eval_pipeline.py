"""Benchmark: images/s of mixbench's eval pipeline against timm's, side by side in one run.

Both read the same ImageNet-shaped folder of JPEGs on the same machine with the same batch
size and worker count. Two levels are timed, each over several alternating trials (median,
min, max):

* the **loader** alone (decode, resize, crop, normalise, batch), and
* the **whole eval** (loader + model + top-k), mixbench's ``evaluate`` with the native
  MixNet against timm's validate loop (timm loader, timm model, ``timm.utils.accuracy``).

Usage: ``python benchmarks/eval_pipeline.py [--images 600] [--trials 3] [--out reports]``
(nox: ``nox -s bench``). Writes ``eval-pipeline-<device>.md`` and a PNG plot into ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import timm
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from timm.data import ImageNetInfo, create_dataset, create_loader, resolve_data_config
from timm.utils import accuracy

from mixbench.data.sources import open_source
from mixbench.environment import collect_environment, device_label, git_sha
from mixbench.measure.accuracy.evaluation import EvalOptions, evaluate
from mixbench.measure.accuracy.loop import image_loader
from mixbench.resolve import resolve_model


def build_folder(root: Path, count: int, classes: int = 50) -> Path:
    """ImageNet-val-like JPEGs: ~500×375 on average (the val set's typical size), quality 90."""
    folder = root / "val"
    if folder.is_dir() and len(list(folder.glob("*/*.JPEG"))) == count:
        return folder
    synsets = ImageNetInfo().label_names()
    rng = np.random.default_rng(0)
    for number in range(1, count + 1):
        width = int(rng.choice([500, 500, 375, 333, 640, 400]))
        height = int(rng.choice([375, 333, 500, 375, 480, 300]))
        y, x = np.mgrid[0:height, 0:width] / 100.0
        base = np.stack([np.sin(x * rng.uniform(0.5, 4) + c) * np.cos(y * 2) for c in range(3)], -1)
        pixels = (base * 90 + 128 + rng.normal(0, 12, (height, width, 3))).clip(0, 255)
        target = folder / synsets[number % classes]
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.astype(np.uint8)).save(
            target / f"ILSVRC2012_val_{number:08d}.JPEG", quality=90
        )
    return folder


@dataclass
class Timing:
    name: str
    images_per_second: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_second)


def time_images(run: Callable[[], int]) -> float:
    started = time.perf_counter()
    images = run()
    return images / (time.perf_counter() - started)


def mixbench_loader(folder: Path, batch: int, workers: int) -> Callable[[], int]:
    source = open_source(str(folder))
    preprocessing = resolve_model("mixnet_s").preprocessing

    def run() -> int:
        seen = 0
        loader = image_loader(
            source, preprocessing, list(range(len(source))), batch_size=batch, workers=workers
        )
        for images, _, _ in loader:
            seen += len(preprocessing.normalize(images))
        return seen

    return run


def timm_loader_factory(
    folder: Path, batch: int, workers: int, prefetcher: bool
) -> Callable[[], torch.utils.data.DataLoader]:
    """timm's validate.py data path: its folder dataset (ImageNet class map) and loader."""
    config = resolve_data_config({}, model=timm.create_model("mixnet_s"))
    class_map = str(resources.files("timm.data") / "_info/imagenet_synsets.txt")
    dataset = create_dataset("", root=str(folder), split="validation", class_map=class_map)

    def make() -> torch.utils.data.DataLoader:
        return create_loader(
            dataset,
            input_size=config["input_size"],
            batch_size=batch,
            use_prefetcher=prefetcher,
            interpolation=config["interpolation"],
            mean=config["mean"],
            std=config["std"],
            crop_pct=config["crop_pct"],
            num_workers=workers,
            device=torch.device("cpu"),
        )

    return make


def timm_loader(folder: Path, batch: int, workers: int, prefetcher: bool) -> Callable[[], int]:
    make = timm_loader_factory(folder, batch, workers, prefetcher)
    return lambda: sum(len(images) for images, _ in make())


def timm_validate(
    folder: Path, weights: Path, batch: int, workers: int, prefetcher: bool
) -> Callable[[], int]:
    """timm's validate.py loop: its loader, its model, its accuracy bookkeeping."""
    model = timm.create_model("mixnet_s")
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    make = timm_loader_factory(folder, batch, workers, prefetcher)

    def run() -> int:
        seen = 0
        with torch.no_grad():
            for images, target in make():
                accuracy(model(images), target, topk=(1, 5))
                seen += len(images)
        return seen

    return run


def mixbench_eval(folder: Path, weights: Path, batch: int, workers: int) -> Callable[[], int]:
    options = EvalOptions(batch_size=batch, workers=workers, resume=False)

    def run() -> int:
        report = evaluate("mixnet_s", str(folder), weights=weights, options=options)
        assert report is not None
        return report.metrics.count

    return run


def side_by_side(runs: dict[str, Callable[[], int]], trials: int) -> list[Timing]:
    """Every trial runs every pipeline once, in rotating order, so drift hits all alike."""
    timings = {name: Timing(name, []) for name in runs}
    names = list(runs)
    for trial in range(trials):
        order = names[trial % len(names) :] + names[: trial % len(names)]
        for name in order:
            timings[name].images_per_second.append(time_images(runs[name]))
            print(
                f"trial {trial + 1}/{trials} {name}: "
                f"{timings[name].images_per_second[-1]:.1f} img/s",
                file=sys.stderr,
            )
    return list(timings.values())


def table(timings: list[Timing], reference: str) -> str:
    base = next(t for t in timings if t.name == reference).median
    lines = [
        "| pipeline | median img/s | min | max | vs " + reference + " |",
        "|---|---:|---:|---:|---:|",
    ]
    for timing in timings:
        values = timing.images_per_second
        lines.append(
            f"| {timing.name} | {timing.median:.1f} | {min(values):.1f} | {max(values):.1f} "
            f"| {timing.median / base:.2f}× |"
        )
    return "\n".join(lines)


def plot(loader: list[Timing], whole: list[Timing], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for axis, timings, title in ((axes[0], loader, "loader only"), (axes[1], whole, "whole eval")):
        names = [t.name for t in timings]
        axis.barh(names, [t.median for t in timings], color="#4c72b0")
        for row, timing in enumerate(timings):
            axis.errorbar(
                timing.median,
                row,
                xerr=[
                    [timing.median - min(timing.images_per_second)],
                    [max(timing.images_per_second) - timing.median],
                ],
                color="black",
                capsize=3,
            )
        axis.set_title(title)
        axis.set_xlabel("images/s (median, min–max)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--data", type=Path, help="Reuse this folder instead of generating one.")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mixbench-bench-"))
    folder = args.data or build_folder(work, args.images)
    torch.manual_seed(0)
    weights = work / "mixnet_s.safetensors"
    save_file(timm.create_model("mixnet_s").state_dict(), str(weights))

    loaders = side_by_side(
        {
            "mixbench loader": mixbench_loader(folder, args.batch, args.workers),
            "timm loader": timm_loader(folder, args.batch, args.workers, prefetcher=False),
            "timm loader (prefetcher)": timm_loader(
                folder, args.batch, args.workers, prefetcher=True
            ),
        },
        args.trials,
    )
    whole = side_by_side(
        {
            "mixbench eval (native MixNet)": mixbench_eval(
                folder, weights, args.batch, args.workers
            ),
            "timm validate loop": timm_validate(
                folder, weights, args.batch, args.workers, prefetcher=False
            ),
            "timm validate loop (prefetcher)": timm_validate(
                folder, weights, args.batch, args.workers, prefetcher=True
            ),
        },
        args.trials,
    )

    device = "cpu"
    environment = collect_environment(device)
    stem = f"eval-pipeline-{device}"
    args.out.mkdir(parents=True, exist_ok=True)
    plot(loaders, whole, args.out / f"{stem}.png")
    count = len(list(Path(folder).glob("*/*.JPEG")))
    versions = ", ".join(f"{k} {environment[k]}" for k in ("torch", "torchvision", "timm"))
    text = f"""# Eval pipeline speed: mixbench vs timm ({device})

mixnet_s (224 px, crop 0.875, bicubic), {count} ImageNet-shaped JPEGs (~500×375), batch
{args.batch}, {args.workers} DataLoader workers, {args.trials} alternating trials per pipeline,
all in one process run. Generated by `benchmarks/eval_pipeline.py`.

## Loader only (decode, resize, crop, normalise, batch)

{table(loaders, "timm loader")}

## Whole eval (loader + model + top-k)

{table(whole, "timm validate loop")}

![images/s]({stem}.png)

## Environment

- device: {device_label(device)}
- {versions}, python {environment["python"]}, mixbench {environment["mixbench"]}
- torch threads: {environment.get("torch_threads", "?")}
- git: {git_sha() or "unknown"}
- date: {dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
- command: `{shlex.join(["python", *sys.argv])}`
"""
    (args.out / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
