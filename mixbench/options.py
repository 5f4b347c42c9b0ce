"""How a field of an options dataclass is typed on a command line: its :class:`Flag`.

An options dataclass (``VerifyOptions``, ``EvalOptions``, ``SpeedSettings``, ``TimingOptions``,
``ExportOptions``, ``DiffOptions``, ``AuditOptions``, ``RunFilter``, ``IndexExportOptions``) is
the one declaration of its options, as Hugging Face's ``HfArgumentParser`` reads a dataclass:
a field a command line fills carries a ``Flag`` in its metadata, written with :func:`flag`, and
its help is the field's documentation::

    workers: int | None = field(default=None, metadata=flag("DataLoader processes.", minimum=0))

:func:`mixbench.cli.options.options_of` makes a class's Flags click options, each passing its
field's name to the command; the class's ``from_cli`` makes the options of what was typed,
converting where the typed form differs from the field's (the Flag's ``default`` and ``kind``:
``--tolerance`` typed as text, ``--device`` not typed: the device is picked then). No click and
no torch here.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, replace
from typing import Any

#: The metadata key of a field's :class:`Flag`.
KEY = "mixbench.flag"
#: :attr:`Flag.default` when the command line's default is the field's own.
FIELD_DEFAULT: Any = object()


@dataclass(frozen=True)
class Flag:
    """A field as a command-line option (the option's name is the field's)."""

    help: str
    #: the option as typed (default: ``--field-name``); a bool field's flag sets the opposite
    #: of its default (``--no-resume`` of ``resume = True``)
    flag: str | None = None
    #: what is typed: str, int, float, bool or Path (default: the default's type, else str)
    kind: type | None = None
    #: the least value of an int or float
    minimum: float | None = None
    choices: tuple[str, ...] | None = None
    #: what the command passes when the option is not typed (default: the field's default)
    default: Any = FIELD_DEFAULT
    show_default: bool = False
    #: ``--x/--no-x`` (a bool)
    negatable: bool = False
    metavar: str | None = None
    #: a Path that must be a folder
    folder: bool = False
    #: a Path that may be ``-`` (stdout)
    dash: bool = False


def flag(help: str, **how: Any) -> dict[str, Flag]:
    """A field's metadata declaring its :class:`Flag`: ``field(metadata=flag("..."))``."""
    return {KEY: Flag(help, **how)}


def flags_of(cls: type, *names: str) -> list[tuple[str, Flag, Any]]:
    """(name, flag, default on the command line) of ``cls``'s fields that have a Flag: all of
    them in the class's order, or ``names`` in the order given; each flag's ``kind`` is filled
    in from the defaults where not given."""
    declared = {f.name: f for f in fields(cls) if KEY in f.metadata}
    found = []
    for name in names or tuple(declared):
        how: Flag = declared[name].metadata[KEY]  # a KeyError: no such flag
        own = declared[name].default  # MISSING with a default_factory
        default = own if how.default is FIELD_DEFAULT else how.default
        default = None if default is MISSING else default
        typed = [type(d) for d in (default, own) if type(d) in (bool, int, float, str)]
        found.append((name, replace(how, kind=how.kind or (typed or [str])[0]), default))
    return found
