"""The ``mixbench`` command group: errors become one-line messages and exit codes.

Exit codes: 0 all good, 1 differences found / verification failed, 2 bad input or usage,
3 an internal error (a bug: please report it; ``--debug`` adds the traceback), 130 interrupted.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any

import click

from mixbench import __version__
from mixbench.cli.options import debug_option, is_json_file
from mixbench.errors import MixbenchError
from mixbench.formatting import visible

EXIT_DIFFERENT = 1
EXIT_INTERNAL = 3


def _plain_help(text: str | None) -> str | None:
    """Docstrings are reStructuredText for the API docs; ``--help`` shows them verbatim."""
    return text.replace("``", "") if text else text


class _PlainHelp:
    """Help texts of the command and its options without reStructuredText markup."""

    help: str | None
    params: list[click.Parameter]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _plain_help(self.help)
        for param in self.params:
            if isinstance(param, click.Option):
                param.help = _plain_help(param.help)


def json_word_as_argument(args: Sequence[str]) -> list[str]:
    """``show --json mixnet_s``: click would read mixnet_s as --json's FILE. A word after
    ``--json`` that is not a FILE (see :func:`is_json_file`) stays an argument: ``--json -``."""
    result: list[str] = []
    for position, arg in enumerate(args):
        if arg == "--":
            return [*result, *args[position:]]
        result.append(arg)
        following = args[position + 1] if position + 1 < len(args) else "-"
        # an option after --json (--db ...) click leaves alone already
        if arg == "--json" and not following.startswith("-") and not is_json_file(following):
            result.append("-")
    return result


class MixbenchCommand(_PlainHelp, click.Command):
    """A command with the project's conventions: ``--json [FILE]`` never swallows an
    argument, help without markup."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, json_word_as_argument(args))


class MixbenchGroup(_PlainHelp, click.Group):
    """Turns project errors into one-line messages and exit codes instead of tracebacks.

    With ``--debug`` the traceback is printed as well, and the exit code stays the same.
    """

    command_class = MixbenchCommand
    group_class = type  # subgroups (``index``) are MixbenchGroups with MixbenchCommands

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            # a bad option value or usage: the project's two lines, not click's usage block
            click.echo(f"error: {visible(error.format_message())}", err=True)
            command = error.ctx.command_path if error.ctx is not None else "mixbench"
            click.echo(f"hint: see `{command} --help`", err=True)
            ctx.exit(error.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except MixbenchError as error:
            _traceback_if_debugging(ctx)
            for line in error.lines():
                click.echo(f"error: {visible(line)}", err=True)
            if error.hint:
                click.echo(f"hint: {visible(error.hint)}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as error:
            _traceback_if_debugging(ctx)
            click.echo(f"internal error: {type(error).__name__}: {visible(str(error))}", err=True)
            hint = "this is a bug in mixbench; rerun with --debug for the traceback"
            click.echo(f"hint: {hint}", err=True)
            ctx.exit(EXIT_INTERNAL)


def _traceback_if_debugging(ctx: click.Context) -> None:
    """Under ``--debug``: the traceback on stderr; the message and exit code then follow as
    without it (an uncaught exception would make every error exit 1)."""
    if ctx.find_root().meta.get("mixbench.debug"):
        click.echo(traceback.format_exc(), err=True, nl=False)


@click.group(cls=MixbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mixbench")
@debug_option
def cli() -> None:
    """Benchmark MixNet classifiers and verify their model cards: published vs measured."""


def main() -> None:
    cli(prog_name="mixbench")
