"""Evaluation data: card-exact preprocessing and image loading."""

from mixbench.data.preprocess import Preprocessing, load_rgb

__all__ = ["Preprocessing", "load_rgb"]
