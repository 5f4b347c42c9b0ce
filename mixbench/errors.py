"""The project's one error tree.

Every failure a user can cause (bad file, bad field, bad argument) is a :class:`MixbenchError`;
the CLI prints its message and hint on one line each and exits with ``exit_code``, never a
traceback (unless ``--debug``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class MixbenchError(Exception):
    """Base of every error mixbench raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The message as the CLI prints it, one line per problem."""
        return [self.message]


class InputError(MixbenchError):
    """A file, field or argument the user gave is wrong (exit code 2)."""


class NotSupportedHere(InputError):
    """A runtime cannot run what was asked on this device (a precision, a device type): in a
    run of several rows that row is left out and named; alone, it is bad input (exit 2)."""


class ModelBuildError(InputError):
    """The architecture a name stands for cannot be built (its library refuses the name or
    the arguments). Apart from the other input errors so that ``verify all`` can report one
    unbuildable card and go on, while a bad ``--weights`` file still stops the run."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a source, located in the file the user has open."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class IndexProblems(InputError):
    """A model-index source has one or more problems; all of them are collected."""

    def __init__(self, problems: Iterable[Problem], *, hint: str | None = None) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "invalid model index"
        summary = first if count == 1 else f"{first} (and {count - 1} more)"
        super().__init__(
            summary,
            hint=hint or "fix the fields named above; `mixbench index check PATH` lists them all",
        )

    def lines(self) -> list[str]:
        return [str(problem) for problem in self.problems]


def brief_error(err: BaseException) -> str:
    """``Type: first sentence`` of an error, short enough for a one-line message."""
    name = type(err).__name__
    if name == "error":  # struct.error, zlib.error, ...: the module says what failed
        name = f"{type(err).__module__}.error"
    # torch wraps the unpickler's own message in paragraphs of advice; keep just the message.
    text = str(err).split("WeightsUnpickler error:", 1)[-1]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) > 120:
        sentence_end = first.find(". ", 0, 120)
        first = first[:sentence_end] if sentence_end > 0 else first[:117] + "..."
    return f"{name}: {first}" if first else name
