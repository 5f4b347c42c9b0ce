"""Parsing published values in the forms they appear in the wild.

Each parser returns ``(value, resolution)`` or raises :class:`ValueProblem` with a message for the
user. ``resolution`` is the granularity the figure was published at (``'78.98%'`` → 0.01,
``7330000`` → 10000), used to compare figures at the coarser side's rounding.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

MAX_CROP_PCT = 2.0
# The modes an eval transform can apply (torchvision / PIL); the one list for cards and configs.
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")

_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9, "t": 10**12}
_BYTE_SCALE = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9,
    "kib": 2**10, "mib": 2**20, "gib": 2**30,
}  # fmt: skip
_NUMBER = r"[-+]?(?:\d[\d,_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_COUNT = re.compile(rf"({_NUMBER})\s*([kmgbt]?)", re.IGNORECASE)
_BYTES = re.compile(rf"({_NUMBER})\s*([kmg]i?b|b)?", re.IGNORECASE)


class ValueProblem(ValueError):
    """A value that cannot mean what its field needs."""


def _decimal(text: str) -> Decimal:
    try:
        number = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation as error:
        raise ValueProblem(f"not a number: {text!r}") from error
    if not number.is_finite():
        raise ValueProblem(f"not a finite number: {text!r}")
    return _plausible(number, text)


#: No published figure has more digits than this before the point: a number beyond it would
#: overflow the arithmetic that reads it (1e999999999), so it is refused as written.
MAX_DIGITS = 40
MIN_EXPONENT = 400


def _plausible(number: Decimal, shown: object) -> Decimal:
    # tiny is harmless down to a float's range (1e-308); far below, resolution arithmetic fails
    if number and not -MIN_EXPONENT <= number.adjusted() <= MAX_DIGITS:
        raise ValueProblem(
            f"not a plausible figure: {str(shown)[:40]!r} (over {MAX_DIGITS} digits)"
        )
    return number


def _resolution(number: Decimal, *, integer_zeros_are_rounding: bool) -> Decimal:
    """The unit in the last place a figure was written with.

    Written decimals keep their digits ("11.90" → 0.01). A large count such as 7330000 has plainly
    been rounded, so for counts an integer's trailing zeros mark its rounding (→ 10000).
    """
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if not integer_zeros_are_rounding:
        exponent = min(exponent, 0)
    elif exponent >= 0 and number != 0:
        exponent = max(exponent, _trailing_zeros(number), _float_artifact_zeros(number))
    return Decimal(1).scaleb(exponent)


def _trailing_zeros(number: Decimal) -> int:
    normalized = number.normalize().as_tuple().exponent
    assert isinstance(normalized, int)
    return normalized


def _float_artifact_zeros(number: Decimal) -> int:
    """A rounded count one off a round number, written by ``int(66.35 * 1e6)`` (66349999):
    the zeros of the round neighbour when it has four or more, else 0 (only for millions and
    up: a small count one off a round one is as likely exact)."""
    if number != number.to_integral_value() or abs(number) < 1_000_000:
        return 0
    for neighbour in (number + 1, number - 1):
        zeros = _trailing_zeros(neighbour) if neighbour != 0 else 0
        if zeros >= 4:
            return zeros
    return 0


def _from_number(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueProblem(f"expected {what}, got {describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueProblem(f"expected {what}, got {value}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return _plausible(number, value)


def _scaled_count(
    value: object, what: str, pattern: re.Pattern[str], scales: dict[str, int]
) -> tuple[int, int]:
    if isinstance(value, str):
        match = pattern.fullmatch(value.strip())
        if not match:
            raise ValueProblem(f"expected {what}, got {value!r}")
        number = _decimal(match.group(1))
        scale = scales[(match.group(2) or "").lower()]
    else:
        number = _from_number(value, what)
        scale = 1
    resolution = _resolution(number, integer_zeros_are_rounding=True) * scale
    total = number * scale
    if total < 0:
        raise ValueProblem(f"expected {what}, got a negative number ({value!r})")
    if scale == 1 and total != total.to_integral_value():
        raise ValueProblem(f"expected {what} as a whole number, got {value!r}")
    return int(total.to_integral_value()), max(1, int(resolution))


def parse_count(value: object) -> tuple[int, int]:
    """``7330000``, ``'7,330,000'``, ``'7.33M'``, ``'0.74G'`` → an integer count."""
    return _scaled_count(value, "a count (e.g. 7330000 or '7.33M')", _COUNT, _SCALE)


def parse_bytes(value: object) -> tuple[int, int]:
    """``29608232``, ``'29.6 MB'``, ``'28.2MiB'`` → bytes."""
    return _scaled_count(value, "a size in bytes (e.g. 29608232 or '29.6 MB')", _BYTES, _BYTE_SCALE)


def parse_number(value: object) -> tuple[float, float]:
    """A plain real number, written as a number or as text."""
    number = _decimal(value.strip()) if isinstance(value, str) else _from_number(value, "a number")
    return float(number), float(_resolution(number, integer_zeros_are_rounding=False))


def parse_percent(value: object) -> tuple[float, float, bool]:
    """An accuracy on the percent scale: ``'78.98%'``, ``78.98``; a fraction (0.7898) converted.

    Returns ``(percent, resolution, converted_from_fraction)``.
    """
    explicit_percent = isinstance(value, str) and value.strip().endswith("%")
    text = value.strip().rstrip("%").strip() if isinstance(value, str) else value
    number, resolution = parse_number(text)
    if number < 0 or number > 100:
        raise ValueProblem(f"accuracy {value!r} is outside 0–100%")
    if not explicit_percent and 0 < number <= 1:
        # sotabench-style fractions; no real ImageNet model scores ≤ 1% top-1.
        return round(number * 100, 10), round(resolution * 100, 10), True
    return number, resolution, False


def parse_crop_pct(value: object) -> tuple[float, float]:
    """``'0.875'``, ``0.875`` or ``'87.5%'`` → 0.875."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number, resolution = parse_number(value.strip()[:-1])
        number, resolution = round(number / 100, 10), resolution / 100
    else:
        number, resolution = parse_number(value)
    # timm publishes a few crop pcts above 1 (e.g. 1.15); a percentage like 87.5 is a mistake.
    if not 0 < number <= MAX_CROP_PCT:
        hint = " (write a fraction such as 0.875)" if MAX_CROP_PCT < number <= 100 else ""
        raise ValueProblem(f"crop pct must be in (0, {MAX_CROP_PCT}], got {value!r}{hint}")
    return number, resolution


