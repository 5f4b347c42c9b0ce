"""mixbench.measure.speed.traffic: bytes moved per layer, per image, and the bandwidth they imply."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest
import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.measure.speed.traffic import (
    PEAK_BANDWIDTH_GBPS,
    ROOT_LAYER,
    LayerTraffic,
    Traffic,
    copy_bandwidth,
    count_traffic,
    spec_bandwidth,
)
from mixbench.models import create_model
from mixbench.models.optimize import optimize

SIZE = 64  # small images keep the MixNet passes fast; the counting is size-independent


class Apply(nn.Module):
    """Runs ``fn`` as its forward: lets a test count exactly the ops it names."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def _conv_relu(dtype: torch.dtype = torch.float32) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 1, bias=False), nn.ReLU(inplace=True)).to(dtype).eval()


@pytest.fixture(scope="module")
def mixnet_s() -> nn.Module:
    torch.manual_seed(0)
    return create_model("mixnet_s").eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))


def test_conv_relu_by_hand():
    traffic = count_traffic(_conv_relu(), torch.randn(2, 3, 4, 4))
    x, y, w = 2 * 3 * 16 * 4, 2 * 8 * 16 * 4, 8 * 3 * 4  # input, output, weight bytes
    assert traffic.layers == (
        LayerTraffic("0", activation_reads=x, activation_writes=y, weight_reads=w, ops=1),
        # in place: the output is the input, read once and written once
        LayerTraffic("1", activation_reads=y, activation_writes=y, weight_reads=0, ops=1),
    )
    assert traffic.batch_size == 2
    assert traffic.dtype == "float32"
    assert traffic.weight_bytes == w
    assert traffic.activation_bytes_per_image == (x + y + 2 * y) / 2


def test_float64_doubles_every_byte():
    single = count_traffic(_conv_relu(), torch.randn(2, 3, 4, 4))
    double = count_traffic(_conv_relu(torch.float64), torch.randn(2, 3, 4, 4, dtype=torch.float64))
    assert double.dtype == "float64"
    for one, two in zip(single.layers, double.layers, strict=True):
        assert two.activation_reads == 2 * one.activation_reads
        assert two.activation_writes == 2 * one.activation_writes
        assert two.weight_reads == 2 * one.weight_reads


def test_views_move_nothing():
    def views(x: torch.Tensor) -> torch.Tensor:
        parts = x.view(2, 4, 8).transpose(1, 2).split(2, dim=1)
        return parts[0].expand(3, 2, 2, 4).permute(3, 2, 1, 0)[:1].squeeze(0)

    traffic = count_traffic(Apply(views), torch.randn(2, 32))
    assert traffic.layers == ()
    assert traffic.ops == 0


def test_cat_reads_its_inputs_and_writes_its_output():
    def cat(x: torch.Tensor) -> torch.Tensor:
        return torch.cat(x.split([1, 3], dim=1), dim=1)  # the split itself is free

    traffic = count_traffic(Apply(cat), torch.randn(2, 4, 5))
    assert traffic.layers == (
        LayerTraffic(
            ROOT_LAYER, activation_reads=160, activation_writes=160, weight_reads=0, ops=1
        ),
    )


def test_reshape_copy_counts_the_copy_only():
    # reshape of a non-contiguous tensor is clone + _unsafe_view; the latter is an alias
    traffic = count_traffic(Apply(lambda x: x.t().reshape(-1)), torch.randn(4, 8))
    assert (traffic.ops, traffic.activation_bytes) == (1, 2 * 128)


def test_broadcast_input_is_read_once():
    # the expanded (stride-0) input addresses 8 floats, however large the copy
    traffic = count_traffic(Apply(lambda x: x.expand(3, 8).contiguous()), torch.randn(1, 8))
    layer = traffic.layers[0]
    assert (layer.activation_reads, layer.activation_writes) == (32, 96)


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (1, {"conv_stem", "bn1", "blocks", "conv_head", "bn2", "classifier"}),
        (2, {"conv_stem", "bn1", "bn1.act", "blocks.0", "blocks.5", "bn2.act", "classifier"}),
    ],
)
def test_mixnet_layers_at_depth(mixnet_s, images, depth, expected):
    traffic = count_traffic(mixnet_s, images, depth=depth)
    names = [layer.name for layer in traffic.layers]
    assert len(names) == len(set(names))
    assert expected <= set(names)
    assert all(name == ROOT_LAYER or name.count(".") < depth for name in names)
    assert names[0] == "conv_stem"  # first-seen order
    assert all(layer.ops > 0 for layer in traffic.layers)
    total = sum(layer.total for layer in traffic.layers)
    assert total == traffic.activation_bytes + traffic.weight_bytes == traffic.total_bytes
    # every parameter and BN statistic is read once per pass (num_batches_tracked is not)
    tensors = (*mixnet_s.parameters(), *mixnet_s.buffers())
    weights = sum(t.numel() * t.element_size() for t in tensors if t.is_floating_point())
    assert traffic.weight_bytes == weights


def test_depth_only_regroups(mixnet_s, images):
    shallow, deep = (count_traffic(mixnet_s, images, depth=d) for d in (1, 3))
    assert len(deep.layers) > len(shallow.layers)
    assert deep.total_bytes == shallow.total_bytes
    assert deep.ops == shallow.ops
    assert any(layer.name == "blocks.3.1" for layer in deep.layers)


def test_folded_batchnorm_moves_fewer_bytes(mixnet_s, images):
    fast = optimize(mixnet_s, example_input=images)
    plain = count_traffic(mixnet_s, images)
    folded = count_traffic(fast, images.contiguous(memory_format=torch.channels_last))
    assert folded.ops < plain.ops
    assert folded.activation_bytes_per_image < plain.activation_bytes_per_image


