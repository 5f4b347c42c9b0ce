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

from mixbench.verify.check import STATUSES, Check, Status
from mixbench.verify.checks import CHECK_NAMES, CHECKS, CheckContext, CheckGroup, CheckSpec
from mixbench.verify.checks.accuracy import IMAGENET_VAL_IMAGES, judge_accuracy_check
from mixbench.verify.checks.flops import check_flops
from mixbench.verify.options import (
    DEFAULT_TOLERANCE,
    EVAL_BATCH,
    VerifyOptions,
    deployed_path,
    parse_tolerance,
)
from mixbench.verify.report import VerifyReport
from mixbench.verify.run import (
    apply_requirements,
    enabled_checks,
    needs_real_model,
    open_evaluation_data,
    parse_require,
    resolve_for_checks,
    validate_options,
    verify,
    verify_many,
    verify_targets,
)

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
