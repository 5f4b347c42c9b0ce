"""How a long command behaves in its process: signals, torchrun ranks."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mixbench.pipeline import Pipeline


def _raise_interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm_as_on_ctrl_c() -> None:
    """``kill`` stops a run the way Ctrl-C does: progress saved, one line saying so."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)


def command_line() -> str:
    """The command as the user typed it, for the results store and reports."""
    return shlex.join(["mixbench", *sys.argv[1:]])


def is_main_rank() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def pipeline_for(db_path: Path | None, progress: Any, *, store: bool = True) -> Pipeline:
    """The pipeline of a command: storing into ``--db`` (not on a torchrun rank other than 0:
    ``store=False``), the command line recorded, progress and warnings shown on ``progress``."""
    from mixbench.pipeline import Pipeline
    from mixbench.store import ResultsStore

    return Pipeline(
        ResultsStore(db_path) if store else None,
        command=command_line(),
        on_progress=progress.update,
        warn=progress.warn,
    )
