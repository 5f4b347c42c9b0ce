"""Auditing a whole model index: :mod:`~mixbench.audit.findings` reads verify reports as
findings for a card's maintainers; :func:`~mixbench.audit.run.run_audit` is the whole audit as
one call (verify every card, store the reports, write the page with its plot), asked by
:class:`~mixbench.audit.options.AuditOptions`.

>>> from mixbench.audit import AuditOptions, run_audit
>>> run, _pipeline = run_audit("tests/data/timm-docs", AuditOptions(Path("out")))  # doctest: +SKIP
>>> run.findings.flops_rules  # doctest: +SKIP
{'photo': 232, 'square': 18, 'unexplained': 8, 'not counted': 3}
"""

from __future__ import annotations

from mixbench.lazy import lazy_attributes

_LAZY = {
    "PREPROCESSING": "findings",
    "AliasFix": "findings",
    "AuditFindings": "findings",
    "FlopsRule": "findings",
    "ModelFinding": "findings",
    "audit_findings": "findings",
    "model_finding": "findings",
    "suggest_alias_fixes": "findings",
    "AuditOptions": "options",
    "AuditRun": "run",
    "run_audit": "run",
}


# the API, imported on first use: the CLI reads AuditOptions without loading torch
__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "PREPROCESSING",
    "AliasFix",
    "AuditFindings",
    "AuditOptions",
    "AuditRun",
    "FlopsRule",
    "ModelFinding",
    "audit_findings",
    "model_finding",
    "run_audit",
    "suggest_alias_fixes",
]
