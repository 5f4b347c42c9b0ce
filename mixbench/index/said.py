"""What an index says of itself to a person: the models left out and why, the headline, and
``index check``'s verdict, warnings and hints (the CLI prints these lines; ``--json`` has
:func:`check_json`). An incomplete index is never passed over silently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mixbench.errors import Problem
from mixbench.index.model_index import NO_MODELS_HINT, ModelIndex

#: A line and whether it is a diagnostic (stderr) rather than the result (stdout).
Line = tuple[str, bool]

CHECK_HINT = (
    "`mixbench index check PATH` lists every problem and empty field (--strict: each an error)"
)
MISSPELLED_HINT = "fix the key, or pass --strict to treat unknown keys as errors"
EMPTY_HINT = (
    "an empty value is a figure not published: the model loads without it (--strict makes "
    "each an error)"
)


def index_lines(index: ModelIndex, *, headline: bool) -> list[str]:
    """Each model left out (with its problem's file:line), each file not read, and the headline
    (loaded, with warnings, left out). ``headline``: said even when the index is complete."""
    lines = [f"error: left out: {left}" for left in index.left_out]
    lines += [f"error: not read: {problem}" for problem in index.problems_outside_models()]
    if headline or not index.complete:
        lines.append(f"note: {index.headline()}")
    if index.problems or index.not_published:
        lines.append(f"hint: {CHECK_HINT}")
    return lines


def check_json(
    index: ModelIndex, problems: Sequence[Problem], shown: str, strict: bool
) -> dict[str, Any]:
    """``index check --json``."""
    return {
        "source": shown,
        "ok": not check_failed(index, problems),
        "strict": strict,
        "models": len(index),
        "headline": index.headline(),
        "files": list(index.files),
        "problems": [p.__dict__ for p in problems],
        "left_out": [
            {"name": left.name, "source": str(left.source), "reason": left.reason()}
            for left in index.left_out
        ],
        "warnings": [w.to_dict() for w in index.warnings],
        "not_published": [w.to_dict() for w in index.not_published],
        "notes": list(index.notes),
    }


def check_failed(index: ModelIndex, problems: Sequence[Problem]) -> bool:
    """``index check`` exits 2: a problem, or no model at all (which checks nothing)."""
    return bool(problems) or not len(index)


def check_lines(
    index: ModelIndex, problems: Sequence[Problem], shown: str, strict: bool
) -> list[Line]:
    """``index check``: the errors, notes and warnings, then the verdict with the headline,
    then what to do. Under ``strict`` the warnings are among the problems: each said once."""
    misspelled = () if strict else index.warnings
    empty = () if strict else index.not_published
    lines: list[Line] = [(f"error: {problem}", True) for problem in problems]
    lines += [(f"note: {note}", True) for note in index.notes]
    lines += [(f"warning: {warning}", True) for warning in (*misspelled, *empty)]
    warned = len(misspelled) + len(empty)
    counted = f", {warned} warning(s)" if warned else ""
    if not problems and not len(index):  # nothing loaded and nothing wrong: nothing checked
        lines.append((f"error: no models in {shown}: it defines none", True))
        lines.append((f"hint: {NO_MODELS_HINT}", True))
    elif problems:
        lines.append((f"{len(problems)} problem(s){counted} in {shown}", True))
        lines.append((f"note: {index.headline()}", True))
        fix = "fix the fields named above"
        if strict and (index.unknown_keys or index.not_published):
            fix += (
                "; --strict rejects every unknown key and empty value (without it, only "
                "misspellings and empty values warn)"
            )
        lines.append((f"hint: {fix}", True))
    else:
        collections = f"{len(index.collections)} collections{counted}"
        lines.append((f"[green]ok[/]: {shown}: {index.headline()}; {collections}", False))
    if misspelled:
        lines.append((f"hint: {MISSPELLED_HINT}", True))
    if empty:
        lines.append((f"hint: {EMPTY_HINT}", True))
    return lines
