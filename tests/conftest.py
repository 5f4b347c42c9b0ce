"""Shared fixtures: the ImageNet-shaped folder, random-weight helpers (timm is the numerical
reference), and a terminal width that does not depend on the developer's shell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _terminal_width_of_the_tests(monkeypatch):
    """The CLI honours COLUMNS; a developer's exported value must not change what tests see."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    """(folder, timm-keyed weights file, timm reference model): see tests/imagenet_folder.py."""
    from imagenet_folder import make_imagenet_folder

    return make_imagenet_folder(tmp_path_factory.mktemp("imagenet"))


def _randomize(model: nn.Module, seed: int) -> nn.Module:
    """Non-trivial BN statistics and affine parameters, and non-zero conv/linear biases (the
    init zeroes them, which would hide a mis-mapped bias). Kept mild enough that fp32 logits of
    a deep net stay O(1): wild BN makes activations explode and fp32 noise dominate."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.2)
            elif isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    return model.eval()


@pytest.fixture
def randomize() -> Callable[..., nn.Module]:
    """``randomize(model, seed=0)``: see :func:`_randomize`; returns the model in eval mode."""

    def apply(model: nn.Module, seed: int = 0) -> nn.Module:
        return _randomize(model, seed)

    return apply


@pytest.fixture
def timm_model() -> Callable[..., nn.Module]:
    """``timm_model(name, seed=0, **kwargs)``: a seeded, randomised timm reference model."""
    import timm  # a hard dependency: a missing timm must fail these tests, not skip them

    def build(name: str, seed: int = 0, **kwargs: object) -> nn.Module:
        torch.manual_seed(seed)
        return _randomize(timm.create_model(name, pretrained=False, **kwargs), seed)

    return build


@pytest.fixture
def max_rel_diff() -> Callable[[torch.Tensor, torch.Tensor], float]:
    """``max|a - b| / max|b|``, the equivalence metric of the model tests."""

    def measure(a: torch.Tensor, b: torch.Tensor) -> float:
        return ((a - b).abs().max() / b.abs().max()).item()

    return measure


@pytest.fixture
def model_data() -> Path:
    """``tests/data`` (the verbatim netspresso-trainer MixNet configs live there)."""
    return DATA


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty, offline Hugging Face cache. huggingface_hub reads its environment at import
    time, so the module constants are patched too (the subprocess test covers pure env)."""
    from huggingface_hub import constants

    home = tmp_path / "hf"
    cache = home / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


@pytest.fixture
def use_native_to_timm(monkeypatch) -> Callable[[Callable[..., dict[str, torch.Tensor]]], None]:
    """``use_native_to_timm(convert)``: the native = timm check maps keys with ``convert``.

    The check reads the model family's ``native_to_timm`` (a frozen registry record, holding
    the function it was registered with), so patching the module function would not reach it:
    the models verify resolves come with a family carrying ``convert`` instead.
    """
    from dataclasses import replace

    import mixbench.verify as verify_module

    real_resolve = verify_module.resolve_model

    def install(convert: Callable[..., dict[str, torch.Tensor]]) -> None:
        def resolve(*args: Any, **kwargs: Any) -> Any:
            resolved = real_resolve(*args, **kwargs)
            if resolved.family.native_to_timm is None:
                return resolved
            return replace(resolved, family=replace(resolved.family, native_to_timm=convert))

        monkeypatch.setattr(verify_module, "resolve_model", resolve)

    return install
