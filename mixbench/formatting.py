"""Human-readable numbers, shared by the console tables and the Markdown reports."""

from __future__ import annotations


def fmt_count(value: float | int | None, unit: str = "") -> str:
    """4134606 → '4.13 M'; 1195880424 → '1.20 G'."""
    if value is None:
        return "—"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {suffix}{unit}"
    return f"{value:g}{' ' + unit if unit else ''}"


def fmt_value(value: object) -> str:
    """A figure as published: integers with separators, floats without binary noise."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1e6:
            return f"{value:,.0f}"
        return f"{value:.1f}" if value == int(value) else f"{value:.6g}"
    return str(value)


def fmt_delta(delta: float | None) -> str:
    if delta is None:
        return ""
    if delta == 0:
        return "0"
    if delta == int(delta) and abs(delta) >= 1:
        return f"{int(delta):+,}"
    return f"{delta:+.4g}"


def fmt_percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def fmt_bytes(value: float | int | None) -> str:
    """Decimal units, as bandwidths are quoted: 12_300_000 → '12.3 MB'."""
    if value is None:
        return "—"
    for scale, suffix in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {suffix}"
    return f"{value:.0f} B"


#: Characters a terminal or a Markdown viewer acts on instead of showing: C0 controls but
#: newline and tab, DEL, C1 controls, and Unicode's bidirectional overrides (which reorder
#: what is shown, "Trojan Source").
_INVISIBLE = {
    *(chr(code) for code in range(0x20) if chr(code) not in "\n\t"),
    "\x7f",
    *(chr(code) for code in range(0x80, 0xA0)),
    *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
}
_VISIBLE = str.maketrans(
    {char: repr(char)[1:-1] if ord(char) < 0x100 else f"\\u{ord(char):04x}" for char in _INVISIBLE}
)


def visible(text: str) -> str:
    """``text`` with every control character shown as its escape (``\\x1b``, ``\\r``,
    ``\\u202e``): what comes from a card, a file or a store is printed, never obeyed."""
    return text.translate(_VISIBLE)
