"""``mixbench verify``: every check a card allows, each ending pass, fail, skipped or info.

>>> from mixbench.verify import VerifyOptions, verify
>>> report = verify("mixnet_xl", VerifyOptions(data="/data/imagenet/val", pretrained=True))
... # doctest: +SKIP
>>> report.status, [(c.name, c.status) for c in report.checks]  # doctest: +SKIP

A check that cannot run is *skipped* with the reason and what to pass to run it; skipped is
never counted as passed. *info* is a measurement with no published figure to hold it to (or one
nothing explains). *inconclusive* ran, but its evidence cannot decide (a sample too small for
the tolerance, a subset of the classes). A report fails when any check failed, is inconclusive
when any was, and passes otherwise; its :meth:`VerifyReport.coverage` says which checks ran, so
a pass where little ran never reads like a verified card. ``require`` names checks that must
reach pass: a required check that was skipped, inconclusive or info is turned into a failure.

The package: :mod:`~mixbench.verify.report` (what a run produces), :mod:`~.options` (what it
is asked, parsed and validated once), :mod:`~.run` (one card's run) and :mod:`~.checks` (a
module per check group, each one row of the table).
"""

from __future__ import annotations

from mixbench.lazy import lazy_attributes

_LAZY = {
    "Check": "check",
    "STATUSES": "check",
    "Status": "check",
    "CHECKS": "checks",
    "CHECK_NAMES": "checks",
    "CheckContext": "checks",
    "CheckGroup": "checks",
    "CheckSpec": "checks",
    "IMAGENET_VAL_IMAGES": "checks.accuracy",
    "judge_accuracy_check": "checks.accuracy",
    "check_flops": "checks.flops",
    "DEFAULT_TOLERANCE": "options",
    "EVAL_BATCH": "options",
    "VerifyOptions": "options",
    "deployed_path": "options",
    "parse_tolerance": "options",
    "VerifyReport": "report",
    "apply_requirements": "run",
    "enabled_checks": "run",
    "needs_real_model": "run",
    "open_evaluation_data": "run",
    "parse_require": "run",
    "resolve_for_checks": "run",
    "validate_options": "run",
    "verify": "run",
    "verify_many": "run",
    "verify_targets": "run",
}


# the API, imported on first use: the CLI reads VerifyOptions without loading torch
__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "DEFAULT_TOLERANCE",
    "EVAL_BATCH",
    "IMAGENET_VAL_IMAGES",
    "STATUSES",
    "Check",
    "CheckContext",
    "CheckGroup",
    "CheckSpec",
    "Status",
    "VerifyOptions",
    "VerifyReport",
    "apply_requirements",
    "check_flops",
    "deployed_path",
    "enabled_checks",
    "judge_accuracy_check",
    "needs_real_model",
    "open_evaluation_data",
    "parse_require",
    "parse_tolerance",
    "resolve_for_checks",
    "validate_options",
    "verify",
    "verify_many",
    "verify_targets",
]
