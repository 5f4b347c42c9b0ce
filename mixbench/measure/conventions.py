"""Counting conventions of old FLOPs counters, re-implemented as module-type rules.

A published "FLOPs" figure is only meaningful with the counter that made it. fvcore (see
:mod:`mixbench.measure.complexity`) traces the operators; older counters such as thop hooked
``nn.Module`` types and summed a formula per type, skipping every type they had no rule for.
A :class:`CountingConvention` is such a counter written down: a table of rules keyed by the
*exact* module type the old counter saw, plus a mapping from today's module types (ours and
timm's) to the types the same layers had then.

:data:`THOP_2021` is the convention of the timm MixNet cards: thop 0.0.31 on timm 0.3/0.4.
Counting never runs a real convolution: the model runs on the meta device (shapes only), with
forward hooks reading the shapes, so a MixNet is counted in milliseconds.

>>> from mixbench.models import create_model
>>> THOP_2021.count(create_model("mixnet_s"), (224, 285))  # doctest: +SKIP
321264910
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from mixbench.models.layers import BatchNormAct2d, SameConv2d
from mixbench.models.mixnet import MixNet

#: One rule: (module, its inputs, its output) → multiply-adds counted. ``module`` is None when
#: the rule counts a functional call standing for a module (see ``functional_as``).
OpsRule = Callable[[nn.Module | None, tuple[Any, ...], torch.Tensor], int]


class Uncounted(nn.Module):
    """Stands for a module type an old counter had no rule for: it, and all inside it, count 0.

    Only a mapping target; never built or run.
    """


def conv_ops(module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """thop's ``count_convNd``: output elements × (in/groups × kernel area + 1 if bias)."""
    assert isinstance(module, nn.modules.conv._ConvNd)
    kernel = math.prod(module.kernel_size)
    bias = 1 if module.bias is not None else 0
    return output.numel() * (module.in_channels // module.groups * kernel + bias)


def batch_norm_ops(module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """thop's ``count_bn`` in eval mode: 2 × input elements (normalise, then scale-shift)."""
    return 2 * inputs[0].numel()


def adaptive_avg_pool_ops(
    module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor
) -> int:
    """thop's ``count_adap_avgpool``: (kernel area + 1) per output element.

    The kernel is input size // output size per axis, so a global pool of C×H×W is (H·W + 1)·C.
    """
    spatial = zip(inputs[0].shape[2:], output.shape[2:], strict=True)
    kernel = math.prod(size // out for size, out in spatial)
    return (kernel + 1) * output.numel()


def linear_ops(module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """thop's ``count_linear``: in_features per output element."""
    assert isinstance(module, nn.Linear)
    return module.in_features * output.numel()


def zero_ops(module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """thop's ``zero_ops`` (ReLU, max pooling, padding, dropout): a rule that counts 0."""
    return 0


def leaky_relu_ops(module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """thop's ``count_relu``, registered for ``nn.LeakyReLU`` only: one per input element."""
    return inputs[0].numel()


def avg_pool_ops(module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """thop's ``count_avgpool``: one per output element, whatever the kernel."""
    return output.numel()


#: thop's ``count_upsample``: operations per output element by mode (nearest and modes it did
#: not know count 0).
UPSAMPLE_OPS = {"linear": 5, "bilinear": 11, "bicubic": 224 + 35, "trilinear": 13 * 2 + 5}


def upsample_ops(module: nn.Module | None, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """thop's ``count_upsample``: a fixed cost per output element for the interpolating modes."""
    mode = getattr(module, "mode", "nearest")
    return UPSAMPLE_OPS.get(mode, 0) * output.numel()


@dataclass(frozen=True)
class CountingConvention:
    """A hook-based counter: rules by exact module type, and how today's types map onto them.

    Counting follows thop's tree walk: a module whose (mapped) type has a rule counts by that
    rule and stands for everything inside it; a module without one counts its children; an
    activation, a container or any other type without a rule adds nothing by itself.
    """

    key: str  # stable name, e.g. in `Check.details` and `--json`
    label: str  # what a person reads
    description: str  # one sentence: what it counts
    #: exact type → rule (``type(m) is T``: a subclass of ``nn.Conv2d`` is not an ``nn.Conv2d``)
    rules: Mapping[type[nn.Module], OpsRule]
    #: today's type (a class, or timm's ``"module.QualName"`` so timm need not be imported)
    #: → the type the same layer had then; ``Uncounted`` where the old counter had no rule
    aliases: Mapping[type[nn.Module] | str, type[nn.Module]] = field(default_factory=dict)
    #: today's type → then, for models whose class is defined in a given module
    #: (``type(model).__module__``, e.g. ``"timm.models.efficientnet"``): where the same layer
    #: type stood for different things in different architectures of the old library
    aliases_by_source: Mapping[str, Mapping[type[nn.Module] | str, type[nn.Module]]] = field(
        default_factory=dict
    )
    #: what the module ``model.get_classifier()`` returns was then, by its type today (a type
    #: not listed counts as itself)
    classifier_aliases: Mapping[type[nn.Module] | str, type[nn.Module]] = field(
        default_factory=dict
    )
    #: functional calls made directly in a module's forward that stood for a module then:
    #: owner type → {function: module type it counts as}
    functional_as: Mapping[type[nn.Module], Mapping[Callable[..., Any], type[nn.Module]]] = field(
        default_factory=dict
    )

    def count(self, model: nn.Module, input_size: tuple[int, int]) -> int:
        """Multiply-adds for one ``(height, width)`` RGB image under this convention.

        Runs ``model`` on the meta device (no arithmetic, the weights untouched), in eval mode.
        """
        return sum(self.count_by_module(model, input_size).values())

    def count_by_module(self, model: nn.Module, input_size: tuple[int, int]) -> dict[str, int]:
        """:meth:`count`, split by the counted module's qualified name (a functional call is
        booked to the module whose forward made it): where two counts part ways."""
        counted = dict(self._counted_modules(model))
        names = {module: name for name, module in model.named_modules()}
        found: dict[str, int] = {}

        def add(module: nn.Module, ops: int) -> None:
            name = names.get(module, "")
            found[name] = found.get(name, 0) + ops

        handles = [
            module.register_forward_hook(
                lambda m, inputs, output, rule=rule: add(m, rule(m, inputs, output))
            )
            for module, rule in counted.items()
        ]
        functional = _FunctionalCounter(self, model, counted, add)
        handles += functional.track()
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                _run_on_meta(model, input_size)
        finally:
            functional.stop()
            model.train(was_training)
            for handle in handles:
                handle.remove()
        return found

    def era_type(self, module: nn.Module, model: nn.Module) -> type[nn.Module]:
        """The type the old counter saw for ``module`` (its own type unless mapped)."""
        tables: list[Mapping[type[nn.Module] | str, type[nn.Module]]] = []
        if module is _classifier(model):
            tables.append(self.classifier_aliases)
        tables += [self.aliases_by_source.get(type(model).__module__, {}), self.aliases]
        kind = type(module)
        qualified = f"{kind.__module__}.{kind.__qualname__}"
        for table in tables:
            mapped = table.get(kind) or table.get(qualified)
            if mapped is not None:
                return mapped
        return kind

    def _counted_modules(
        self, module: nn.Module, model: nn.Module | None = None
    ) -> Iterator[tuple[nn.Module, OpsRule]]:
        """The modules whose rule counts, walking down to them as thop's ``dfs_count`` did."""
        model = model if model is not None else module
        for child in module.children():
            era = self.era_type(child, model)
            if era is Uncounted:
                continue
            rule = self.rules.get(era)
            if rule is not None:
                yield child, rule
            else:
                yield from self._counted_modules(child, model)


class _FunctionalCounter(TorchFunctionMode):
    """Counts the functional calls ``functional_as`` maps onto modules, by their owner.

    A function mode sees every torch call and slows each one, so it is active only while an
    owner's own forward code runs: module hooks switch it off for the owner's children.
    """

    def __init__(
        self,
        convention: CountingConvention,
        model: nn.Module,
        counted: Mapping[nn.Module, OpsRule],
        add: Callable[[nn.Module, int], None],
    ) -> None:
        super().__init__()
        self.functional_as = convention.functional_as
        self.rules = convention.rules
        self.model = model
        self.add = add
        self.counted = set(counted)  # a counted module's own rule already covers its calls
        self.running: list[nn.Module] = []  # the modules whose forward runs, innermost last
        self.active = False

    def track(self) -> list[torch.utils.hooks.RemovableHandle]:
        """Hooks following which forward runs (none when no owner is in the model)."""
        owners = tuple(self.functional_as)
        if not any(type(module) in owners for module in self.model.modules()):
            return []
        handles = []
        for module in self.model.modules():
            handles.append(module.register_forward_pre_hook(self._enter))
            handles.append(module.register_forward_hook(self._leave, always_call=True))
        return handles

    def stop(self) -> None:
        """Leave the mode if a forward pass ended (or failed) with it on."""
        self.running.clear()
        self._switch()

    def _enter(self, module: nn.Module, _inputs: tuple[Any, ...]) -> None:
        self.running.append(module)
        self._switch()

    def _leave(self, module: nn.Module, _inputs: tuple[Any, ...], _output: Any) -> None:
        self.running.pop()
        self._switch()

    def _switch(self) -> None:
        owner = self.running[-1] if self.running else None
        wanted = type(owner) in self.functional_as and not self.counted.intersection(self.running)
        if wanted and not self.active:
            self.__enter__()
        elif self.active and not wanted:
            self.__exit__(None, None, None)
        self.active = wanted

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        output = func(*args, **(kwargs or {}))
        stands_for = self.functional_as.get(type(self.running[-1]), {}).get(func)
        rule = self.rules.get(stands_for) if stands_for is not None else None
        if rule is not None:
            self.add(self.running[-1], rule(None, args, output))
        return output


def _classifier(model: nn.Module) -> nn.Module | None:
    get_classifier = getattr(model, "get_classifier", None)
    return get_classifier() if callable(get_classifier) else None


def input_channels(model: nn.Module) -> int:
    """The channels the model takes in: its eval config's or timm's ``pretrained_cfg``
    ``input_size``, else the first convolution's (TResNet's first convolution comes after a
    space-to-depth, so it cannot be the rule)."""
    for config in (getattr(model, "eval_config", None), getattr(model, "pretrained_cfg", None)):
        size = getattr(config, "input_size", None)
        if size is None and isinstance(config, Mapping):
            size = config.get("input_size")
        if size:
            return int(size[0])
    for module in model.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            return module.in_channels
    return 3


def _run_on_meta(model: nn.Module, input_size: tuple[int, int]) -> None:
    """One forward pass with meta tensors for the input, every parameter and every buffer."""
    height, width = input_size
    meta = {
        name: torch.empty_like(tensor, device="meta")
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]
    }
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    images = torch.empty(1, input_channels(model), height, width, device="meta", dtype=dtype)
    torch.func.functional_call(model, meta, (images,))


#: The published timm MixNet cards' FLOPs convention. In words, module by module:
#:
#: * ``nn.Conv2d`` (exact type; ours: stem, 1×1, depthwise, SE and head convs; timm: the same,
#:   built by ``create_conv2d`` with static padding) counts output × (in/groups × kh·kw + bias).
#:   Our grouped 1×1 ``nn.Conv2d(groups=g)`` was g separate convs in timm's ``MixedConv2d``:
#:   g × (out/g · HW · in/g) is the grouped conv's out · HW · in/g, so it needs no mapping
#:   (torch's grouped conv needs equal splits, as timm's per-group convs then have).
#: * ``SameConv2d`` (ours) and timm's ``Conv2dSame``: TF "SAME" padding computed at run time,
#:   an ``nn.Conv2d`` *subclass*, which thop's type dispatch missed → 0. These are the tf_
#:   ports' stride-2 convolutions (13 in tf_mixnet_s, 18,677,232 MACs at 224×285).
#: * ``BatchNormAct2d`` (ours, and timm's today) → ``nn.BatchNorm2d``: timm 0.4's MixNet had a
#:   plain BN followed by a separate activation module, so 2 × input elements (the activation
#:   is 0 like every activation here).
#: * ``MixConv`` (ours) / timm's ``MixedConv2d``, ``SqueezeExcite``, blocks, ``Sequential``:
#:   no rule, their convolutions count. The SE's mean, gate and product count nothing.
#: * The global average pool → ``nn.AdaptiveAvgPool2d``, (H·W + 1) × C: timm's
#:   ``SelectAdaptivePool2d('avg')`` has no rule but holds an ``nn.AdaptiveAvgPool2d``; our
#:   native ``MixNet`` calls ``F.adaptive_avg_pool2d`` in its forward, mapped to that module.
#: * The classifier (``get_classifier()``), when a ``Linear`` → ``Uncounted``: timm 0.4 built it
#:   as its own ``Linear``, an ``nn.Linear`` subclass that the dispatch missed; so is
#:   ``timm.layers.Linear``. A 1×1 ``nn.Conv2d`` head (DLA, DPN, BiT) was counted, and is.
#:
#: The rest of thop 0.0.31's table is here too (LeakyReLU: one per element; AvgPool: one per
#: output element; Upsample by mode; ConvTranspose like conv; ReLU, max pooling, padding,
#: dropout: a rule that counts 0). For any timm model, today's types map to timm 0.4.5's by the
#: architecture they sit in (``aliases_by_source``, keyed by the model class's module), found by
#: running thop 0.0.31 on timm 0.4.5 beside this emulation, module by module:
#:
#: * ``BatchNormAct2d`` → ``nn.BatchNorm2d`` in EfficientNet, MobileNetV3 (and MixNet, their
#:   family) and the three Inceptions: timm 0.4 had a plain BN followed by an activation there.
#: * ``BatchNormAct2d`` → ``Uncounted`` in TResNet: timm 0.4 had ``InplaceAbn``, a module with
#:   no children (BN and leaky ReLU in one function), where today's ``BatchNormAct2d`` holds a
#:   ``LeakyReLU`` thop would have counted.
#: * Elsewhere (ConvBnAct, DenseNet, DPN, VoVNet, RegNet ...) ``BatchNormAct2d`` was already
#:   the ``nn.BatchNorm2d`` subclass thop had no rule for: it stays unmapped, so only its
#:   children count (a ``LeakyReLU`` activation: one per element, as then).
#: * BiT's ``StdConv2d`` and ``GroupNormAct`` were subclasses thop missed then and now: only the
#:   pool and the 1×1 head count, which is what (twice) the BiT cards publish.
_TIMM_BN_ACT = "timm.layers.norm_act.BatchNormAct2d"

THOP_2021 = CountingConvention(
    key="thop_2021",
    label="thop-2021 MACs",
    description=(
        "thop 0.0.31 on timm 0.4 (2021): multiply-adds of plain nn.Conv2d layers (with bias), "
        "2 per BatchNorm input element and H·W + 1 per channel of the global pool; "
        "TF-'same' stride-2 convolutions, activations (not LeakyReLU), SE gating and a Linear "
        "classifier count 0"
    ),
    rules={
        **dict.fromkeys(
            (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d),
            conv_ops,
        ),
        nn.ConvTranspose3d: conv_ops,
        **dict.fromkeys(
            (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm), batch_norm_ops
        ),
        **dict.fromkeys(
            (nn.ZeroPad2d, nn.ReLU, nn.ReLU6, nn.Dropout, nn.MaxPool1d, nn.MaxPool2d),
            zero_ops,
        ),
        **dict.fromkeys(
            (nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d),
            zero_ops,
        ),
        nn.LeakyReLU: leaky_relu_ops,
        **dict.fromkeys((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), avg_pool_ops),
        **dict.fromkeys(
            (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d),
            adaptive_avg_pool_ops,
        ),
        nn.Linear: linear_ops,
        **dict.fromkeys(
            (nn.Upsample, nn.UpsamplingBilinear2d, nn.UpsamplingNearest2d), upsample_ops
        ),
    },
    aliases={
        SameConv2d: Uncounted,
        BatchNormAct2d: nn.BatchNorm2d,
        "timm.layers.conv2d_same.Conv2dSame": Uncounted,
        "timm.layers.linear.Linear": Uncounted,
    },
    aliases_by_source={
        # timm 0.4's EfficientNet/MobileNetV3 blocks had a plain BN and a separate activation;
        # elsewhere (ConvBnAct, DenseNet, DPN ...) BatchNormAct2d was already the subclass
        # thop had no rule for, so only its children (the activation) were counted
        "timm.models.efficientnet": {_TIMM_BN_ACT: nn.BatchNorm2d},
        "timm.models.mobilenetv3": {_TIMM_BN_ACT: nn.BatchNorm2d},
        # timm 0.4's Inceptions: BasicConv2d = conv, plain BN, functional ReLU
        "timm.models.inception_v3": {_TIMM_BN_ACT: nn.BatchNorm2d},
        "timm.models.inception_v4": {_TIMM_BN_ACT: nn.BatchNorm2d},
        "timm.models.inception_resnet_v2": {_TIMM_BN_ACT: nn.BatchNorm2d},
        # timm 0.4's TResNet: InplaceAbn, a module with no children (BN and leaky ReLU in one
        # function), where today's BatchNormAct2d holds a LeakyReLU thop would have counted
        "timm.models.tresnet": {_TIMM_BN_ACT: Uncounted},
    },
    classifier_aliases={nn.Linear: Uncounted},
    functional_as={MixNet: {F.adaptive_avg_pool2d: nn.AdaptiveAvgPool2d}},
)

#: Every hook-based convention, by key.
CONVENTIONS: dict[str, CountingConvention] = {THOP_2021.key: THOP_2021}

__all__ = [
    "CONVENTIONS",
    "THOP_2021",
    "CountingConvention",
    "OpsRule",
    "Uncounted",
    "adaptive_avg_pool_ops",
    "avg_pool_ops",
    "batch_norm_ops",
    "conv_ops",
    "leaky_relu_ops",
    "linear_ops",
    "upsample_ops",
    "zero_ops",
]
