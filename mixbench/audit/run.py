"""An audit as one call: verify every card of an index, store the reports, write the page."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mixbench.audit.findings import (
    AliasFix,
    AuditFindings,
    audit_findings,
    suggest_alias_fixes,
)
from mixbench.audit.options import AuditOptions
from mixbench.verify import VerifyReport


@dataclass
class AuditRun:
    """One audit: the verify reports, what they say, the report page and how long it took."""

    reports: list[VerifyReport]
    findings: AuditFindings
    alias_fixes: list[AliasFix]
    page: Path
    db_path: Path
    elapsed_seconds: float

    def summary_line(self) -> str:
        return (
            f"{len(self.reports)} cards audited in {self.elapsed_seconds:.0f} s; wrote "
            f"{self.page}; the verify runs are stored in {self.db_path} (`mixbench report --db "
            f"{self.db_path}` renders them)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": str(self.page),
            "elapsed_seconds": self.elapsed_seconds,
            **self.findings.to_dict(),
            "alias_fixes": [
                {**asdict(fix), "confirmed": fix.confirmed} for fix in self.alias_fixes
            ],
        }


def run_audit(
    index_path: str | os.PathLike[str] | None,
    options: AuditOptions | None = None,
    *,
    db_path: Path | None = None,
    command: str | None = None,
    on_progress: Any = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[AuditRun, Any]:
    """Verify every card of ``index_path`` (a folder of card files works) without weights,
    store each report as it finishes (in ``OUT/STEM.sqlite`` of ``options`` unless
    ``db_path``), and write the audit page with its plot. Returns the run and the pipeline
    (whose ``raise_if_unsaved`` says what could not be stored, after the caller has shown the
    results).

    >>> options = AuditOptions(out=Path("out"), stem="timm-docs")
    >>> run, _pipeline = run_audit("tests/data/timm-docs", options)  # doctest: +SKIP
    """
    from mixbench.environment import collect_environment
    from mixbench.index import default_index_path, load_index
    from mixbench.pipeline import Pipeline
    from mixbench.report.audit import write_audit
    from mixbench.store import ResultsStore
    from mixbench.verify import VerifyOptions

    options = options or AuditOptions()
    out, stem, strict = options.out, options.stem, options.strict
    db_path = db_path if db_path is not None else out / f"{stem}.sqlite"
    index = load_index(index_path, strict=strict)  # bad cards: an error before anything runs
    source = str(index_path or default_index_path())
    started = time.perf_counter()
    reports: list[VerifyReport] = []
    pipeline = Pipeline(ResultsStore(db_path), command=command, on_progress=on_progress, warn=warn)
    pipeline.verify(
        ["all"],
        VerifyOptions(device="cpu", strict=strict),
        index_path=str(index_path) if index_path else None,
        on_report=reports.append,
    )
    elapsed = time.perf_counter() - started
    findings = audit_findings(reports, index)
    fixes = suggest_alias_fixes(findings, index)
    page = write_audit(
        findings,
        out,
        title=f"Audit of {Path(source).name or source}: {len(reports)} model cards"
        + (  # a model whose card does not load is what its maintainers most need to know
            f" ({len(index.left_out)} more left out: `mixbench index check {source}` names "
            "each problem)"
            if index.left_out
            else ""
        ),
        source=source,
        environment=collect_environment("cpu"),
        command=command,
        stem=stem,
        elapsed_seconds=elapsed,
        alias_fixes=fixes,
    )
    return AuditRun(reports, findings, fixes, page, db_path, elapsed), pipeline
