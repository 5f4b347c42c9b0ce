"""The weights file a verify run has at hand, and what the card says of its file."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from mixbench.index import ModelCard
from mixbench.index.weights_url import weights_file
from mixbench.resolve import ResolvedModel
from mixbench.store import sha256_file
from mixbench.verify.options import VerifyOptions


def card_weights_file(card: ModelCard) -> tuple[str | None, str | None]:
    """The card's weights file name and the sha256 prefix it carries (torch.hub style)."""
    return weights_file(card.weights_url)


@dataclass(frozen=True)
class WeightsAtHand:
    """The checkpoint file this run uses (``--weights`` or the cached ``--pretrained`` file)."""

    path: Path | None

    @classmethod
    def of(cls, resolved: ResolvedModel, options: VerifyOptions) -> WeightsAtHand:
        return cls(weights_path(resolved, options))

    @functools.cached_property
    def sha256(self) -> str | None:
        return None if self.path is None else sha256_file(self.path)

    def is_cards_file(self, card: ModelCard) -> bool | None:
        """True/False when the card's hash prefix decides it, else by file name (None: no
        file or no name to go by)."""
        name, prefix = card_weights_file(card)
        if self.path is None:
            return None
        if prefix is not None:
            return bool(self.sha256 and self.sha256.startswith(prefix))
        return None if name is None else self.path.name == name


def weights_path(resolved: ResolvedModel, options: VerifyOptions) -> Path | None:
    if options.weights is not None:
        return Path(options.weights)
    if options.pretrained and resolved.weights:
        from mixbench.models.weights import download_pretrained

        return download_pretrained(resolved.weights)  # cached: resolve_model fetched it
    return None
