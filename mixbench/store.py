"""The results store: every measurement run, one row each, in one SQLite file.

Filterable fields (kind, model, created, dataset fingerprint, weights hash) have their own columns;
the open-ended ones (metrics, preprocessing, versions, details) are JSON text, so a new measurement
kind needs no schema change. A run's typed measurements travel in ``details`` (key
``measurements``) and come back as :class:`~mixbench.records.Measurement` objects. The store
never overwrites a file it cannot read as its own: a damaged or foreign database is reported and
left exactly as it is.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mixbench.errors import InputError
from mixbench.io import exists
from mixbench.options import flag
from mixbench.records import Measurement, RunRecord, utc_now

__all__ = [
    "ResultsStore",
    "RunFilter",
    "RunRecord",
    "default_store_path",
    "sha256_file",
    "utc_now",
]

# "MIXB": marks the file as ours, so a foreign SQLite database is refused rather than extended.
APPLICATION_ID = 0x4D495842
SCHEMA_VERSION = 1
# Another process may hold the write lock for a moment; wait for it rather than fail.
BUSY_TIMEOUT_S = 30.0
SQLITE_HEADER = b"SQLite format 3\x00"

#: Runs ``mixbench runs`` lists unless --limit says otherwise: a store gathers hundreds.
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class RunFilter:
    """Which runs :meth:`ResultsStore.newest_runs` lists: each field's Flag is its option of
    ``mixbench runs``."""

    model: str | None = field(default=None, metadata=flag("Only runs of this model."))
    kind: str | None = field(
        default=None,
        metadata=flag("Only runs of this kind (eval, throughput, latency, verify)."),
    )
    #: ``None`` or 0: all of them (the command line lists :data:`DEFAULT_LIMIT`)
    limit: int | None = field(
        default=None,
        metadata=flag(
            "At most N runs, newest first (0: all of them).",
            kind=int,
            minimum=0,
            default=DEFAULT_LIMIT,
            show_default=True,
        ),
    )

    def text(self) -> str:
        """The filters given, as ``model=mixnet_s kind=eval`` (empty: none)."""
        return " ".join(f"{k}={v}" for k, v in (("model", self.model), ("kind", self.kind)) if v)


# Statements run one by one: sqlite3's executescript() would COMMIT our open transaction first.
_SCHEMA = (
    """CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    weights TEXT,
    weights_sha256 TEXT,
    dataset TEXT,
    dataset_fingerprint TEXT,
    device TEXT,
    git_sha TEXT,
    command TEXT,
    metrics TEXT NOT NULL,
    preprocessing TEXT NOT NULL,
    versions TEXT NOT NULL,
    details TEXT NOT NULL
    )""",
    "CREATE INDEX runs_by_model ON runs (model, kind, created)",
    "CREATE INDEX runs_by_kind ON runs (kind, created)",
    "CREATE INDEX runs_by_created ON runs (created)",
    "CREATE INDEX runs_by_dataset ON runs (dataset_fingerprint)",
    "CREATE INDEX runs_by_weights ON runs (weights_sha256)",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_TEXT_COLUMNS = (
    "created",
    "kind",
    "model",
    "weights",
    "weights_sha256",
    "dataset",
    "dataset_fingerprint",
    "device",
    "git_sha",
    "command",
)
_JSON_COLUMNS = ("metrics", "preprocessing", "versions", "details")
_COLUMNS = ("id", *_TEXT_COLUMNS, *_JSON_COLUMNS)
# where a run's measurements live inside the details JSON column (no schema change for them)
_MEASUREMENTS = "measurements"


def default_store_path() -> Path:
    """``$MIXBENCH_DB``, else ``$XDG_DATA_HOME/mixbench/results.sqlite`` (XDG default
    ``~/.local/share``)."""
    explicit = os.environ.get("MIXBENCH_DB")
    if explicit:
        return Path(explicit).expanduser()
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "mixbench" / "results.sqlite"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks (weights files run to hundreds of MB)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from error
    return digest.hexdigest()


class ResultsStore:
    """Runs in an SQLite file; created on the first :meth:`add`, never just by reading."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        #: (run id, why) of the rows the last read could not decode (a hand-edited cell):
        #: left out of what it returned, and named here for the caller to say
        self.unreadable: list[tuple[int, str]] = []

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r})"

    def add(self, record: RunRecord) -> int:
        """Store ``record`` in one transaction and return its new id (``record.id`` is set too)."""
        if not record.kind or not record.model:
            raise ValueError("a run record needs a kind and a model")
        row = _to_row(record)
        if not exists(self.path):
            self._create()
        with self._connect(create=False) as connection, self._transaction(connection):
            self._check_schema(connection, writing=True)
            run_id = _insert_run(connection, row)
        record.id = run_id
        return run_id

    def _create(self) -> None:
        """A new store, made whole beside the path and linked into place only if nothing is
        there yet: no process ever sees a half-made store, and a file found empty (0 bytes)
        is never one of ours."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".new"
            )
        except OSError as error:
            raise self._unwritable(error) from None
        os.close(descriptor)
        temporary = Path(name)
        try:
            with self._guard(), closing(sqlite3.connect(temporary, isolation_level=None)) as new:
                new.execute("BEGIN")
                for statement in _SCHEMA:
                    new.execute(statement)
                new.execute("COMMIT")
            try:
                os.link(temporary, self.path)  # fails if another process made it first
            except FileExistsError:
                pass
            except OSError as error:
                raise self._unwritable(error) from None
        finally:
            temporary.unlink(missing_ok=True)

    def runs(
        self, *, model: str | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs matching every filter given, newest first."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        clauses, parameters = [], []
        for column, value in (("model", model), ("kind", kind)):
            if value is not None:
                clauses.append(f"{column} = ?")
                parameters.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        query = f"SELECT {', '.join(_COLUMNS)} FROM runs{where} ORDER BY created DESC, id DESC"
        if limit is not None:
            query += " LIMIT ?"
            parameters.append(limit)
        return self._read(query, parameters)

    def newest_runs(self, which: RunFilter | None = None) -> tuple[list[RunRecord], bool]:
        """At most ``which.limit`` runs of its model and kind (all: no filter), newest first,
        and whether there are more."""
        which = which or RunFilter()
        limit = which.limit or None
        found = self.runs(
            model=which.model, kind=which.kind, limit=None if limit is None else limit + 1
        )
        more = limit is not None and len(found) > limit
        return (found[:limit] if limit is not None else found), more

    def get(self, run_id: int) -> RunRecord:
        found = self._read(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?", [run_id])
        if not found:
            raise InputError(
                f"{self.path}: no run with id {run_id}",
                hint="`mixbench runs` lists the stored runs and their ids",
            )
        return found[0]

    def check(self) -> None:
        """Raise the InputError that :meth:`add` would, without storing anything: lets a long
        measurement fail before it starts rather than when its result is stored. The store
        must be ours and whole, and writable: its write lock is taken and given back (a
        read-only, immutable or locked file is refused now), and a new store's folder must
        take a file (a full disk or a read-only folder is refused now)."""
        self._check_header()  # a directory, a foreign or an empty file, a path no file can have
        if not exists(self.path):
            self._check_folder()
            return
        with self._connect(create=False) as connection:
            if self._check_schema(connection, writing=False):
                self._check_whole(connection)
            with self._guard():
                connection.execute("BEGIN IMMEDIATE")  # the write lock, as add() takes it
                connection.execute("ROLLBACK")

    def _check_folder(self) -> None:
        """The folder a new store would go in (or the nearest existing one above it, which
        add() would create it in) takes a file, with room for one; nothing is left behind."""
        folder = self.path.parent
        while not exists(folder) and folder != folder.parent:
            folder = folder.parent
        try:
            with tempfile.TemporaryFile(dir=folder) as probe:
                probe.write(b"\0" * 65536)  # a new store's first pages
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            raise self._unwritable(error) from None

    def _unwritable(self, error: OSError) -> InputError:
        if error.errno == errno.ENOSPC:
            return InputError(
                f"{self.path}: the disk is full ({error.strerror})",
                hint="free some space, or pass --db (or set MIXBENCH_DB) to another disk",
            )
        return InputError(
            f"{self.path}: cannot write the results database there ({error.strerror or error})",
            hint="pass --db (or set MIXBENCH_DB) to a path you can write",
        )

    # -------------------------------------------------------------------------- internals

    def _read(self, query: str, parameters: list[Any]) -> list[RunRecord]:
        # Reading a store that does not exist yet is an empty result, not a new file.
        self.unreadable = []
        if not exists(self.path):
            self._check_header()  # a path no file can have
            return []
        with self._connect(create=False) as connection:
            if not self._check_schema(connection, writing=False):
                return []
            with self._guard():
                rows = connection.execute(query, parameters).fetchall()
        found = []
        for row in rows:
            try:
                found.append(_from_row(row))
            except (TypeError, ValueError, AttributeError) as error:  # a cell no longer JSON
                self.unreadable.append((row[0], " ".join(str(error).split())[:200]))
        return found

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        self._check_header()
        # mode=rw never creates a file; isolation_level=None: we issue BEGIN/COMMIT ourselves.
        uri = f"{self.path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
        with self._guard():
            connection = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None
            )
        with closing(connection):
            yield connection

    @contextmanager
    def _transaction(self, connection: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
        # instead of deadlocking on a read-to-write upgrade.
        with self._guard():
            connection.execute("BEGIN IMMEDIATE")
        try:
            with self._guard():
                yield
                connection.execute("COMMIT")
        except BaseException:
            # Keep the original error; a failing rollback (a damaged file) adds nothing.
            with suppress(sqlite3.Error):
                connection.rollback()
            raise

    def _check_header(self) -> None:
        """Refuse a non-SQLite file before SQLite touches it, and a path no file can have."""
        if not exists(self.path):
            try:
                self.path.stat()
            except FileNotFoundError:
                return  # a new store, created when something is stored
            except OSError as error:
                raise InputError(
                    f"{self.path}: not a usable path for the results database "
                    f"({error.strerror or error})",
                    hint="pass --db FILE (or set MIXBENCH_DB) to a shorter path you can write",
                ) from None
            return
        if self.path.is_dir():
            raise InputError(
                f"{self.path}: is a directory, not a results database",
                hint="pass --db FILE (or set MIXBENCH_DB) to a file path",
            )
        try:
            with open(self.path, "rb") as stream:
                header = stream.read(len(SQLITE_HEADER))
        except OSError as error:
            raise InputError(f"{self.path}: cannot read: {error.strerror or error}") from error
        if not header:
            # mixbench makes a store whole before it appears: an empty file is someone else's
            raise self._damaged("an empty file (0 bytes)")
        if header != SQLITE_HEADER:
            raise self._damaged("not an SQLite database")

    def _check_schema(self, connection: sqlite3.Connection, *, writing: bool) -> bool:
        """True when the file holds our schema; creates it in a new database when writing.

        Everything but the creation only reads, so a foreign or damaged file stays untouched.
        """
        with self._guard():
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
        if application_id == 0 and version == 0 and not tables:
            if writing:
                with self._guard():
                    for statement in _SCHEMA:
                        connection.execute(statement)
            return writing
        if application_id != APPLICATION_ID:
            listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise InputError(
                f"{self.path}: an SQLite database, but not a mixbench results store "
                f"(tables: {listed or 'none'})",
                hint=_MOVE_ASIDE,
            )
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: results store schema {version} is newer than this mixbench "
                f"reads ({SCHEMA_VERSION})",
                hint="upgrade mixbench, or pass --db (or set MIXBENCH_DB) to another path",
            )
        if version < 1 or "runs" not in tables:
            raise self._damaged(f"schema version {version}, tables: {', '.join(tables) or 'none'}")
        if writing:
            self._check_whole(connection)
        return True

    def _check_whole(self, connection: sqlite3.Connection) -> None:
        # Before adding to a file, make sure it is whole: an insert touches only a few pages
        # and could succeed beside damage elsewhere, spreading it. (Linear in the file size:
        # milliseconds for a results store.)
        with self._guard():
            verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise self._damaged(verdict)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite errors as one-line InputErrors that name the file."""
        try:
            yield
        except sqlite3.OperationalError as error:
            text = str(error)
            if "locked" in text or "busy" in text:
                raise InputError(
                    f"{self.path}: {text} (another process kept it busy for {BUSY_TIMEOUT_S:g} s)",
                    hint="retry when the other mixbench run has finished",
                ) from error
            if "disk is full" in text or "database or disk is full" in text:
                raise InputError(
                    f"{self.path}: the disk is full ({text})",
                    hint="free some space, or pass --db (or set MIXBENCH_DB) to another disk; "
                    "the store was left as it was",
                ) from error
            if "unable to open" in text or "readonly" in text or "disk I/O" in text:
                raise InputError(
                    f"{self.path}: {text}",
                    hint="check the path and its permissions, or pass --db another path",
                ) from error
            raise self._damaged(text) from error
        except sqlite3.DatabaseError as error:
            raise self._damaged(str(error)) from error

    def _damaged(self, reason: str) -> InputError:
        reason = " ".join(reason.split())  # one line, whatever SQLite said
        return InputError(
            f"{self.path}: not a readable mixbench results database ({reason})",
            hint=_MOVE_ASIDE,
        )


