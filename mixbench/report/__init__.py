"""Markdown rendering with Jinja2 templates shipped in the package.

Every value from a card goes through the ``md`` filter, so a hostile card (``|`` or newlines in a
name) cannot break a table.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jinja2

from mixbench.formatting import fmt_bytes, fmt_count, fmt_delta, fmt_percent, fmt_value, visible

# `$` too: GitHub renders $…$ as math
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!~$])")


def escape_markdown(value: object) -> str:
    """Text safe inside a Markdown table cell: control characters shown as escapes, specials
    escaped, newlines flattened."""
    text = visible("" if value is None else str(value))
    text = " ".join(text.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mixbench.report", "templates"),
        autoescape=False,  # Markdown, not HTML: cells are escaped with the md filter instead
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        md=escape_markdown,
        count=fmt_count,
        value=fmt_value,
        delta=fmt_delta,
        percent=fmt_percent,
        bytes=fmt_bytes,
        fraction=_fmt_fraction,
    )
    return env


def _fmt_fraction(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def render_markdown(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
