"""Shared fixtures: the ImageNet-shaped folder, random-weight helpers (timm is the numerical
reference), and a terminal width that does not depend on the developer's shell."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session", autouse=True)
def _export_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """ONNX files, OpenVINO IR and engines go to a cache of this session, shared by its tests
    (and the processes they start), never the user's: every run starts as CI does, empty."""
    cache = tmp_path_factory.mktemp("mixbench-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIXBENCH_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    """(folder, timm-keyed weights file, timm reference model): see tests/imagenet_folder.py."""
    from imagenet_folder import make_imagenet_folder

    return make_imagenet_folder(tmp_path_factory.mktemp("imagenet"))


def _randomize(model: nn.Module, seed: int, image_size: int = 224) -> nn.Module:
    """A copy of ``model`` with :func:`mixbench.models.seeded.seeded_weights`: He-scaled
    weights, non-zero biases (the init zeroes them, which would hide a mis-mapped bias) and
    batch norms calibrated on a seeded batch, so the logits follow the input and stay O(1).
    (Hand-drawn BN statistics gave logits that hardly depend on the image: an early layer gone
    wrong would not show.) Calibrated at ``image_size``: give the size the test feeds."""
    from mixbench.models.seeded import seeded_weights

    return seeded_weights(model, image_size, seed)


@pytest.fixture
def randomize() -> Callable[..., nn.Module]:
    """``randomize(model, seed=0)``: see :func:`_randomize`; returns a copy, in eval mode."""

    def apply(model: nn.Module, seed: int = 0, image_size: int = 224) -> nn.Module:
        return _randomize(model, seed, image_size)

    return apply


@pytest.fixture
def timm_model() -> Callable[..., nn.Module]:
    """``timm_model(name, seed=0, image_size=224, **kwargs)``: a timm reference model with
    seeded weights calibrated at ``image_size``."""
    import timm  # a hard dependency: a missing timm must fail these tests, not skip them

    def build(name: str, seed: int = 0, image_size: int = 224, **kwargs: object) -> nn.Module:
        torch.manual_seed(seed)
        model = timm.create_model(name, pretrained=False, **kwargs)
        return _randomize(model, seed, image_size)

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

    import mixbench.verify.run as verify_module

    real_resolve = verify_module.resolve_model

    def install(convert: Callable[..., dict[str, torch.Tensor]]) -> None:
        def resolve(*args: Any, **kwargs: Any) -> Any:
            resolved = real_resolve(*args, **kwargs)
            if resolved.family.native_to_timm is None:
                return resolved
            return replace(resolved, family=replace(resolved.family, native_to_timm=convert))

        monkeypatch.setattr(verify_module, "resolve_model", resolve)

    return install
