"""mixbench.optimize: the inference-optimised MixNet gives the unoptimised model's outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.models import create_model, list_presets
from mixbench.models.layers import MixConv
from mixbench.models.optimize import dense_pointwise, merge_mixconv, optimize

PRESETS = list_presets()


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.slow
def test_optimized_equals_unoptimized(name, randomize, max_rel_diff):
    torch.manual_seed(0)
    model = randomize(create_model(name))
    images = torch.randn(2, 3, 197, 211)  # odd sizes: TF "SAME" padding is input-dependent
    with torch.no_grad():
        reference = model(images)
        for choice in ("always", "never"):
            fast = optimize(model, mixconv=choice, grouped_pointwise=choice)
            assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
            assert any(isinstance(m, MixConv) for m in fast.modules()) == (choice == "never")
            out = fast(images.contiguous(memory_format=torch.channels_last))
            assert max_rel_diff(out, reference) <= 1e-4, choice


def test_measured_choice_is_equivalent_too(randomize, max_rel_diff):
    torch.manual_seed(1)
    model = randomize(create_model("mixnet_s"))
    images = torch.randn(1, 3, 160, 160)
    fast = optimize(model, mixconv="measure", grouped_pointwise="measure", example_input=images)
    with torch.no_grad():
        assert max_rel_diff(fast(images), model(images)) <= 1e-4


def test_original_model_is_untouched(randomize):
    model = randomize(create_model("mixnet_s"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimize(model, mixconv="always")
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("padding", ["symmetric", "same"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [14, 15])
def test_zero_padded_kernels_are_exact(padding, stride, size):
    torch.manual_seed(stride * 100 + size)
    mix = MixConv(12, [3, 5, 7, 9], stride=stride, padding=padding).double()
    images = torch.randn(2, 12, size, size, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(merge_mixconv(mix)(images), mix(images), rtol=0, atol=1e-12)


def test_block_diagonal_pointwise_is_exact():
    torch.manual_seed(0)
    grouped = nn.Conv2d(12, 8, 1, groups=2, bias=True).double()
    images = torch.randn(3, 12, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(dense_pointwise(grouped)(images), grouped(images), atol=1e-12)


def test_bfloat16_is_close(randomize):
    torch.manual_seed(2)
    model = randomize(create_model("mixnet_s"), image_size=128)
    images = torch.randn(2, 3, 128, 128)
    fast = optimize(model, dtype=torch.bfloat16)
    with torch.no_grad():
        reference = model(images)
        out = fast(images.to(torch.bfloat16)).float()
    # bfloat16 keeps 8 bits of mantissa: the classes must still agree at the top
    assert out.argmax(1).tolist() == reference.argmax(1).tolist()
    assert torch.corrcoef(torch.stack([out.flatten(), reference.flatten()]))[0, 1] > 0.99


def test_cuda_graphs_need_a_gpu():
    with pytest.raises(InputError, match="CUDA device"):
        optimize(create_model("mixnet_s"), cuda_graphs=True)


def test_top_level_api():
    import mixbench

    fast = mixbench.optimize(mixbench.create_model("mixnet_s"), device="cpu")
    assert fast(torch.randn(1, 3, 64, 64)).shape == (1, 1000)
