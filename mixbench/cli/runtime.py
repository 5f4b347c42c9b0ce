"""How a long command behaves in its process: signals, torchrun ranks, its command line."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading


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
