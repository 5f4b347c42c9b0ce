"""What an ``audit`` is asked: :class:`AuditOptions`, each field its command-line option (no
torch here: the CLI declares its options before a command runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mixbench.options import flag
from mixbench.verify.options import STRICT

#: not reports/: inside this repository that folder holds the committed reports
DEFAULT_OUT = Path("mixbench-audit")


@dataclass(frozen=True)
class AuditOptions:
    """What ``audit`` is asked: each field's Flag is its command-line option and help."""

    out: Path = field(
        default=DEFAULT_OUT,
        metadata=flag(
            "Folder for the Markdown report and its plot.",
            kind=Path,
            folder=True,
            show_default=True,
        ),
    )
    stem: str = field(
        default="audit", metadata=flag("Report file stem.", flag="--name", show_default=True)
    )
    strict: bool = field(default=False, metadata=STRICT)
