"""What ``mixbench verify`` produces: a :class:`Check` per card figure and the
:class:`VerifyReport` holding them, with its verdict, coverage and stored form.

A report fails when any check failed, is inconclusive when any was, and passes otherwise;
skipped and info never count as passed, and :meth:`VerifyReport.coverage` says which checks
ran, so a pass where little ran never reads like a verified card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mixbench.records import Measurement
from mixbench.store import RunRecord, utc_now
from mixbench.verify.check import STATUSES, Check
from mixbench.verify.checks import spec_of

if TYPE_CHECKING:
    from mixbench.measure.accuracy.evaluation import EvalReport


_TALLY_WORDS = (
    ("pass", "passed"),
    ("fail", "failed"),
    ("inconclusive", "inconclusive"),
    ("skipped", "skipped"),
    ("info", "info"),
)


def models_tally(reports: Sequence[VerifyReport]) -> str:
    """``5 pass, 2 fail, 1 not built``: how many models reached each verdict."""
    counts = {verdict: 0 for verdict in ("PASS", "FAIL", "INCONCLUSIVE", "NOT BUILT")}
    for report in reports:
        counts[report.verdict] = counts.get(report.verdict, 0) + 1
    return ", ".join(f"{n} {verdict.lower()}" for verdict, n in counts.items() if n)


def summary_line(reports: Sequence[VerifyReport]) -> str:
    """``7 model(s) verified: FAIL: mixnet_s — 49 of 70 checks ran (not run: ...)``; models
    that could not be built are named too (``NOT BUILT: dla46_c``): never a silent pass."""
    failed = [r.model for r in reports if r.status == "fail"]
    unsure = [r.model for r in reports if r.status == "inconclusive"]
    unbuilt = [r.model for r in reports if r.not_built is not None]
    if failed:
        verdict = f"FAIL: {', '.join(failed)}"
    elif unsure:
        verdict = f"INCONCLUSIVE: {', '.join(unsure)}"
    else:
        verdict = "PASS" if len(unbuilt) < len(reports) else ""  # of the models built
    if unbuilt:
        verdict = "; ".join(part for part in (verdict, f"NOT BUILT: {', '.join(unbuilt)}") if part)
    coverages = [r.coverage() for r in reports]
    ran = sum(c["ran"] for c in coverages)
    total = sum(c["total"] for c in coverages)
    not_run = list(dict.fromkeys(label for c in coverages for label in c["not_run_labels"]))
    text = f"{len(reports)} model(s) verified: {verdict} — {ran} of {total} checks ran"
    return text + (f" (not run: {', '.join(not_run)})" if not_run else "")


@dataclass
class VerifyReport:
    model: str
    checks: list[Check]
    card_source: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    git_sha: str | None = None
    command: str | None = None
    created: str = field(default_factory=utc_now)
    weights: str | None = None
    run_id: int | None = None
    #: what the card's source said that may be wrong (misspelled keys ...), one line each
    warnings: list[str] = field(default_factory=list)
    #: why the card's model could not be built (every check is then skipped with this reason);
    #: ``None`` when it was built
    not_built: str | None = None
    #: what was built for the card: its family and config (a timm model's ``timm_name``, the
    #: deprecation target, how the weights tag was chosen); ``None`` when nothing was
    built_as: dict[str, Any] | None = None
    #: the accuracy runs behind the top-1/top-5 checks (stored beside the report, not in it)
    evaluations: list[EvalReport] = field(default_factory=list, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        return {status: sum(c.status == status for c in self.checks) for status in STATUSES}

    def tally(self) -> str:
        """``6 passed, 1 failed, 3 skipped, 0 info`` (inconclusive only when some are): the
        one wording of a report's counts, in the console and in the Markdown."""
        counts = self.counts()
        return ", ".join(
            f"{counts[status]} {word}"
            for status, word in _TALLY_WORDS
            if counts[status] or status != "inconclusive"
        )

    @property
    def status(self) -> Literal["pass", "fail", "inconclusive"]:
        """``fail`` when any check failed, ``inconclusive`` when any could not decide,
        otherwise ``pass`` (skipped and info never count as passed: see :meth:`coverage`)."""
        if any(c.status == "fail" for c in self.checks):
            return "fail"
        if any(c.status == "inconclusive" for c in self.checks):
            return "inconclusive"
        return "pass"

    def coverage(self) -> dict[str, Any]:
        """Which checks ran (any status but skipped) and which did not."""
        not_run = [c for c in self.checks if not c.ran]
        return {
            "ran": len(self.checks) - len(not_run),
            "total": len(self.checks),
            "not_run": [c.name for c in not_run],
            "not_run_labels": [short_name(c.name) for c in not_run],
        }

    @property
    def verdict(self) -> str:
        """The headline's first word: the status, except ``NOT BUILT`` where nothing failed
        because no model was built (that is no pass, whatever the exit code)."""
        if self.not_built is not None and self.status == "pass":
            return "NOT BUILT"
        return self.status.upper()

    def headline(self) -> str:
        """``PASS — 6 of 9 checks ran (not run: top-1, top-5, file size)``; a model that was
        not built says why: ``NOT BUILT — 0 of 9 checks ran: timm cannot build ...``."""
        coverage = self.coverage()
        text = f"{self.verdict} — {coverage['ran']} of {coverage['total']} checks ran"
        if self.not_built is not None:
            return f"{text}: {self.not_built}"
        if coverage["not_run"]:
            text += f" (not run: {', '.join(coverage['not_run_labels'])})"
        return text

    def check(self, name: str) -> Check:
        for candidate in self.checks:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "status": self.status,
            "headline": self.headline(),
            "counts": self.counts(),
            "coverage": self.coverage(),
            "warnings": list(self.warnings),
            "not_built": self.not_built,
            "built_as": self.built_as,
            "checks": [c.to_dict() for c in self.checks],
            "card_source": self.card_source,
            "settings": self.settings,
            "environment": self.environment,
            "device": self.device,
            "git_sha": self.git_sha,
            "command": self.command,
            "created": self.created,
            "weights": self.weights,
            "run_id": self.run_id,
        }

    def measurements(self) -> list[Measurement]:
        """What the checks that ran measured, with the conditions that figure depends on."""
        measured = []
        for check in self.checks:
            if not check.ran or not isinstance(check.measured, int | float | str):
                continue
            spec = spec_of(check.name)
            conditions = spec.conditions(check, self.settings) if spec else {}
            unit = spec.unit if spec else ""
            measured.append(Measurement(check.name, check.measured, unit, conditions))
        return measured

    def to_run_record(self) -> RunRecord:
        summary = {"status": self.status, **self.counts(), "checks_ran": self.coverage()["ran"]}
        return RunRecord(
            kind="verify",
            model=self.model,
            summary=summary,
            weights=self.weights,
            device=self.device,
            versions=self.environment,
            git_sha=self.git_sha,
            command=self.command,
            created=self.created,
            details={
                "checks": [c.to_dict() for c in self.checks],
                "settings": self.settings,
                "card_source": self.card_source,
                "warnings": list(self.warnings),
                "not_built": self.not_built,
                "built_as": self.built_as,
            },
            measurements=self.measurements(),
        )

    @classmethod
    def from_run_record(cls, record: RunRecord) -> VerifyReport:
        if record.kind != "verify":
            raise ValueError(f"run {record.id} is a {record.kind} run, not a verify run")
        details = record.details
        return cls(
            model=record.model,
            checks=[Check.from_dict(c) for c in details.get("checks", [])],
            card_source=details.get("card_source"),
            settings=details.get("settings", {}),
            environment=record.versions,
            device=record.device,
            git_sha=record.git_sha,
            command=record.command,
            created=record.created,
            weights=record.weights,
            run_id=record.id,
            warnings=list(details.get("warnings", [])),
            not_built=details.get("not_built"),
            built_as=details.get("built_as"),
        )


def short_name(name: str) -> str:
    """How the coverage line names check ``name`` (its row's short label)."""
    spec = spec_of(name)
    return spec.short if spec is not None else name
