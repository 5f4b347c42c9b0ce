"""A stored run to build stores from (tests of the store, of runs and of hostile input)."""

from __future__ import annotations

from typing import Any

from mixbench.store import RunRecord


def eval_run(model: str = "mixnet_xl", **overrides: Any) -> RunRecord:
    fields: dict[str, Any] = {
        "kind": "eval",
        "model": model,
        "summary": {"top1": 80.472, "top5": 95.106, "count": 50000},
        "weights": "mixnet_xl.safetensors",
        "weights_sha256": "0123456789abcdef" * 4,
        "dataset": "imagenet:/data/val",
        "dataset_fingerprint": "fp-1",
        "preprocessing": {"image_size": 224, "crop_pct": 0.875, "interpolation": "bicubic"},
        "device": "cpu (Intel Xeon, 2 cores)",
        "versions": {"python": "3.11.7", "torch": "2.5.0"},
        "git_sha": "c756412",
        "command": "mixbench eval mixnet_xl",
        "details": {"per_class": [80.0, 81.5], "bad_images": []},
    }
    fields.update(overrides)
    return RunRecord(**fields)