def parse_image_size(value: object) -> int:
    """``224``, ``'224'``, ``'224x224'``, ``[224, 224]`` or ``[3, 224, 224]`` → 224."""
    sides: list[object]
    if isinstance(value, str):
        sides = [s.strip() for s in re.split(r"[x×,]", value.strip().strip("()[]"))]
    elif isinstance(value, list | tuple):
        sides = list(value[-2:]) if len(value) == 3 else list(value)
    else:
        sides = [value]
    numbers = []
    for side in sides:
        if isinstance(side, bool):
            raise ValueProblem(f"expected an image size in pixels, got {describe(value)}")
        try:
            size = int(side) if isinstance(side, int | str) else None
        except ValueError:
            size = None
        if size is None or size <= 0:
            raise ValueProblem(f"expected an image size in pixels (e.g. 224), got {value!r}")
        numbers.append(size)
    if not numbers or len(numbers) > 2 or len(set(numbers)) != 1:
        raise ValueProblem(f"expected a square image size (e.g. 224), got {value!r}")
    return numbers[0]


def parse_interpolation(value: object) -> str:
    if not isinstance(value, str) or value.strip().lower() not in INTERPOLATIONS:
        raise ValueProblem(
            f"unknown interpolation {value!r} (expected one of {', '.join(INTERPOLATIONS)})"
        )
    return value.strip().lower()


def parse_text(value: object, what: str = "text") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueProblem(f"expected {what}, got {describe(value)}")


def parse_text_list(value: object) -> tuple[str, ...]:
    """A list of names (or one name alone); empty items are not published, not names."""
    items = value if isinstance(value, list) else [value]
    return tuple(parse_text(item, "a list of names") for item in items if not is_empty(item))


def is_empty(value: object) -> bool:
    """Null (``~``, ``Key:``), blank text, ``[]`` or ``{}``: how an index says "not published"."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict) and not value


def describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    return f"{type(value).__name__} {value!r}"
