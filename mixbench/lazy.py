"""Package attributes imported on first use (PEP 562): a package whose light parts (options,
constants) the CLI reads at import time, and whose heavy parts load torch, names each heavy
attribute's module once, in a table."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` finding ``name`` in ``package.<modules[name]>`` when first
    asked for."""

    def __getattr__(name: str) -> Any:
        if name in modules:
            return getattr(importlib.import_module(f"{package}.{modules[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
