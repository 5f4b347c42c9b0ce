"""The timm model family: names timm knows, its pretrained_cfg as eval defaults, meta builds."""

from __future__ import annotations

import pytest
import torch

from mixbench.errors import InputError, ModelBuildError
from mixbench.models import create_model, timm_config
from mixbench.models.factory import resolve_config


def _a_deprecated_name() -> tuple[str, str]:
    """A deprecated name with a tagged target, from the installed timm's table (it changes
    between the timm versions pyproject allows, so the test reads it, never a copy of it):
    ``gluon_resnet50_v1b`` → ``resnet50.gluon_in1k`` where timm still has that entry."""
    from timm.models import get_deprecated_models

    table = {old: new for old, new in get_deprecated_models().items() if new and "." in new}
    assert table, "timm >= 1.0 maps its old names to tagged models"
    name = "gluon_resnet50_v1b" if "gluon_resnet50_v1b" in table else sorted(table)[0]
    return name, table[name]


def test_a_deprecated_name_maps_to_todays_architecture_and_tag():
    name, target = _a_deprecated_name()
    architecture, _, tag = target.partition(".")
    config = timm_config(name)
    assert config is not None
    assert (config.name, config.architecture, config.tag) == (name, architecture, tag)
    assert config.timm_name == target
    assert config.deprecated_for == target


def test_an_unknown_name_is_not_claimed_and_create_model_says_so():
    assert timm_config("no_such_net_v9") is None
    with pytest.raises(InputError, match="unknown model 'no_such_net_v9'") as info:
        create_model("no_such_net_v9")
    assert info.value.hint and "mixnet_s" in info.value.hint


def test_a_native_preset_resolves_to_the_native_family():
    # timm has a mixnet_s too: the registry's order makes the native preset win
    assert resolve_config("mixnet_s")[0].name == "mixnet"
    assert resolve_config("resnet18")[0].name == "timm"


def test_eval_config_comes_from_the_tags_pretrained_cfg():
    from timm.models import get_pretrained_cfg

    for name in ("resnet18", "resnet18.tv_in1k"):
        config = timm_config(name)
        assert config is not None
        cfg = get_pretrained_cfg(config.timm_name).to_dict()
        assert config.eval.interpolation == cfg["interpolation"]
        assert config.eval.crop_pct == cfg["crop_pct"]
        assert config.eval.input_size == tuple(cfg["input_size"])
    # torchvision's weights, as timm publishes them: bilinear, crop 0.875
    tv = timm_config("resnet18.tv_in1k")
    assert tv is not None and (tv.eval.interpolation, tv.eval.crop_pct) == ("bilinear", 0.875)


def test_an_unknown_pretrained_tag_is_bad_input():
    with pytest.raises(InputError, match="no pretrained tag 'no_such_tag' for resnet18"):
        timm_config("resnet18.no_such_tag")


def test_building_on_the_meta_device_allocates_nothing():
    with torch.device("meta"):
        model = create_model("resnet18")
    tensors = [*model.parameters(), *model.buffers()]
    assert tensors and all(tensor.is_meta for tensor in tensors)
    assert model.config.timm_name == model.config.architecture + "." + model.config.tag
    assert model.eval_config.num_classes == 1000


def test_num_classes_reaches_the_model():
    with torch.device("meta"):
        model = create_model("resnet18", num_classes=7)
    assert model.fc.out_features == 7
    assert model.eval_config.num_classes == 7


def test_a_model_timm_refuses_to_build_is_a_build_error():
    with (
        pytest.raises(ModelBuildError, match="timm cannot build resnet18: TypeError"),
        torch.device("meta"),
    ):
        create_model("resnet18", no_such_argument=1)
