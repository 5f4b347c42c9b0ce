"""Evaluation data: card-exact preprocessing, image loading and the evaluation data sources."""

from mixbench.data.preprocess import Preprocessing, load_rgb
from mixbench.data.sources import BadImageError, EvalSource, open_source

__all__ = ["BadImageError", "EvalSource", "Preprocessing", "load_rgb", "open_source"]