_MOVE_ASIDE = (
    "the file was left untouched; move it aside to start a new store, "
    "or pass --db (or set MIXBENCH_DB) to another path"
)


def _insert_run(connection: sqlite3.Connection, row: dict[str, Any]) -> int:
    names = [name for name in _COLUMNS if name != "id"]
    cursor = connection.execute(
        f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [row[name] for name in names],
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _to_row(record: RunRecord) -> dict[str, Any]:
    """The record as a row: its ``metrics`` column is the derived flat view (what a query or an
    older mixbench reads); the measurements travel in ``details``."""
    row: dict[str, Any] = {name: getattr(record, name) for name in _TEXT_COLUMNS}
    row["created"] = _normalised_timestamp(record.created)
    for name in _JSON_COLUMNS:
        value = getattr(record, name)
        if name == "details" and record.measurements:
            value = {**value, _MEASUREMENTS: [m.to_dict() for m in record.measurements]}
        try:
            row[name] = json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"run record field {name!r} is not JSON-serialisable: {error}"
            ) from error
    return row


def _from_row(row: tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    for name in _JSON_COLUMNS:
        values[name] = json.loads(values[name])
    measured = (
        values["details"].pop(_MEASUREMENTS, []) if isinstance(values["details"], dict) else []
    )
    values["measurements"] = [Measurement.from_dict(m) for m in measured]
    # the summary is what the flat view holds beyond the measurements (all of it for a run
    # stored before measurements were kept)
    named = {m["metric"] for m in measured if isinstance(m, dict)}
    metrics = values.pop("metrics")
    values["summary"] = (
        {k: v for k, v in metrics.items() if k not in named} if isinstance(metrics, dict) else {}
    )
    return RunRecord(**values)


def _json_default(value: Any) -> Any:
    """Paths as strings and numpy/torch scalars as numbers; anything else is a bug."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _normalised_timestamp(created: str) -> str:
    """ISO 8601 in UTC, so that ordering the text orders the times."""
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except (AttributeError, ValueError) as error:
        raise ValueError(f"run record 'created' is not an ISO 8601 time: {created!r}") from error
    if moment.tzinfo is None:
        raise ValueError(f"run record 'created' needs a time zone: {created!r}")
    timespec = "microseconds" if moment.microsecond else "seconds"
    return moment.astimezone(timezone.utc).isoformat(timespec=timespec)
