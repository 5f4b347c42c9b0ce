"""YAML loading that remembers the line of every value.

PyYAML's composed node tree carries marks; we construct plain Python values from it ourselves so
that every value's path (``("Models", 2, "Metadata", "FLOPs")``) maps to the line the user sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mixbench.errors import Problem

Path = tuple[Any, ...]

_PLAIN_COLLECTION_TAGS = {"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}

# Aliases can make a small document expand enormously ("billion laughs"); no real card comes close.
MAX_NODES = 200_000


@dataclass
class LocatedDocument:
    """Plain data parsed from YAML/JSON, with the 1-based line of each value path."""

    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The value path of each problem raised through :meth:`problem`, so that a problem costs
    # only the model it is in (:meth:`problems_under`).
    problem_paths: list[tuple[Path, Problem]] = field(default_factory=list)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest located ancestor."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def problem(self, path: Path, field_name: str, message: str) -> Problem:
        found = Problem(self.file, self.line(path), field_name, message)
        self.problems.append(found)
        self.problem_paths.append((path, found))
        return found

    def problems_under(self, path: Path) -> list[Problem]:
        """The problems found at ``path`` or inside it (one model's entry)."""
        return [found for at, found in self.problem_paths if at[: len(path)] == path]


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, doc: LocatedDocument, line_offset: int) -> None:
        self.loader = loader
        self.doc = doc
        self.offset = line_offset
        self.visited = 0
        self.stack: set[int] = set()

    def line_of(self, node: Node) -> int:
        return node.start_mark.line + 1 + self.offset

    def walk(self, node: Node, path: Path) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise _TooLarge(self.line_of(node))
        self.doc.lines.setdefault(path, self.line_of(node))
        if id(node) in self.stack:
            self.doc.problem(path, format_path(path), "recursive YAML alias")
            return None
        if isinstance(node, ScalarNode):
            try:
                return self.loader.construct_object(node, deep=True)
            except (ValueError, TypeError, AttributeError, OverflowError):
                # PyYAML's constructors raise plain errors for ill-formed values: a timestamp
                # with month 13, an explicit ``!!int abc`` or ``!!timestamp abc``
                kind = node.tag.rsplit(":", 1)[-1]
                value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
                self.doc.problem(path, format_path(path), f"invalid {kind} value {value!r}")
                return None
        if node.tag not in _PLAIN_COLLECTION_TAGS:
            # e.g. !!python/object/apply on a list: never constructed, always refused
            self.doc.problem(path, format_path(path), f"unsupported YAML tag {node.tag!r}")
            return None
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.walk_mapping(node, path)
        finally:
            self.stack.discard(id(node))
        return self.loader.construct_object(node, deep=True)

    def walk_mapping(self, node: MappingNode, path: Path) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves YAML merge keys (<<: *anchor)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.doc.lines[(*path, "?")] = self.line_of(key_node)
                self.doc.problem((*path, "?"), format_path(path), "mapping keys must be plain text")
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            child = (*path, key)
            if key in result:
                self.doc.lines[child] = self.line_of(key_node)
                self.doc.problem(child, format_path(child), "duplicate key")
                continue
            self.doc.lines[child] = self.line_of(key_node)
            result[key] = self.walk(value_node, child)
        return result


class _TooLarge(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def load_yaml(text: str, file: str, *, line_offset: int = 0) -> LocatedDocument:
    """Parse one YAML document; syntax errors become problems, never exceptions."""
    doc = LocatedDocument(data=None, file=file)
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # checks for unprintable characters up front
        node = loader.get_single_node()
        if node is not None:
            doc.data = _Walker(loader, doc, line_offset).walk(node, ())
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1 + line_offset
        doc.problems.append(
            Problem(file, line, "", f"malformed YAML: character {error.character:#x} not allowed")
        )
    except yaml.MarkedYAMLError as error:
        line = _error_line(error, text)
        line = line + line_offset if line is not None else None
        reason = error.problem or error.context or "invalid YAML"
        doc.problems.append(Problem(file, line, "", f"malformed YAML: {reason}"))
    except yaml.YAMLError as error:
        doc.problems.append(Problem(file, line_offset + 1, "", f"malformed YAML: {error}"))
    except _TooLarge as error:
        doc.problems.append(
            Problem(file, error.line, "", f"document expands to over {MAX_NODES} values (aliases?)")
        )
    except RecursionError:
        doc.problems.append(Problem(file, line_offset + 1, "", "YAML nested too deeply"))
    finally:
        if loader is not None:
            loader.dispose()
    return doc


def _error_line(error: yaml.MarkedYAMLError, text: str) -> int | None:
    """The 1-based line of a syntax error in ``text``.

    At the end of the text (an unclosed quote or bracket) PyYAML's mark is one line past
    the last; the line that opened the construct (the error's context) is the one to fix.
    """
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return None
    if mark.index < len(text):
        return mark.line + 1
    context = error.context_mark
    if context is not None and context.index < len(text):
        return context.line + 1
    return max(1, len(text.splitlines()))


def format_path(path: Path) -> str:
    """``("Models", 2, "Metadata")`` → ``Models[2].Metadata``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
