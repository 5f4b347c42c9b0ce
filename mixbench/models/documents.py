"""Model config documents, whatever the family: a YAML file read with the line of every value
(:func:`read_yaml`), so any family's config errors read ``file:line: field: message``. The
factory reads a document here and asks the registry which family claims it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixbench.errors import InputError
from mixbench.index.located_yaml import load_yaml


class LocatedMapping(dict[str, Any]):
    """A YAML mapping as :func:`read_yaml` returns it: plain ``dict`` data that also carries
    the file's name and the 1-based line of every value path (``("model", "name")`` → 2), so
    that a family's config errors read ``file:line: field: message`` however the document
    reaches it (the model factory passes it on untouched)."""

    def __init__(self, data: Mapping[str, Any], *, file: str, lines: Mapping[Any, int]) -> None:
        super().__init__(data)
        self.file = file
        self.lines: dict[tuple[Any, ...], int] = dict(lines)


def read_yaml(path: Path) -> Any:
    """The parsed YAML document at ``path`` (a mapping comes back as a :class:`LocatedMapping`
    remembering its lines); unreadable files, bad syntax, duplicate keys and unsupported tags
    are :class:`InputError` naming ``file:line``."""
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such config file", hint="check the path, or use a preset name"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(
            f"{path}: cannot read config ({err})", hint="pass a UTF-8 YAML file"
        ) from None
    doc = load_yaml(text, source)
    if doc.problems:
        first = doc.problems[0]
        more = f" (and {len(doc.problems) - 1} more)" if len(doc.problems) > 1 else ""
        if not first.field:
            hint = "fix the YAML syntax at that line"
        elif first.message == "duplicate key":
            hint = "keep one of the repeated keys (a YAML loader would silently use the last)"
        else:
            hint = "write a plain YAML value at that line (no tags, no self-referencing aliases)"
        raise InputError(f"{first}{more}", hint=hint)
    if isinstance(doc.data, dict):
        return LocatedMapping(doc.data, file=source, lines=doc.lines)
    return doc.data
