"""mixbench: benchmark MixNet classifiers and verify their model cards, published vs measured."""

from mixbench.errors import InputError, MixbenchError
from mixbench.index import ModelCard, ModelIndex, load_index

__version__ = "0.1.0"

__all__ = ["InputError", "MixbenchError", "ModelCard", "ModelIndex", "__version__", "load_index"]
