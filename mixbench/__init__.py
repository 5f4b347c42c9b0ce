"""mixbench: benchmark MixNet classifiers and verify their model cards, published vs measured.

``import mixbench`` stays light (no torch); :func:`create_model` and :func:`optimize` import the
models on first use.
"""

from __future__ import annotations

from typing import Any

from mixbench.errors import InputError, MixbenchError
from mixbench.index import ModelCard, ModelIndex, load_index

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "MixbenchError",
    "ModelCard",
    "ModelIndex",
    "__version__",
    "create_model",
    "load_index",
    "optimize",
]


def __getattr__(name: str) -> Any:
    if name == "create_model":
        from mixbench.models import create_model

        return create_model
    if name == "optimize":
        from mixbench.models.optimize import optimize

        return optimize
    raise AttributeError(f"module 'mixbench' has no attribute {name!r}")
