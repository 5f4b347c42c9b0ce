"""The ``mixbench`` command group: errors become one-line messages and exit codes.

Exit codes: 0 all good, 1 differences found / verification failed, 2 bad input or usage,
3 an internal error (a bug: please report it; ``--debug`` shows the traceback), 130 interrupted.
"""

from __future__ import annotations

from typing import Any

import click

from mixbench import __version__
from mixbench.cli.options import debug_option
from mixbench.errors import MixbenchError

EXIT_DIFFERENT = 1
EXIT_INTERNAL = 3


class MixbenchGroup(click.Group):
    """Turns project errors into one-line messages and exit codes instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except MixbenchError as error:
            if ctx.meta.get("mixbench.debug"):
                raise
            for line in error.lines():
                click.echo(f"error: {line}", err=True)
            if error.hint:
                click.echo(f"hint: {error.hint}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as error:
            if ctx.meta.get("mixbench.debug"):
                raise
            click.echo(f"internal error: {type(error).__name__}: {error}", err=True)
            hint = "this is a bug in mixbench; rerun with --debug for the traceback"
            click.echo(f"hint: {hint}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=MixbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mixbench")
@debug_option
def cli() -> None:
    """Benchmark MixNet classifiers and verify their model cards: published vs measured."""


def main() -> None:
    cli(prog_name="mixbench")