def test_native_and_timm_mixnet_agree_roughly(mixnet_s, images, timm_model):
    native = count_traffic(mixnet_s, images)
    reference = count_traffic(timm_model("mixnet_s"), images)
    assert 0.5 < native.activation_bytes_per_image / reference.activation_bytes_per_image < 2
    assert native.weight_bytes == reference.weight_bytes  # same parameters and BN statistics


def test_per_image_arithmetic():
    traffic = Traffic(
        batch_size=4,
        dtype="float32",
        layers=(
            LayerTraffic("a", activation_reads=300, activation_writes=100, weight_reads=50, ops=2),
            LayerTraffic("b", 200, 200, 30, 1, weight_writes=20),
        ),
    )
    assert traffic.activation_bytes_per_image == 200.0
    assert traffic.weight_bytes == 100
    assert traffic.bytes_per_image(1) == 300.0
    assert traffic.bytes_per_image(10) == 210.0
    assert traffic.achieved_bandwidth(1000.0, 10) == 210_000.0
    with pytest.raises(InputError):
        traffic.bytes_per_image(0)
    data = json.loads(json.dumps(traffic.to_dict()))
    assert data["bytes_per_image_at_batch_size"] == 225.0
    assert data["activation_bytes_per_image"] == 200.0
    assert data["weight_bytes"] == 100
    assert [layer["name"] for layer in data["layers"]] == ["a", "b"]
    assert data["layers"][1]["total"] == 450


def test_mixnet_to_dict_is_json(mixnet_s, images):
    data = json.loads(json.dumps(count_traffic(mixnet_s, images).to_dict()))
    assert data["batch_size"] == 2
    assert data["layers"][0]["name"] == "conv_stem"


def test_autocast_bfloat16_halves_activations():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()
    ).eval()
    images = torch.randn(2, 3, 16, 16)
    full = count_traffic(model, images)
    half = count_traffic(model, images, autocast_dtype=torch.bfloat16)
    assert half.dtype == "float32 (autocast bfloat16)"
    assert half.activation_bytes_per_image < full.activation_bytes_per_image
    # the weight casts are real traffic, per batch: fp32 read, bf16 written and read again
    assert half.weight_bytes == pytest.approx(2 * full.weight_bytes, rel=0.01)
    assert sum(layer.weight_writes for layer in half.layers) > 0


@pytest.mark.parametrize(
    ("name", "gbps"),
    [
        ("NVIDIA H100 80GB HBM3", 3350),
        ("NVIDIA H100 SXM5 80GB", 3350),
        ("NVIDIA H100 PCIe", 2000),
        ("NVIDIA H100 NVL", 3900),
        ("NVIDIA H200", 4800),
        ("NVIDIA A100-SXM4-80GB", 2039),
        ("NVIDIA A100-PCIE-40GB", 1555),
        ("NVIDIA A100-SXM4-40GB", 1555),
        ("NVIDIA A10", 600),
        ("NVIDIA L4", 300),
        ("Tesla T4", 320),
        ("Tesla V100-SXM2-16GB", 900),
        ("NVIDIA GeForce RTX 4090", 1008),
    ],
)
def test_spec_bandwidth(name, gbps):
    assert spec_bandwidth(name) == gbps * 1e9


@pytest.mark.parametrize(
    "name",
    [
        "NVIDIA L40S",  # not L4
        "NVIDIA GH200 480GB",  # not H200
        "NVIDIA H100",  # which H100 is unknown
        "Intel(R) Xeon(R) Platinum 8480+",
        "AMD EPYC 7763 64-Core Processor",
        "cpu",
        "",
    ],
)
def test_spec_bandwidth_unknown(name):
    assert spec_bandwidth(name) is None


def test_spec_table_keys_match_themselves():
    for key, gbps in PEAK_BANDWIDTH_GBPS.items():
        assert spec_bandwidth(f"NVIDIA {key}") == gbps * 1e9


def test_copy_bandwidth_on_cpu():
    bandwidth = copy_bandwidth("cpu", megabytes=8, repeats=3)
    assert bandwidth > 0
    assert math.isfinite(bandwidth)


def _hooks_left(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hooks_removed(mixnet_s, images):
    count_traffic(mixnet_s, images)
    assert _hooks_left(mixnet_s) == 0


def test_hooks_removed_when_forward_raises():
    def fail(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")

    model = nn.Sequential(nn.Conv2d(3, 4, 1), Apply(fail))
    with pytest.raises(RuntimeError, match="boom"):
        count_traffic(model, torch.randn(1, 3, 4, 4))
    assert _hooks_left(model) == 0


def test_wrapped_models_are_refused():
    compiled = torch.compile(_conv_relu())
    with pytest.raises(InputError, match=r"torch\.compile"):
        count_traffic(compiled, torch.randn(1, 3, 4, 4))


@pytest.mark.parametrize("depth", [0, -1])
def test_bad_depth(depth):
    with pytest.raises(InputError, match="depth"):
        count_traffic(_conv_relu(), torch.randn(1, 3, 4, 4), depth=depth)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_counts_as_cpu_and_copies_fast():
    images = torch.randn(2, 3, 4, 4)
    on_cpu = count_traffic(_conv_relu(), images)
    on_gpu = count_traffic(_conv_relu().cuda(), images.cuda())
    assert on_gpu.layers == on_cpu.layers
    assert math.isfinite(copy_bandwidth("cuda", megabytes=64, repeats=3))
