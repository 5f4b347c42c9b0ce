"""Resumable evaluation: every finished batch is appended to a per-rank log on disk.

A run is identified by a key made of everything that decides its predictions (model, weights,
data, preprocessing, numerics). Starting the same run again reads every rank's log and skips the
images already done, so an interrupted run (Ctrl-C, kill, a crash, a preempted node) ends with
exactly the numbers of an uninterrupted one. Appending keeps the cost linear in the number of
images; a line torn by a kill is simply ignored and its batch recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mixbench.errors import InputError


def default_checkpoint_dir() -> Path:
    """``$MIXBENCH_CACHE`` or ``$XDG_CACHE_HOME/mixbench`` (``~/.cache/mixbench``), + ``eval``."""
    base = os.environ.get("MIXBENCH_CACHE")
    if base:
        return Path(base) / "eval"
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "mixbench" / "eval"


def run_key(identity: Mapping[str, Any]) -> str:
    """A short stable key for a run's identity (JSON-able values only)."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass
class LoggedPredictions:
    """What earlier attempts of a run finished: top-k predictions and unreadable images."""

    predictions: dict[int, list[int]] = field(default_factory=dict)
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)  # index → (name, reason)

    def done(self) -> set[int]:
        return set(self.predictions) | set(self.bad)

    def merge(self, other: LoggedPredictions) -> None:
        self.predictions.update(other.predictions)
        self.bad.update(other.bad)

    def add_batch(
        self,
        indices: Iterable[int],
        predictions: Iterable[list[int]],
        bad: Iterable[tuple[int, str, str]] = (),
    ) -> None:
        self.predictions.update(zip(indices, predictions, strict=True))
        self.bad.update((index, (name, reason)) for index, name, reason in bad)


class ResumeLog:
    """The on-disk log of one run: ``DIR/KEY/identity.json`` and ``DIR/KEY/rank-R.jsonl``."""

    def __init__(self, directory: str | os.PathLike[str], identity: Mapping[str, Any]) -> None:
        self.identity = dict(identity)
        self.path = Path(directory) / run_key(identity)
        self._log: IO[str] | None = None

    def load(self) -> LoggedPredictions:
        """Everything every rank of earlier attempts logged (any world size)."""
        progress = LoggedPredictions()
        if not self.path.is_dir():
            return progress
        for log in sorted(self.path.glob("rank-*.jsonl")):
            progress.merge(_read_log(log))
        return progress

    def open(self, rank: int) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            identity = self.path / "identity.json"
            if not identity.exists():
                identity.write_text(json.dumps(self.identity, indent=1, default=str))
            self._log = (self.path / f"rank-{rank}.jsonl").open("a", encoding="utf-8")
        except OSError as error:
            raise InputError(
                f"{self.path}: cannot write the resume checkpoint ({error.strerror or error})",
                hint="pass --checkpoint-dir DIR somewhere writable, or --no-resume",
            ) from None

    def append(
        self,
        indices: list[int],
        predictions: list[list[int]],
        bad: list[tuple[int, str, str]],
    ) -> None:
        """Log one batch durably: once this returns, a kill loses nothing of it."""
        if self._log is None:
            return
        record = {"indices": indices, "topk": predictions, "bad": bad}
        self._log.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._log.flush()
        os.fsync(self._log.fileno())

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def remove(self) -> None:
        """Forget the run once its result is safely recorded."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)


def _read_log(path: Path) -> LoggedPredictions:
    progress = LoggedPredictions()
    with path.open(encoding="utf-8", errors="replace") as log:
        for line in log:
            try:
                record = json.loads(line)
                progress.add_batch(
                    (int(i) for i in record["indices"]),
                    ([int(c) for c in row] for row in record["topk"]),
                    ((int(i), str(name), str(reason)) for i, name, reason in record["bad"]),
                )
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill: that batch is simply evaluated again
    return progress
