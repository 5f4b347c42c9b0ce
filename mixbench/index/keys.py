"""The keys a model-index source may use, and what to say about the ones mixbench does not know.

An unknown key is never silently accepted: one close to a known spelling (``Paramters``) is a
:class:`~mixbench.index.cards.CardWarning` with a suggestion, and ``strict`` loading turns every
unknown key into a problem. Keys are compared in their normalised form (case-insensitive, with
spaces, hyphens and underscores alike), so ``Crop Pct`` and ``crop_pct`` are the same key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from mixbench.errors import Problem
from mixbench.index.cards import NOT_PUBLISHED, CardWarning
from mixbench.index.fields import CARD_FIGURES
from mixbench.index.located_yaml import LocatedDocument, Path, format_path

# One edit in a key of 5+ characters scores ≥ 0.83; real neighbours such as "Warmup Epochs" vs
# "Warmup Steps" (0.80) or "Training Memory (GB)" vs "Training Time" (0.67) stay below.
SIMILARITY_CUTOFF = 0.82

UNKNOWN_KEY = "unknown key, not used"
UNKNOWN_METRIC = "unknown metric, not compared"


def normalise_key(key: str) -> str:
    """``'In Collection'``, ``'in_collection'`` and ``'in-collection'`` → ``'in_collection'``."""
    return re.sub(r"[\s\-_]+", "_", key.strip().lower())


def key_set(*spellings: str) -> dict[str, str]:
    """Normalised key → the spelling shown in suggestions, in the order given."""
    return {normalise_key(spelling): spelling for spelling in spellings}


# Top level of a paperswithcode document; `Type: model-index` opens a Markdown comment block.
DOCUMENT_KEYS = key_set("Models", "Collections", "Import", "Type")
# paperswithcode's model fields (Config, README and Image are known but unused), and Hugging
# Face's `name`/`results`, which normalise to the same keys.
COLLECTION_KEYS = key_set(
    "Name", "Metadata", "Results", "Paper", "Code", "Weights", "Config", "README", "Image"
)
# `Measured` is what `mixbench export` writes beside the figures (the runs they came from).
MODEL_KEYS = {**COLLECTION_KEYS, **key_set("In Collection", "Collection", "Measured")}
# Metadata mixbench reads ...
PARSED_METADATA_KEYS = key_set(
    *(key for card_field in CARD_FIGURES for key in card_field.keys),
    "Architecture", "Tasks", "Training Data", "Training Techniques",
)  # fmt: skip
# ... and metadata published in paperswithcode's spec and timm's cards that it knows but does
# not use (training hyperparameters), so that neither warns nor fails --strict.
RECOGNISED_METADATA_KEYS = key_set(
    "ID", "Epochs", "Batch Size", "Training Resources", "Training Time", "Training Steps",
    "Momentum", "Weight Decay", "LR", "LR Gamma", "LR Step Size", "Layers", "Dropout",
    "RMSProp Decay", "Label Smoothing", "BatchNorm Momentum", "Stochastic Depth Survival",
    "Minibatch Size", "Warmup Steps",
)  # fmt: skip
METADATA_KEYS = {**PARSED_METADATA_KEYS, **RECOGNISED_METADATA_KEYS}
# One entry of Results; Hugging Face adds `source: {name, url}`.
RESULT_KEYS = key_set("Task", "Dataset", "Metrics", "Source")
# Hugging Face's `task`/`dataset` mappings.
NAMED_KEYS = key_set("name", "type", "config", "split", "revision", "args")
# Hugging Face's `metrics` list items.
METRIC_ITEM_KEYS = key_set("name", "type", "value", "config", "args", "verified", "verifyToken")
PAPER_KEYS = key_set("Title", "URL")
URL_KEYS = key_set("URL")
# The spellings suggested for a misspelled metric; which names count as top-1/top-5 is decided
# by normalise.canonical_metric, which reads many more forms.
METRIC_NAMES = key_set(
    "Top 1 Accuracy", "Top 5 Accuracy", "top1", "top5", "acc@1", "acc@5", "Accuracy"
)


def suggest(key: str, known: Mapping[str, str]) -> tuple[str, ...]:
    """The known spellings closest to ``key``, all of them when tied; () when none is close."""
    wanted = normalise_key(key)
    close = difflib.get_close_matches(wanted, list(known), n=3, cutoff=SIMILARITY_CUTOFF)
    if not close:
        return ()
    scores = {candidate: _similarity(candidate, wanted) for candidate in close}
    best = max(scores.values())
    order = list(known)
    tied = sorted((c for c in close if scores[c] >= best - 1e-9), key=order.index)
    return tuple(dict.fromkeys(known[candidate] for candidate in tied))


def _similarity(candidate: str, wanted: str) -> float:
    # The argument order get_close_matches uses: SequenceMatcher is not always symmetric.
    return difflib.SequenceMatcher(None, candidate, wanted).ratio()


def unknown_key(
    doc: LocatedDocument,
    path: Path,
    known: Mapping[str, str],
    *,
    message: str = UNKNOWN_KEY,
) -> CardWarning | None:
    """A record of ``path[-1]`` when it is not a known key (``None`` when it is)."""
    key = str(path[-1])
    if normalise_key(key) in known:
        return None
    return CardWarning(doc.file, doc.line(path), format_path(path), message, suggest(key, known))


def strict_problem(warning: CardWarning) -> Problem:
    """An unknown key or an empty value as ``--strict`` reports it: a problem."""
    if warning.kind == NOT_PUBLISHED:
        reason = "--strict refuses empty values"
    elif warning.suggestions:
        reason = warning.did_you_mean()
    else:
        reason = "--strict accepts only known keys"
    return Problem(warning.file, warning.line, warning.field, f"{warning.message} ({reason})")
