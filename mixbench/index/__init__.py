"""Model-index reading: published model cards in every form, validated and normalised.

>>> from mixbench.index import load_index
>>> card = load_index()["mixnet_xl"]
>>> card.params, card.top1
(11900000, 80.47)
"""

from mixbench.index.cards import (
    CARD_FIELDS,
    NOT_PUBLISHED,
    TOP1,
    TOP5,
    CardWarning,
    Location,
    Metric,
    ModelCard,
    Paper,
    Result,
)
from mixbench.index.loader import LeftOut
from mixbench.index.model_index import (
    ModelIndex,
    check_index,
    default_index_path,
    load_index,
    packaged_index_path,
)

__all__ = [
    "CARD_FIELDS",
    "NOT_PUBLISHED",
    "TOP1",
    "TOP5",
    "CardWarning",
    "LeftOut",
    "Location",
    "Metric",
    "ModelCard",
    "ModelIndex",
    "Paper",
    "Result",
    "check_index",
    "default_index_path",
    "load_index",
    "packaged_index_path",
]
