"""Native PyTorch MixNet (MixConv: Mixed Depthwise Convolutional Kernels, Tan & Le 2019), and
any other timm model through the ``timm`` family (:mod:`~mixbench.models.timm_family`).

Our own modules, numerically and state_dict-compatible with timm's ``mixnet_*`` and
``tf_mixnet_*`` (the MixNet modules never import timm; only the timm family does, for names
that are not native presets). Configs use
netspresso-trainer's YAML format; see :mod:`mixbench.models.config` for the fields and
:mod:`mixbench.models.weights` for the timm key mapping.

Layout: :mod:`~mixbench.models.config` (typed config, YAML parsing) →
:mod:`~mixbench.models.plan` (per-block widths and depths) → :mod:`~mixbench.models.layers`,
:mod:`~mixbench.models.blocks`, :mod:`~mixbench.models.mixnet` (modules, and the MixNet family's
registration); :mod:`~mixbench.models.registry` (model families) is what
:mod:`~mixbench.models.factory` (:func:`create_model`) and :mod:`~mixbench.models.optimize` use.
"""

from mixbench.models.base import EvalConfig
from mixbench.models.config import BlockSpec, MixNetConfig, StageConfig
from mixbench.models.factory import create_model, list_presets, load_config

# Importing an architecture module registers its family: one import per family here.
from mixbench.models.mixnet import FeatureInfo, MixNet, MixNetFeatures
from mixbench.models.mixnet_keys import native_to_timm, pointwise_groups, timm_to_native
from mixbench.models.registry import ModelFamily, families, get_family, register_family
from mixbench.models.timm_family import TimmConfig, timm_config  # after MixNet: presets win
from mixbench.models.weights import read_checkpoint

__all__ = [
    "BlockSpec",
    "EvalConfig",
    "FeatureInfo",
    "MixNet",
    "MixNetConfig",
    "MixNetFeatures",
    "ModelFamily",
    "StageConfig",
    "TimmConfig",
    "create_model",
    "families",
    "get_family",
    "list_presets",
    "load_config",
    "native_to_timm",
    "pointwise_groups",
    "read_checkpoint",
    "register_family",
    "timm_config",
    "timm_to_native",
]
