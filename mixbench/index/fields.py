"""One row per published card figure: everything mixbench knows about it in one place.

Reading an index (:mod:`mixbench.index.normalise`), the keys a card may use
(:mod:`mixbench.index.keys`), ``diff``'s labels, ``list``/``show``, the units of stored
measurements (:mod:`mixbench.records`), ``export-index`` and verify's card figures all derive
from :data:`CARD_FIGURES`; adding a figure is one :class:`CardField` row (and, to verify it,
a check that names it as its ``card_field``).

>>> [field.name for field in CARD_FIGURES][:3]
['params', 'flops', 'file_size']
>>> FIELDS["crop_pct"].parse("87.5%")[0]
0.875
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mixbench.formatting import fmt_count, fmt_value
from mixbench.index.values import (
    ValueProblem,
    parse_bytes,
    parse_count,
    parse_crop_pct,
    parse_image_size,
    parse_interpolation,
)

#: a published value → (the value normalised, how coarsely it was published or None)
Parser = Callable[[object], tuple[Any, "float | None"]]


def _exact(parse: Callable[[object], Any]) -> Parser:
    """A parser whose values carry no rounding."""
    return lambda value: (parse(value), None)


@dataclass(frozen=True)
class CardField:
    """One card figure.

    ``keys``: the model-index ``Metadata`` spellings it is read from (compared loosely: case,
    spaces, hyphens and underscores alike); ``export-index`` writes the first. ``written``:
    the text form written back (it must read back equal through ``parse``).
    """

    name: str  # the ModelCard attribute, the verify check and the store metric of this name
    label: str  # how tables and diffs name it
    unit: str  # of the normalised value
    keys: tuple[str, ...]
    parse: Parser
    example: str  # a value as cards publish it (documentation, and the schema's own test)
    #: how ``list`` shows the value in a column, and ``show`` in its field list
    column: Callable[[Any], str] = fmt_value
    shown: Callable[[Any], str] = fmt_value
    written: Callable[[Any], Any] = lambda value: value
    #: in ``list``'s table (a narrow table keeps to the figures people compare most), under
    #: this header (default: the label), dropped in a narrow terminal by this order (0: kept)
    listed: bool = True
    header: str | None = None
    drop_order: int = 0

    @property
    def export_key(self) -> str:
        return self.keys[0]

    def read(self, value: object) -> Any:
        """``value`` as the index reads it, or ``None`` where it does not parse (a measured
        figure written back must read back)."""
        if value is None:
            return None
        try:
            return self.parse(value)[0]
        except ValueProblem:
            return None


#: timm's ``pretrained_cfg["crop_mode"]``: how the eval image is cropped to its size
CROP_MODES = ("center", "squash", "border")


def _parse_crop_mode(value: object) -> tuple[str, None]:
    if not isinstance(value, str) or value.strip().lower() not in CROP_MODES:
        raise ValueProblem(f"unknown crop mode {value!r} (expected one of {', '.join(CROP_MODES)})")
    return value.strip().lower(), None


def _with_count(value: Any) -> str:
    return f"{fmt_value(value)} ({fmt_count(value)})"


#: Every card figure, in display order.
CARD_FIGURES: tuple[CardField, ...] = (
    CardField(
        "params",
        "params",
        "count",
        ("Parameters", "Params", "Param Count"),
        parse_count,
        "4130000",
        column=fmt_count,
        shown=_with_count,
    ),
    CardField(
        "flops",
        "FLOPs",
        "MACs",
        ("FLOPs",),
        parse_count,
        "321264910",
        column=fmt_count,
        shown=_with_count,
    ),
    CardField(
        "file_size",
        "file size",
        "bytes",
        ("File Size",),
        parse_bytes,
        "16727982",
        shown=lambda value: f"{fmt_value(value)} bytes",
        listed=False,
    ),
    CardField(
        "image_size",
        "image size",
        "px",
        ("Image Size",),
        _exact(parse_image_size),
        "224",
        header="size",
        drop_order=5,
        written=str,
    ),
    CardField(
        "crop_pct",
        "crop pct",
        "fraction",
        ("Crop Pct",),
        parse_crop_pct,
        "0.875",
        header="crop",
        drop_order=4,
        written=lambda value: repr(float(value)),
    ),
    CardField(
        "interpolation",
        "interpolation",
        "name",
        ("Interpolation",),
        _exact(parse_interpolation),
        "bicubic",
        header="interp.",
        drop_order=3,
    ),
    CardField(
        "crop_mode", "crop mode", "name", ("Crop Mode",), _parse_crop_mode, "center", drop_order=1
    ),
)
FIELDS: dict[str, CardField] = {field.name: field for field in CARD_FIGURES}
#: the figures' names, in display order
CARD_FIELDS: tuple[str, ...] = tuple(FIELDS)


class HasFigures:
    """What holds card figures by schema name in ``figures`` (a published card, a measured
    model): :meth:`figure`, and the figures every part of mixbench reads as attributes."""

    figures: Mapping[str, Any]

    def figure(self, name: str) -> Any:
        """Figure ``name`` (a :data:`FIELDS` key), or ``None`` where there is none."""
        if name not in FIELDS:
            raise KeyError(name)
        return self.figures.get(name)

    @property
    def params(self) -> int | None:
        return self.figures.get("params")

    @property
    def flops(self) -> int | None:
        return self.figures.get("flops")

    @property
    def file_size(self) -> int | None:
        return self.figures.get("file_size")

    @property
    def crop_pct(self) -> float | None:
        return self.figures.get("crop_pct")

    @property
    def image_size(self) -> int | None:
        return self.figures.get("image_size")

    @property
    def interpolation(self) -> str | None:
        return self.figures.get("interpolation")
