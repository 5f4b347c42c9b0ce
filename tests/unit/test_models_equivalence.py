"""The native MixNet against timm: keys, parameter counts, logits, feature maps."""

from __future__ import annotations

import pytest
import torch

from mixbench.models import (
    create_model,
    list_presets,
    load_config,
    native_to_timm,
    pointwise_groups,
    timm_to_native,
)

PRESETS = [
    "mixnet_s",
    "mixnet_m",
    "mixnet_l",
    "mixnet_xl",
    "tf_mixnet_s",
    "tf_mixnet_m",
    "tf_mixnet_l",
]
PARAMS = {
    "mixnet_s": 4_134_606,
    "mixnet_m": 5_014_382,
    "mixnet_l": 7_329_252,
    "mixnet_xl": 11_896_768,
}
PARAMS.update({f"tf_{name}": PARAMS[name] for name in ("mixnet_s", "mixnet_m", "mixnet_l")})
TOLERANCE = 1e-5


def test_presets_listed():
    assert list_presets() == sorted(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.slow
def test_preset_matches_timm(name, timm_model, max_rel_diff):
    reference = timm_model(name)
    ours = create_model(name).eval()

    # parameter count, both against the published figure and timm's own model
    count = sum(p.numel() for p in ours.parameters())
    assert count == PARAMS[name] == sum(p.numel() for p in reference.parameters())

    # timm → native loads strictly
    ours.load_state_dict(timm_to_native(reference.state_dict()), strict=True)
    # native → timm loads strictly, with either source of group counts, and round-trips
    back = native_to_timm(ours.state_dict(), ours)
    assert back.keys() == reference.state_dict().keys()
    assert native_to_timm(ours.state_dict(), load_config(name)).keys() == back.keys()
    reference.load_state_dict(back, strict=True)
    for key, value in reference.state_dict().items():
        assert torch.equal(value, back[key]), key

    torch.manual_seed(1)
    for size in (224, 197):  # 197: odd, so TF "SAME" padding is asymmetric at every stride
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            expected = reference(x)
            actual = ours(x)
        assert actual.shape == (2, 1000)
        assert max_rel_diff(actual, expected) <= TOLERANCE, (name, size)
        # the logits follow the input, so a wrong layer would show (seeded weights)
        spread = (expected[0] - expected[1]).abs().max() / expected.abs().max()
        assert spread > 1e-2, (name, size)


def test_float64_is_bit_exact(timm_model):
    # in float64 the rounding noise of grouped-vs-split convs vanishes: same arithmetic
    reference = timm_model("tf_mixnet_s").double()
    ours = create_model("tf_mixnet_s").eval().double()
    ours.load_state_dict(timm_to_native(reference.state_dict()))
    x = torch.randn(1, 3, 161, 161, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), rtol=0, atol=1e-12)


def test_grouped_keys_are_the_only_mapping(timm_model):
    reference = timm_model("mixnet_s")
    ours = create_model("mixnet_s")
    timm_keys, native_keys = set(reference.state_dict()), set(ours.state_dict())
    groups = pointwise_groups(ours)
    assert groups == pointwise_groups(load_config("mixnet_s"))
    assert groups["blocks.1.0.conv_pw"] == 2 and groups["blocks.3.0.conv_pwl"] == 2
    assert "blocks.3.0.conv_pw" not in groups  # the 80-channel s2 block: 1 expansion group
    merged = {f"{prefix}.weight" for prefix in groups}
    split = {f"{prefix}.{i}.weight" for prefix, g in groups.items() for i in range(g)}
    assert native_keys - timm_keys == merged
    assert timm_keys - native_keys == split
    # a native state dict passes through timm_to_native unchanged
    assert timm_to_native(ours.state_dict()).keys() == ours.state_dict().keys()


@pytest.mark.parametrize("name", PRESETS)
def test_eval_config_matches_timm_pretrained_cfg(name):
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    model = create_model(name)
    ours = model.eval_config
    assert ours.hf_hub_id == cfg.hf_hub_id
    assert ours.input_size == tuple(cfg.input_size)
    assert ours.image_size == 224
    assert ours.crop_pct == cfg.crop_pct
    assert ours.interpolation == cfg.interpolation
    assert ours.mean == pytest.approx(cfg.mean)
    assert ours.std == pytest.approx(cfg.std)
    assert ours.num_classes == cfg.num_classes == 1000
    assert model.pretrained_cfg["hf_hub_id"] == cfg.hf_hub_id == model.default_cfg["hf_hub_id"]


@pytest.mark.parametrize(
    ("name", "out_indices"), [("mixnet_m", None), ("tf_mixnet_s", (1, 3)), ("mixnet_s", (-1,))]
)
def test_features_match_timm(name, out_indices, timm_model, max_rel_diff):
    kwargs = {} if out_indices is None else {"out_indices": out_indices}
    reference = timm_model(name, features_only=True, **kwargs)
    ours = create_model(name, features_only=True, **kwargs).eval()
    ours.load_state_dict(timm_to_native(reference.state_dict()), strict=True)
    assert ours.feature_info.channels() == reference.feature_info.channels()
    assert ours.feature_info.reduction() == reference.feature_info.reduction()
    x = torch.randn(1, 3, 199, 199)
    with torch.no_grad():
        expected, actual = reference(x), ours(x)
    assert len(actual) == len(expected) == len(ours.feature_info.channels())
    for a, b in zip(actual, expected, strict=True):
        assert a.shape == b.shape
        assert max_rel_diff(a, b) <= TOLERANCE


def test_feature_shapes_and_strides():
    model = create_model("mixnet_s", features_only=True).eval()
    assert model.feature_info.reduction() == [2, 4, 8, 16, 32]
    assert model.feature_info.channels() == [16, 24, 40, 120, 200]
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 224, 224))
    assert [tuple(m.shape[1:]) for m in maps] == [
        (16, 112, 112),
        (24, 56, 56),
        (40, 28, 28),
        (120, 14, 14),
        (200, 7, 7),
    ]
    last_two = create_model("mixnet_s", features_only=True, out_indices=2)
    assert last_two.feature_info.channels() == [120, 200]
    assert last_two.feature_info.channels(0) == 16  # by feature index, timm's convention


@pytest.mark.parametrize("name", ["mixnet_s", "tf_mixnet_s"])
def test_training_mode_matches_timm(name, timm_model, max_rel_diff):
    # batch statistics and running-stat updates (BN momentum) agree too
    reference = timm_model(name, image_size=64).train()
    ours = create_model(name).train()
    ours.load_state_dict(timm_to_native(reference.state_dict()))
    x = torch.randn(4, 3, 64, 64)
    assert max_rel_diff(ours(x), reference(x)) <= TOLERANCE
    ours_bn, ref_bn = ours.blocks[2][1].bn2, reference.blocks[2][1].bn2
    assert torch.allclose(ours_bn.running_var, ref_bn.running_var, rtol=1e-5)
    assert ours_bn.num_batches_tracked == ref_bn.num_batches_tracked == 1


def test_backward_with_regularisation():
    model = create_model("mixnet_s", drop_rate=0.2, drop_path_rate=0.2, num_classes=5).train()
    loss = torch.nn.functional.cross_entropy(model(torch.randn(2, 3, 64, 64)), torch.tensor([0, 4]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
