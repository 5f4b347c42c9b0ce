"""Seeded random weights whose outputs depend on their input.

A check that compares two implementations on random weights proves nothing if the random
network's logits are the same for every image: a mistake in an early layer would never show.
``seeded_weights`` draws He-scaled convolution and linear weights, then measures the BatchNorm
statistics on a seeded batch (with BN scales below 1), so activations neither vanish nor explode
and the logits follow the input, in float32 and float16 alike.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

#: The seed behind "random weights (seeded)" wherever mixbench compares without real weights.
RANDOM_SEED = 0


def seeded_weights(model: nn.Module, image_size: int, seed: int = RANDOM_SEED) -> nn.Module:
    """A copy of ``model`` with weights drawn from ``seed``, so that ``random-seed-N`` (with
    the image size, also in the key) names them exactly.

    Convolution and linear weights are He-scaled, biases small; BN statistics are then
    measured on a seeded random batch at ``image_size`` and the BN scales drawn below 1. Without
    that calibration a deep random net's logits hardly depend on its input (the check would
    not see an early layer go wrong); with it they do, and stay O(1), also in float16."""
    generator = torch.Generator().manual_seed(seed)
    copied = copy.deepcopy(model).float().eval()
    norms = [m for m in copied.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for module in copied.modules():
            for name, tensor in module.named_parameters(recurse=False):
                if module in norms:
                    continue
                if tensor.dim() > 1:
                    scale = (2.0 / tensor[0].numel()) ** 0.5
                    tensor.copy_(torch.randn(tensor.shape, generator=generator) * scale)
                else:  # biases (and any activation slope: kept positive)
                    drawn = torch.randn(tensor.shape, generator=generator) * 0.1
                    tensor.copy_(drawn if name == "bias" else drawn.abs() + 0.1)
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average: exactly this batch's statistics
            if norm.affine:
                n = norm.num_features
                norm.weight.copy_(torch.rand(n, generator=generator) * 0.3 + 0.2)
                norm.bias.copy_(torch.randn(n, generator=generator) * 0.1)
            norm.train()  # only the norms: dropout and drop-path stay off (and deterministic)
        copied(torch.randn(4, 3, image_size, image_size, generator=generator))
    for norm, original in zip(norms, _norms(model), strict=True):
        norm.momentum = original.momentum
        if norm.num_batches_tracked is not None:  # drawn, not trained: no batch seen
            norm.num_batches_tracked.zero_()
    return copied.eval()


def _norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
