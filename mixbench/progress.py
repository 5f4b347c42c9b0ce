"""Progress bars for long measurements (rich, on stderr so JSON on stdout stays clean)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

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

from mixbench.formatting import visible

if TYPE_CHECKING:
    from mixbench.events import ProgressEvent

stderr_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


_BarT = TypeVar("_BarT", bound="_Bar")


class _Bar:
    """A rich progress bar on stderr as a context manager; warnings print above it."""

    def __init__(self, bar: Progress, console: Console) -> None:
        self.console = console
        self._bar = bar
        self._task: TaskID | None = None

    def __enter__(self: _BarT) -> _BarT:
        # started by the first update: a command refused before any work prints no empty bar
        # (and no blank line before its error)
        self._started = False
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._started:
            self._bar.stop()

    def _start(self) -> None:
        if not getattr(self, "_started", False):
            self._bar.start()
            self._started = True

    def warn(self, message: str) -> None:
        self.console.print(f"warning: {visible(message)}", markup=False)


class EvalProgress(_Bar):
    """A bar with the running top-1 and images/s."""

    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        console = console or stderr_console
        self.enabled = enabled
        bar = Progress(
            TextColumn("eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("top-1 {task.fields[top1]:6.2f}%"),
            TextColumn("{task.fields[rate]:7.1f} img/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not enabled,
        )
        super().__init__(bar, console)

    def update(self, event: ProgressEvent) -> None:
        self._start()
        if self._task is None:
            self._task = self._bar.add_task("eval", total=event.total, top1=0.0, rate=0.0)
        self._bar.update(
            self._task,
            completed=event.done,
            top1=event.metrics.get("top1", 0.0),
            rate=event.metrics.get("images_per_second", 0.0),
        )


class StepProgress(_Bar):
    """A bar over a known number of steps, labelled with the step now running."""

    def __init__(self, label: str, *, enabled: bool = True, console: Console | None = None) -> None:
        console = console or stderr_console
        bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=False,
            disable=not enabled,
        )
        super().__init__(bar, console)

    def update(self, event: ProgressEvent) -> None:
        self._start()
        if self._task is None:
            self._task = self._bar.add_task(visible(event.description), total=event.total)
        self._bar.update(
            self._task,
            completed=event.done,
            total=event.total,
            description=visible(event.description),
        )
