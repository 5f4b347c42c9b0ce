"""Options shared by several commands, defined once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from mixbench.cli.output import check_writable


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
    check_writable(value)  # refused before any work: exit 2
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

device_option = click.option("--device", help="cpu, cuda or cuda:N (default: cuda when present).")

db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MIXBENCH_DB",
    help="Results database (default: $XDG_DATA_HOME/mixbench/results.sqlite).",
)

weights_option = click.option(
    "--weights", type=click.Path(path_type=Path), help="Local checkpoint file."
)
pretrained_option = click.option(
    "--pretrained", is_flag=True, help="The card's published weights (Hugging Face)."
)
cache_dir_option = click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Hugging Face datasets cache (hf:)."
)
strict_option = click.option(
    "--strict",
    is_flag=True,
    help="Treat any problem of the index, unknown card key or empty value as an error (exit 2).",
)
data_option = click.option(
    "--data",
    help="ImageNet-val folder (synset folders, or flat with --labels), hf:NAME[:SPLIT] or "
    "synthetic[:N] (verify: enables top-1/top-5).",
)
labels_option = click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="Ground truth for a flat val folder: val.txt, LOC_val_solution.csv or TF's synset labels.",
)
workers_option = click.option(
    "--workers", type=click.IntRange(min=0), help="DataLoader processes (default: min(4, cores))."
)
amp_option = click.option(
    "--amp", is_flag=True, help="timm's spelling: --precision fp16 on a GPU, bf16 on a CPU."
)
channels_last_option = click.option(
    "--channels-last", is_flag=True, help="NHWC memory layout (unless +nchw/+nhwc)."
)
image_size_option = click.option(
    "--image-size", type=click.IntRange(min=32), help="Default: the card's."
)


def with_options(*options: Any) -> Any:
    """Several options as one decorator, listed in the order ``--help`` shows them."""

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
