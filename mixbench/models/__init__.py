"""Native PyTorch MixNet (MixConv: Mixed Depthwise Convolutional Kernels, Tan & Le 2019).

Our own modules, numerically and state_dict-compatible with timm's ``mixnet_*`` and
``tf_mixnet_*`` (timm is the test reference, never imported here). Configs use
netspresso-trainer's YAML format; see :mod:`mixbench.models.config` for the fields and
:mod:`mixbench.models.convert` for the timm key mapping.
"""

from mixbench.models.config import (
    BlockSpec,
    EvalConfig,
    MixNetConfig,
    StageConfig,
)
from mixbench.models.convert import native_to_timm, pointwise_groups, timm_to_native
from mixbench.models.factory import create_model, list_presets, load_config
from mixbench.models.mixnet import FeatureInfo, MixNet, MixNetFeatures
from mixbench.models.weights import read_checkpoint

__all__ = [
    "BlockSpec",
    "EvalConfig",
    "FeatureInfo",
    "MixNet",
    "MixNetConfig",
    "MixNetFeatures",
    "StageConfig",
    "create_model",
    "list_presets",
    "load_config",
    "native_to_timm",
    "pointwise_groups",
    "read_checkpoint",
    "timm_to_native",
]
