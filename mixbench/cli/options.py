"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path

import click


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
    help="Show Python tracebacks for errors.",
)

index_option = click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    envvar="MIXBENCH_INDEX",
    help="Model-index file or directory (default: the published MixNet cards).",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MIXBENCH_DB",
    help="Results database (default: $XDG_DATA_HOME/mixbench/results.sqlite).",
)
