"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s report``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what .ci/run runs)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", "mixbench", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "mixbench", "tests", "noxfile.py")


@nox.session
def report(session: nox.Session) -> None:
    """Regenerate the committed reports under reports/."""
    session.install("-e", ".")
    with open("reports/cards-vs-timm-results.md", "w") as out:
        # exit code 1 means "differences found", which is what this report shows
        session.run(
            "mixbench",
            "diff",
            "index",
            "timm:imagenet",
            "--format",
            "md",
            "--all",
            stdout=out,
            success_codes=[0, 1],
        )
