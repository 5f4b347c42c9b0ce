"""Progress bars for long measurements (rich, on stderr so JSON on stdout stays clean)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:  # the evaluator imports torch; the CLI must start fast
    from mixbench.measure.evaluator import LoopStatus

stderr_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


class EvalProgress:
    """A bar with the running top-1 and images/s; warnings print above it."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or stderr_console
        self.enabled = enabled
        self._bar = Progress(
            TextColumn("eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("top-1 {task.fields[top1]:6.2f}%"),
            TextColumn("{task.fields[rate]:7.1f} img/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            disable=not enabled,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> EvalProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, status: LoopStatus) -> None:
        if self._task is None:
            self._task = self._bar.add_task("eval", total=status.total, top1=0.0, rate=0.0)
        self._bar.update(
            self._task,
            completed=status.done,
            top1=status.top1,
            rate=status.images_per_second,
        )

    def warn(self, message: str) -> None:
        self.console.print(f"warning: {message}", markup=False)


class StepProgress:
    """A bar over a known number of steps, labelled with the step now running."""

    def __init__(self, label: str, *, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or stderr_console
        self._bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=False,
            disable=not enabled,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> StepProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def update(self, description: str, done: int, total: int) -> None:
        if self._task is None:
            self._task = self._bar.add_task(description, total=total)
        self._bar.update(self._task, completed=done, total=total, description=description)

    def warn(self, message: str) -> None:
        self.console.print(f"warning: {message}", markup=False)
