"""Evaluation data: card-exact preprocessing, image decoding and the evaluation data sources."""

from mixbench.data.preprocess import Preprocessing
from mixbench.data.sources import BadImageError, EvalSource, decode_rgb, open_source

__all__ = ["BadImageError", "EvalSource", "Preprocessing", "decode_rgb", "open_source"]
