"""Typed readers for config values, and the sanity bounds configs are checked against.

The leaf of the config modules: :mod:`~mixbench.models.config` reads YAML values with these
(type and range checks) and :mod:`~mixbench.models.plan` reports the errors only found once
widths are known through :class:`Source`, so every error names the file and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from mixbench.errors import InputError
from mixbench.index.located_yaml import format_path

# Sanity bounds: far above any MixNet, low enough that arithmetic and allocation stay sane.
MAX_CHANNELS = 16384
MAX_KERNEL = 31
MAX_BLOCKS = 64
MAX_MULTIPLIER = 16.0


class Source:
    """Where values come from, so every error names the file, the line and the field.

    ``lines`` maps value paths (``("model", "architecture", "backbone", "params")``, as
    :func:`~mixbench.index.located_yaml.load_yaml` records them) to 1-based lines; ``roots``
    maps the first part of a field path to where it sits in the document (``params`` →
    ``model.architecture.backbone.params``: config errors name backbone fields relative to
    the backbone, as netspresso's docs do).
    """

    def __init__(
        self,
        name: str,
        lines: Mapping[tuple[Any, ...], int] | None = None,
        *,
        roots: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.roots = dict(roots or {})
        # keyed by the dotted spelling the readers build, so keys holding dots still match
        self._lines: dict[str, int] = {}
        for key, line in (lines or {}).items():
            self._lines.setdefault(format_path(key), line)

    def line(self, path: str) -> int | None:
        """The line of the field ``path`` (``stage_params[1].kernel_sizes[0]``), or of its
        nearest located ancestor; ``None`` when nothing is located."""
        if not self._lines:
            return None
        first = _FIRST.match(path)
        if first is not None and first.group(0) in self.roots:
            path = self.roots[first.group(0)] + path[first.end() :]
        while True:
            if path in self._lines:
                return self._lines[path]
            if not path:
                return None
            path = _parent(path)

    def fail(self, path: str, message: str, hint: str) -> NoReturn:
        line = self.line(path)
        where = f"{self.name}:{line}" if line is not None else self.name
        where = f"{where}: {path}" if path else where
        raise InputError(f"{where}: {message}", hint=hint)


_FIRST = re.compile(r"^[^.\[]+")


def _parent(path: str) -> str:
    """``a.b[1]`` → ``a.b`` → ``a`` → ``""``: always shorter, whatever the keys hold."""
    if path.endswith("]"):
        start = path.rfind("[")
        if start > 0 and path[start + 1 : -1].isdigit():
            return path[:start]
    return path[: max(path.rfind("."), 0)]


def _shorten(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def describe(value: Any) -> str:
    return f"{_shorten(repr(value))} ({type(value).__name__})"


def as_int(src: Source, path: str, value: Any, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        src.fail(path, f"expected an integer, got {describe(value)}", "write a whole number")
    if not minimum <= value <= maximum:
        src.fail(
            path,
            f"{value} is out of range (allowed {minimum} to {maximum})",
            f"use a value between {minimum} and {maximum}",
        )
    return value


def as_float(
    src: Source,
    path: str,
    value: Any,
    *,
    minimum: float,
    maximum: float,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = "write a number, e.g. 0.5"
        if isinstance(value, str):
            hint = "write a number; YAML reads 1e-3 (no dot) as text, write 1.0e-3"
        src.fail(path, f"expected a number, got {describe(value)}", hint)
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range is simply out of range
        number = math.inf if value > 0 else -math.inf
    low_ok = number >= minimum if min_inclusive else number > minimum
    high_ok = number <= maximum if max_inclusive else number < maximum
    if not (math.isfinite(number) and low_ok and high_ok):
        low = "[" if min_inclusive else "("
        high = "]" if max_inclusive else ")"
        src.fail(
            path,
            f"{_shorten(str(value))} is out of range {low}{minimum}, {maximum}{high}",
            "use a value inside the range (ratios and multipliers must be positive)",
        )
    return number


def as_choice(src: Source, path: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        src.fail(
            path,
            f"unknown value {describe(value)}",
            f"use one of: {', '.join(choices)}",
        )
    return value


def as_mapping(src: Source, path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        src.fail(path, f"expected a mapping, got {describe(value)}", "write `key: value` pairs")
    for key in value:
        if not isinstance(key, str):
            src.fail(path, f"key {describe(key)} is not a string", "use text keys")
    return value


def as_list(src: Source, path: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        src.fail(path, f"expected a list, got {describe(value)}", "write a YAML list, e.g. [1, 2]")
    return value


def refuse_unknown(src: Source, path: str, mapping: Mapping[str, Any], known: Any) -> None:
    import difflib

    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
            src.fail(
                f"{path}.{key}" if path else key,
                f"unknown field (did you mean {close[0]!r}?)" if close else "unknown field",
                f"known fields: {', '.join(sorted(known))}",
            )


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
