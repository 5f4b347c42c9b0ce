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
