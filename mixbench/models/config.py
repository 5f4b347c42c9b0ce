"""MixNet configuration: netspresso-trainer's YAML format plus mixbench's timm-parity fields.

The document::

    model:
      name: mixnet_s                      # optional label
      pretrained:                         # optional (mixbench): default weights, timm's naming
        hf_hub_id: timm/mixnet_s.ft_in1k
      eval:                               # optional (mixbench): eval preprocessing defaults
        input_size: [3, 224, 224]
        crop_pct: 0.875
        interpolation: bicubic
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
      architecture:
        backbone:
          name: mixnet
          params: {stem_channels, wid_mul, dep_mul, dropout_rate, ...extensions below}
          stage_params: [{expansion_ratio: [...], out_channels: [...], ...}, ...]

Only ``model.architecture.backbone`` (and the two optional mixbench sections) is read; other
netspresso sections (``task``, ``checkpoint``, ``architecture.head``, ``postprocessor`` ...) are
ignored. Unknown keys inside ``params``, a stage or the mixbench sections are refused, since a
typo there would silently change the network.

``params`` extensions (defaults reproduce timm's ``mixnet_*``):

==================  ===========  ==========================================================
field               default      meaning
==================  ===========  ==========================================================
head_channels       1536         width of the final 1×1 conv before pooling
num_classes         1000         classifier outputs (0: no classifier, pooled features out)
in_chans            3            input channels
stem_act, head_act  relu         activations after the stem conv and the head conv
bn_eps              1.0e-5       BatchNorm eps (the tf_ ports use 1.0e-3)
bn_momentum         0.1          BatchNorm momentum, PyTorch convention
padding             symmetric    ``symmetric`` (PyTorch) or ``same`` (TensorFlow, dynamic)
channel_divisor     8            channels are rounded to multiples of this after wid_mul
round_limit         0.9          ... going one multiple up if rounding lost more than 10%
depth_rounding      timm         ``timm``: scale each run of same-width blocks as a whole;
                                 ``per_entry``: netspresso's ceil(num_blocks * dep_mul)
depth_trunc         ceil         timm mode only: ``ceil`` (timm's mixnet_s) or ``round``
                                 (timm's mixnet_m/l/xl) on the run total
drop_path_rate      0.0          stochastic depth, linearly increasing over blocks
==================  ===========  ==========================================================

``dropout_rate`` is the dropout before the classifier (timm's ``drop_rate``).

Stages. netspresso groups its entries into ``stage_params`` freely; timm's ``blocks.i`` are runs
of consecutive blocks with the same output width, a new run also starting at any stride-2
entry. The network is built from those runs, so timm's ``blocks.i.j`` state_dict keys come out
whatever the YAML grouping; the YAML grouping only locates errors.

Differences from netspresso-trainer's own MixNet (``backbones/experimental/mixnet.py``), all
deliberate, to match timm and the published weights:

* SE width: timm ``round(mid * (1/r) / expansion)`` vs netspresso ``int(in / r)``; SE exists
  for any ratio given (netspresso silently drops it for ratios <= 1).
* Expanded width ``make_divisible(in * expansion)`` vs netspresso's unrounded ``in * t``; and
  channels are rounded even at ``wid_mul: 1.0`` (netspresso skips rounding then). Identical
  for the shipped s/m/l configs, whose widths are multiples of 8.
* BatchNorm eps/momentum 1e-5/0.1 (timm) vs netspresso's 1e-3/0.01 inside blocks.
* MixConv splits give the remainder to the first group (netspresso requires equal chunks).
* Depth: timm scales each run's total (see ``depth_rounding``); netspresso ceils each entry.
* ``dropout_rate``: netspresso also applies dropout2d on every residual while training;
  here it is only the classifier dropout, stochastic depth being ``drop_path_rate``.
* Feature maps: netspresso returns one map per YAML stage (the last after the 1536 head
  conv); mixbench returns timm's five maps (strides 2, 4, 8, 16, 32).

The three netspresso example configs (MixNet-s/m/l) match timm's block definitions field for
field (kernel sizes, exp/poi groups, SE ratios, strides, activations); checked in the tests.

This module is the public entry point and re-exports every name it held before the split;
the code lives in

* :mod:`~mixbench.models.config_types`: the frozen dataclasses (:class:`MixNetConfig`,
  :class:`EvalConfig`, block/stage specs, the network plan) and the constants;
* :mod:`~mixbench.models.config_parse`: YAML/dict → config and back, overrides;
* :mod:`~mixbench.models.config_plan`: config → per-block plan (rounding, depth scaling);
* :mod:`~mixbench.models.config_values`: typed value readers whose errors name file and field.
"""

from __future__ import annotations

# Public names are listed in __all__; the private helpers stay importable too (the tests use
# _scale_run_depth) so code written against the single-module layout keeps working, the
# `x as x` form marking them as re-exports.
from mixbench.models.config_parse import OVERRIDE_ALIASES, PARAM_FIELDS
from mixbench.models.config_parse import _param_specs as _param_specs
from mixbench.models.config_parse import _parse_entry as _parse_entry
from mixbench.models.config_parse import _parse_eval as _parse_eval
from mixbench.models.config_parse import _parse_params as _parse_params
from mixbench.models.config_parse import _parse_stage as _parse_stage
from mixbench.models.config_parse import _parse_stages as _parse_stages
from mixbench.models.config_plan import _check_groups as _check_groups
from mixbench.models.config_plan import _feature_specs as _feature_specs
from mixbench.models.config_plan import _scale_run_depth as _scale_run_depth
from mixbench.models.config_plan import _timm_runs as _timm_runs
from mixbench.models.config_types import (
    DEPTH_ROUNDINGS,
    DEPTH_TRUNCS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_KERNEL,
    MAX_MULTIPLIER,
    STAGE_FIELDS,
    BlockPlan,
    BlockSpec,
    EvalConfig,
    FeatureSpec,
    MixNetConfig,
    NetworkPlan,
    StageConfig,
)
from mixbench.models.config_values import _as_choice as _as_choice
from mixbench.models.config_values import _as_float as _as_float
from mixbench.models.config_values import _as_int as _as_int
from mixbench.models.config_values import _as_list as _as_list
from mixbench.models.config_values import _as_mapping as _as_mapping
from mixbench.models.config_values import _describe as _describe
from mixbench.models.config_values import _join as _join
from mixbench.models.config_values import _refuse_unknown as _refuse_unknown
from mixbench.models.config_values import _Source as _Source

__all__ = [
    "DEPTH_ROUNDINGS",
    "DEPTH_TRUNCS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_BLOCKS",
    "MAX_CHANNELS",
    "MAX_KERNEL",
    "MAX_MULTIPLIER",
    "OVERRIDE_ALIASES",
    "PARAM_FIELDS",
    "STAGE_FIELDS",
    "BlockPlan",
    "BlockSpec",
    "EvalConfig",
    "FeatureSpec",
    "MixNetConfig",
    "NetworkPlan",
    "StageConfig",
]
