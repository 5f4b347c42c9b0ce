"""ImageNet accuracy with a card's exact preprocessing.

``evaluation.evaluate`` (the API) runs ``loop`` (batches through a DataLoader, resumable through
``resume_log``, sharded by ``distributed`` under torchrun) and scores with ``scoring``.
"""

from mixbench.measure.accuracy.evaluation import EvalOptions, EvalReport, evaluate

__all__ = ["EvalOptions", "EvalReport", "evaluate"]
