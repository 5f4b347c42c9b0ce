"""Options shared by several commands, defined once, and :func:`options_of`: the click options
of an options dataclass's fields (their :class:`~mixbench.options.Flag`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from mixbench.io import check_writable
from mixbench.measure.options import SpeedSettings
from mixbench.options import Flag, flags_of
from mixbench.verify.options import VerifyOptions


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta["mixbench.debug"] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    envvar="MIXBENCH_DEBUG",
    help="Also print the Python traceback of an error (the exit code stays).",
)

index_option = click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    envvar="MIXBENCH_INDEX",
    help="Model-index file or directory (default: the published MixNet cards).",
)


def is_json_file(word: str) -> bool:
    """Whether the word after ``--json`` is its FILE: ``-``, a name ending in .json, a path
    with a folder. Any other word is left to the command's arguments (``show --json mixnet_s``),
    which click would otherwise swallow as FILE."""
    return word == "-" or word.lower().endswith(".json") or "/" in word or os.sep in word


def _check_json_file(
    _ctx: click.Context, _param: click.Parameter, value: Path | None
) -> Path | None:
    if value is not None and str(value) != "-":
        check_writable(value, "--json")  # refused before any work: exit 2
    return value


JSON_HELP = (
    "JSON for machines. Alone (or -): on stdout, instead of the table. With FILE: written to "
    "FILE whole or not at all, and the table printed too. The word after --json is FILE only "
    "when it ends in .json or names a folder (out.json, ./out); write --json=FILE otherwise."
)

json_option = click.option(
    "--json",
    "json_out",
    is_flag=False,
    flag_value="-",
    default=None,
    metavar="[FILE]",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    callback=_check_json_file,
    help=JSON_HELP,
)

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MIXBENCH_DB",
    help="Results database (default: $XDG_DATA_HOME/mixbench/results.sqlite).",
)


def with_options(*options: Any) -> Any:
    """Several options as one decorator, listed in the order ``--help`` shows them."""

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def common_options(*, db: bool = False, index: bool = False) -> Any:
    """What every command ends with: --json, --db and --index where it reads them, --debug."""
    chosen = [option for option, wanted in ((db_option, db), (index_option, index)) if wanted]
    return with_options(json_option, *chosen, debug_option)


def options_of(cls: type, *names: str, exclude: tuple[str, ...] = ()) -> Any:
    """The click options of ``cls``'s fields that declare a :class:`~mixbench.options.Flag`
    (all but ``exclude`` in the class's order, or ``names`` in that order) as one decorator;
    each passes the field's name to the command, for the class's ``from_cli``."""
    flags = [entry for entry in flags_of(cls, *names) if entry[0] not in exclude]
    return with_options(*(click_option(name, how, default) for name, how, default in flags))


def click_option(name: str, how: Flag, default: Any) -> Any:
    """One :class:`~mixbench.options.Flag` as a click option named ``name``."""
    spelling = how.flag or "--" + name.replace("_", "-")
    kind = how.kind  # filled in by flags_of
    settings: dict[str, Any] = {"help": how.help}
    if how.choices is not None:
        settings["type"] = click.Choice(how.choices)
    elif kind is Path:
        settings["type"] = click.Path(path_type=Path, file_okay=not how.folder, allow_dash=how.dash)
    elif kind in (int, float) and how.minimum is not None:
        settings["type"] = (click.IntRange if kind is int else click.FloatRange)(min=how.minimum)
    elif kind is bool and how.negatable:
        spelling = f"{spelling}/--no-{spelling[2:]}"
    elif kind is bool:
        settings["is_flag"] = True
        if default:  # the flag sets the opposite of the default: --no-resume, resume=False
            settings["flag_value"] = False
    elif kind is not str:
        settings["type"] = kind
    if default is not None and default is not False:
        settings["default"] = default
    for key in ("metavar", "show_default"):
        if getattr(how, key):
            settings[key] = getattr(how, key)
    return click.option(spelling, name, **settings)


#: Options of several commands, declared on the field they fill: the images and their labels, the
#: model's weights, the strict reading of the index, the input size.
data_options = options_of(VerifyOptions, "data", "labels")
weights_options = options_of(VerifyOptions, "weights", "pretrained")
strict_option = options_of(VerifyOptions, "strict")
image_size_option = options_of(SpeedSettings, "image_size")
