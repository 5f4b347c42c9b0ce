"""``synthetic[:N]``: deterministic generated images, for smoke runs without data."""

from __future__ import annotations

from PIL import Image

from mixbench.data.sources.base import EvalSource, _sha256_json
from mixbench.data.sources.imagenet import NUM_CLASSES
from mixbench.errors import InputError

DEFAULT_SYNTHETIC_COUNT = 256
_SYNTHETIC_VERSION = 1  # bump when the generated pixels change: the fingerprint follows it


class SyntheticSource(EvalSource):
    """Deterministic generated images of varied sizes, for smoke runs without data."""

    kind = "synthetic"

    def __init__(self, spec: str, count: int) -> None:
        self.spec = spec
        self.count = count

    @classmethod
    def from_spec(cls, spec: str) -> SyntheticSource:
        _, colon, count_text = spec.partition(":")
        if not colon:
            return cls(spec, DEFAULT_SYNTHETIC_COUNT)
        if not count_text.isdigit() or int(count_text) < 1:
            raise InputError(f"{spec}: expected synthetic:N with N ≥ 1", hint="e.g. synthetic:64")
        return cls(spec, int(count_text))

    def __len__(self) -> int:
        return self.count

    def _check(self, index: int) -> None:
        if not 0 <= index < self.count:
            raise IndexError(f"image {index} of {self.count}")

    def label(self, index: int) -> int:
        self._check(index)
        return index * 7919 % NUM_CLASSES  # 7919 is prime to 1000: the first 1000 cover each class

    def name(self, index: int) -> str:
        self._check(index)
        return f"synthetic#{index}"

    def load(self, index: int) -> Image.Image:
        import numpy as np

        self._check(index)
        rng = np.random.default_rng([_SYNTHETIC_VERSION, index])
        width, height = (int(side) for side in rng.integers(160, 401, size=2))
        # Smooth colour ramps plus noise: something for a resize filter to work on.
        ys = np.linspace(0.0, 1.0, height)[:, None, None]
        xs = np.linspace(0.0, 1.0, width)[None, :, None]
        start, slope_x, slope_y = (rng.uniform(0, 255, size=3) for _ in range(3))
        ramp = start + (slope_x - 128) * xs + (slope_y - 128) * ys
        noise = rng.normal(0.0, 12.0, size=(height, width, 3))
        pixels = np.clip(ramp + noise, 0, 255).astype(np.uint8)
        return Image.fromarray(pixels)

    def fingerprint(self) -> str:
        return _sha256_json({"synthetic": _SYNTHETIC_VERSION, "count": self.count})

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "spec": self.spec,
            "count": self.count,
            "num_classes": min(self.count, NUM_CLASSES),
        }
