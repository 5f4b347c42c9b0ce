"""Writing files whole or not at all: a reader (a CI job, a web server, a colleague) never sees
half a report, half a JSON result or half a model index."""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

from mixbench.errors import InputError


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write beside ``path`` and rename over it; the file keeps its mode (a new one gets the
    usual mode for the umask, not mkstemp's 0600)."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    payload = data.encode() if isinstance(data, str) else data
    temporary: str | None = None
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise InputError(
            f"{path}: cannot write: {error.strerror or error}",
            hint="check that the folder exists and is writable",
        ) from error
    finally:
        if temporary is not None:
            with suppress(OSError):
                os.unlink(temporary)


def exists(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an existing file or folder; a name no file system takes (too
    long, a NUL byte) is simply not one, never an internal error."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def prepare_output(path: Path, option: str) -> None:
    """Create the folder of an output file and check it can be written: a run fails before its
    measurements, not after, when its report could not be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"{option} {path}: cannot create the folder {path.parent}: {error.strerror or error}",
            hint="pass a path in a folder you can write to",
        ) from error
    check_writable(path, option)


def check_writable(path: Path, option: str) -> None:
    """Refuse, before any work, an output that could not be written: its folder missing or
    not writable, a name the file system refuses, a path that is a folder or a special file
    (``/proc/x.json``). The atomic writer writes beside the file and renames it, so a file
    created and removed in the same folder, with a name as long, is what is tried."""
    where = f"{option} {path}"
    if not path.parent.is_dir():
        raise InputError(
            f"{where}: the folder {path.parent} does not exist",
            hint="create it first, or pass another path",
        )
    if exists(path) and not path.is_file():
        raise InputError(f"{where}: not a regular file", hint="pass a file path")
    try:
        descriptor, probe = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise InputError(
            f"{where}: cannot write there ({error.strerror or error})",
            hint="pass a path in a folder you can write to, with a shorter name",
        ) from None
    os.close(descriptor)
    with suppress(OSError):
        os.unlink(probe)
