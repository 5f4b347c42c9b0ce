"""ImageNet accuracy with a card's exact preprocessing.

``evaluation.evaluate`` (the API) runs ``loop`` (batches through a DataLoader, resumable through
``resume_log``, sharded by ``distributed`` under torchrun) and scores with ``scoring``.
"""

from __future__ import annotations

from typing import Any

from mixbench.measure.options import EvalOptions

__all__ = ["EvalOptions", "EvalReport", "evaluate"]


def __getattr__(name: str) -> Any:
    """The API, imported on first use: ``agreement``'s thresholds and the options (the CLI's)
    load without torch."""
    if name in ("EvalReport", "evaluate"):
        from mixbench.measure.accuracy import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'mixbench.measure.accuracy' has no attribute {name!r}")
