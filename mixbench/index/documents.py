"""Reading the raw model-index documents out of every file form found in the wild.

* ``.yml``/``.yaml``/``.json``: the whole file is one document;
* ``.md``/``.mdx``: each ``<!-- Type: model-index ... -->`` comment block is a document (several
  blocks in one file are merged later), and YAML front matter holding a ``model-index:`` key (the
  Hugging Face card style) is one more.

Line numbers always refer to the file the user has open, not to the block inside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from mixbench.errors import Problem
from mixbench.index.located_yaml import LocatedDocument, load_yaml

YAML_SUFFIXES = {".yml", ".yaml"}
MARKDOWN_SUFFIXES = {".md", ".mdx", ".markdown"}
INDEX_SUFFIXES = YAML_SUFFIXES | MARKDOWN_SUFFIXES | {".json"}

_MODEL_INDEX_MARKER = re.compile(r"\s*type\s*:\s*['\"]?model-index['\"]?\s*", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$", re.S | re.M)
_FRONT_MATTER_KEY = re.compile(r"^model[-_ ]index\s*:", re.IGNORECASE | re.MULTILINE)


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


#: The largest model-index file read (YAML, JSON, Markdown). Published ones are tens of KB
#: (a whole zoo's metafile a few hundred): the bound refuses a runaway file before a parser
#: spends minutes and gigabytes on it.
MAX_INDEX_BYTES = 16_000_000


def read_text(
    path: Path, shown: str, limit: int = MAX_INDEX_BYTES, what: str = "a model-index file"
) -> tuple[str | None, list[Problem]]:
    try:
        size = path.stat().st_size
    except OSError as error:
        return None, [Problem(shown, None, "", f"cannot read file: {error.strerror or error}")]
    if size > limit:
        return None, [
            Problem(
                shown,
                None,
                "",
                f"{size / 1e6:.1f} MB: larger than {what} is read ({limit / 1e6:.0f} MB); "
                "split it, or check that it is the file you meant",
            )
        ]
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, [Problem(shown, None, "", f"cannot read file: {error.strerror or error}")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        return None, [Problem(shown, None, "", f"not UTF-8 text (byte {error.start})")]


def read_documents(path: Path) -> tuple[list[LocatedDocument], list[Problem]]:
    """Every model-index document in one file, and the problems found reading it."""
    shown = display_path(path)
    text, problems = read_text(path, shown)
    if text is None:
        return [], problems
    if not text.strip():
        return [], [Problem(shown, None, "", "empty file: no model-index data")]
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        docs = markdown_documents(text, shown)
        if not docs:
            return [], [
                Problem(
                    shown,
                    None,
                    "",
                    "no model-index found: expected a `<!-- Type: model-index ... -->` block "
                    "or front matter with a `model-index:` key",
                )
            ]
        return docs, []
    if suffix == ".json":
        return [json_document(text, shown)], []
    return [load_yaml(text, shown)], []


def json_document(text: str, shown: str) -> LocatedDocument:
    """JSON through the YAML reader (for line numbers); json.loads where YAML is stricter."""
    doc = load_yaml(text, shown)
    if not doc.problems:
        return doc
    if any("nested too deeply" in problem.message for problem in doc.problems):
        # json.loads would recurse as deep: refused as it is
        return LocatedDocument(None, shown, problems=[_too_deep(shown)])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return LocatedDocument(
            None, shown, problems=[Problem(shown, error.lineno, "", f"malformed JSON: {error.msg}")]
        )
    except RecursionError:
        return LocatedDocument(
            None, shown, problems=[Problem(shown, 1, "", "JSON nested too deeply")]
        )
    except ValueError:  # an integer of thousands of digits: Python refuses to read it
        message = "malformed JSON: an integer of thousands of digits (no figure is)"
        return LocatedDocument(None, shown, problems=[Problem(shown, 1, "", message)])
    return LocatedDocument(data, shown, lines={(): 1})


def _too_deep(shown: str) -> Problem:
    return Problem(shown, 1, "", "JSON nested too deeply (a model index is a few levels deep)")


def markdown_documents(text: str, shown: str) -> list[LocatedDocument]:
    docs: list[LocatedDocument] = []
    front = _FRONT_MATTER.match(text)
    if front and _FRONT_MATTER_KEY.search(front.group(1)):
        offset = text.count("\n", 0, front.start(1))
        docs.append(load_yaml(front.group(1), shown, line_offset=offset))
    lines_before, counted_to = 0, 0
    for start, raw in comment_blocks(text):
        # `<!-- Type: model-index` may share its line with the comment opener.
        body = raw.lstrip(" \t")
        first_line = next((line for line in body.splitlines() if line.strip()), "")
        if _MODEL_INDEX_MARKER.fullmatch(first_line):
            lines_before += text.count("\n", counted_to, start)  # counted once, onwards
            counted_to = start
            docs.append(load_yaml(body, shown, line_offset=lines_before))
    return docs


def comment_blocks(text: str) -> Iterator[tuple[int, str]]:
    """``(where its body starts, body)`` of each closed ``<!-- ... -->`` block, in one pass: a
    regex would rescan to the end from every ``<!--`` that is never closed (quadratic on a
    file of unclosed openers)."""
    position = 0
    while True:
        start = text.find("<!--", position)
        if start < 0:
            return
        end = text.find("-->", start + 4)
        if end < 0:
            return  # never closed: nothing after it is a block either
        yield start + 4, text[start + 4 : end]
        position = end + 3
