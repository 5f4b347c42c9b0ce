"""Auditing a whole model index: :mod:`~mixbench.audit.findings` reads verify reports as
findings for a card's maintainers; :func:`~mixbench.audit.run.run_audit` is the whole audit as
one call (verify every card, store the reports, write the page with its plot).

>>> from mixbench.audit import run_audit
>>> run, _pipeline = run_audit("tests/data/timm-docs", Path("out"))  # doctest: +SKIP
>>> run.findings.flops_rules  # doctest: +SKIP
{'photo': 232, 'square': 18, 'unexplained': 8, 'not counted': 3}
"""

from __future__ import annotations

from mixbench.audit.findings import (
    PREPROCESSING,
    AliasFix,
    AuditFindings,
    FlopsRule,
    ModelFinding,
    audit_findings,
    model_finding,
    suggest_alias_fixes,
)
from mixbench.audit.run import AuditRun, run_audit

__all__ = [
    "PREPROCESSING",
    "AliasFix",
    "AuditFindings",
    "AuditRun",
    "FlopsRule",
    "ModelFinding",
    "audit_findings",
    "model_finding",
    "run_audit",
    "suggest_alias_fixes",
]
