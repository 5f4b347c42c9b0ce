"""Developer sessions: ``nox -s tests``, ``nox -s quick``, ``nox -s lint``, ``nox -s report``,
``nox -s bench``."""

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
def quick(session: nox.Session) -> None:
    """The tests not marked slow (no exports, evaluations, audits or end-to-end commands):
    what to run while you work; CI runs them all."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", "mixbench", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "mixbench", "tests", "benchmarks", "noxfile.py")


@nox.session
def report(session: nox.Session) -> None:
    """Regenerate the committed reports under reports/ (about 5 minutes on 2 CPU cores).

    ``verify-cpu/``: ``mixbench verify all --throughput`` on this machine, rendered from a fresh
    results store, its measurements exported as model-index YAML and diffed against the cards.
    """
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
    folder = "reports/verify-cpu"
    store = f"{session.create_tmp()}/results.sqlite"
    session.run("rm", "-rf", folder, store, external=True)
    session.run("mkdir", "-p", folder, external=True)
    session.run(
        "mixbench",
        "verify",
        "all",
        "--device",
        "cpu",
        "--throughput",
        "--batch",
        "16",
        "--db",
        store,
        "--json",
        f"{folder}/verify.json",
        success_codes=[0, 1],
    )
    session.run("mixbench", "report", "--db", store, "--out", folder)
    measured = f"{folder}/measured-index.yml"
    session.run("mixbench", "export-index", "--db", store, "--out", measured)
    with open(f"{folder}/published-vs-measured.md", "w") as out:
        session.run(
            "mixbench",
            "diff",
            "index",
            measured,
            "--format",
            "md",
            "--all",
            stdout=out,
            success_codes=[0, 1],
        )


@nox.session
def bench(session: nox.Session) -> None:
    """Speed benchmarks, side by side with timm; they write their reports under reports/.

    Not timed tests: run them on a quiet machine (``nox -s bench -- --trials 5``).
    """
    session.install("-e", ".[onnx,openvino]")
    session.run("python", "benchmarks/eval_pipeline.py", "--out", "reports", *session.posargs)
    session.run("python", "benchmarks/speed.py", "--out", "reports", *session.posargs)
    session.run("python", "benchmarks/responsiveness.py", "--out", "reports")
