"""The ``mixbench`` command line: parse arguments, call the Python API, render with rich.

``app`` holds the group and its error handling, ``options`` the options shared by commands,
``output`` how results are printed; each of the other modules holds a few commands, registered
on the group when imported here.
"""

from mixbench.cli import audit, cards, evaluation, models, runs, speed, verification
from mixbench.cli.app import cli, main

__all__ = ["audit", "cards", "cli", "evaluation", "main", "models", "runs", "speed", "verification"]
