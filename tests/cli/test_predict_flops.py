"""`mixbench predict` and `mixbench flops`, against timm's own pipeline and counts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
import timm
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import save_file
from timm.data import create_transform, resolve_data_config

import mixbench
from mixbench.cli import cli
from mixbench.index.values import INTERPOLATIONS
from mixbench.measure.complexity import count_complexity
from mixbench.predict import predict_images
from mixbench.resolve import resolve_model


def _cmyk_jpeg(path):
    buffer = io.BytesIO()
    Image.new("CMYK", (333, 250), (10, 200, 30, 5)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Images of several modes and sizes, with structure so resizing matters."""
    folder = tmp_path_factory.mktemp("images")
    gradient = Image.linear_gradient("L").resize((640, 480))
    rgb = Image.merge(
        "RGB", (gradient, gradient.rotate(90), gradient.transpose(Image.FLIP_LEFT_RIGHT))
    )
    made = {
        "rgb.jpg": rgb,
        "gray.png": gradient.resize((100, 300)),
        "rgba.png": rgb.convert("RGBA").resize((257, 199)),
        "palette.gif": rgb.convert("P").resize((500, 200)),
        "tiny.png": rgb.resize((10, 13)),
    }
    paths = []
    for name, image in made.items():
        image.save(folder / name)
        paths.append(folder / name)
    _cmyk_jpeg(folder / "cmyk.jpg")
    paths.append(folder / "cmyk.jpg")
    return paths


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A timm mixnet_s with random weights and non-trivial BN statistics, as safetensors."""
    torch.manual_seed(0)
    model = timm.create_model("mixnet_s").eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("weights") / "mixnet_s.safetensors"
    save_file(model.state_dict(), str(path))
    return model, path


def test_predictions_equal_timms_pipeline(images, checkpoint):
    reference, weights = checkpoint
    transform = create_transform(**resolve_data_config({}, model=reference))
    resolved = resolve_model("mixnet_s", weights=weights)
    ours = predict_images(resolved.model, images, resolved.preprocessing, top_k=5)
    for path, prediction in zip(images, ours, strict=True):
        with Image.open(path) as image:
            tensor = transform(image.convert("RGB")).unsqueeze(0)
        with torch.no_grad():
            expected = reference(tensor).softmax(-1)[0]
        top = expected.topk(5)
        assert [s.index for s in prediction.top] == top.indices.tolist(), path.name
        assert [s.probability for s in prediction.top] == pytest.approx(
            top.values.tolist(), rel=1e-4
        )


def test_class_names_come_from_timm():
    from mixbench.predict import class_name

    assert class_name(258, 1000) == ("n02111889", "Samoyed, Samoyede")
    assert class_name(3, 10) == ("3", "class 3")


def test_predict_cli_json(images, checkpoint):
    _, weights = checkpoint
    result = CliRunner().invoke(
        cli,
        [
            "predict",
            "mixnet_s",
            str(images[0]),
            str(images[1]),
            "--weights",
            str(weights),
            "--top",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["preprocessing"] == {
        "image_size": 224, "crop_pct": 0.875, "interpolation": "bicubic",
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
    }  # fmt: skip
    assert [len(p["top"]) for p in data["predictions"]] == [3, 3]
    assert all(
        p["top"][0]["probability"] >= p["top"][1]["probability"] for p in data["predictions"]
    )


def test_predict_table_and_random_weights_warning(images):
    result = CliRunner().invoke(cli, ["predict", "tf_mixnet_s", str(images[2])])
    assert result.exit_code == 0
    assert "randomly initialised" in result.output and "probability" in result.output


def test_predict_bad_image_is_one_line_error(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    result = CliRunner().invoke(cli, ["predict", "mixnet_s", str(bad)])
    assert result.exit_code == 2
    assert result.output.splitlines()[-2].startswith(f"error: {bad}: cannot read image")
    assert "Traceback" not in result.output


def test_predict_unknown_model():
    result = CliRunner().invoke(cli, ["predict", "mixnet_q", "x.jpg"])
    assert result.exit_code == 2 and "unknown model 'mixnet_q'" in result.output


@pytest.mark.slow
def test_predict_pretrained_offline_says_what_to_download(tmp_path, images):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path),
        "HF_HUB_CACHE": str(tmp_path / "hub"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mixbench", "predict", "mixnet_xl", str(images[0]), "--pretrained"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "timm/mixnet_xl.ra_in1k" in proc.stderr and "weights" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_flops_json_matches_fvcore_on_timm():
    result = CliRunner().invoke(cli, ["flops", "mixnet_s", "tf_mixnet_s", "--json"])
    assert result.exit_code == 1, result.output  # the cards fail, as verify says (exit 1)
    ours, tf = json.loads(result.output)
    reference = count_complexity(timm.create_model("mixnet_s"))
    assert ours["params"] == 4134606
    assert ours["macs"] == reference.macs and ours["flops"] == 2 * reference.macs
    assert ours["activations"] == reference.activations
    assert ours["published_flops"] == 321264910
    # the card counts an uncropped 224×285 photo the 2021 way, not the 224×224 model input
    assert ours["verdict"] == "fail" and ours["convention"] == "thop_2021"
    assert (ours["input_height"], ours["input_width"]) == (224, 285)
    assert ours["count_at_card_size"] == ours["measured"] == 250_209_422
    assert ours["reason"] == (
        "the card's 321,264,910 is thop-2021 MACs of a 224×285 input (an uncropped photo), "
        "not of the 224×224 model input: at 224×224 the same rule counts 250,209,422, so the "
        "card overstates the model's cost at its resolution 1.28×; "
        "fvcore: 251,736,960 MACs (503,473,920 FLOPs)"
    )
    assert ours["ratios"]["fvcore_macs"] == pytest.approx(1.276, abs=1e-3)
    assert tf["macs"] == ours["macs"] and tf["published_flops"] == 302587678
    assert tf["verdict"] == "fail" and tf["counts"]["224x285"]["thop_2021"] == 302587678


@pytest.mark.slow
def test_flops_explains_a_card_counted_as_two_macs(tmp_path):
    macs = count_complexity(mixbench.create_model("mixnet_s")).macs
    card = tmp_path / "i.yml"
    card.write_text(f"Models:\n- Name: mixnet_s\n  Metadata: {{FLOPs: {2 * macs}}}\n")
    result = CliRunner().invoke(cli, ["flops", "mixnet_s", "--index", str(card), "--json"])
    assert result.exit_code == 0  # reproduced at the card's size: a pass
    [finding] = json.loads(result.output)
    assert (finding["verdict"], finding["convention"]) == ("pass", "fvcore_flops")
    assert (finding["input_height"], finding["input_width"]) == (224, 224)


def test_flops_of_a_yaml_config_has_no_card(model_data):
    result = CliRunner().invoke(
        cli, ["flops", str(model_data / "netspresso_mixnet_s.yaml"), "--json"]
    )
    assert result.exit_code == 0, result.output
    [check] = json.loads(result.output)
    assert check["published_flops"] is None and check["macs"] > 0
    assert check["verdict"] == "info" and check["counts"]["224x224"]["thop_2021"] > 0


@pytest.mark.slow
def test_flops_table_lists_every_card():
    result = CliRunner().invoke(cli, ["flops"])
    assert result.exit_code == 1  # every card's FLOPs fail: the same exit as verify's
    assert "mixnet_xl" in result.output and "tf_mixnet_l" in result.output
    assert "fail" in result.output and "thop-2021 MACs" in result.output
    assert "tf_mixnet_l: the card's 688,674,516 is thop-2021 MACs of a 224×285" in " ".join(
        result.output.split()
    )


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_every_interpolation_a_card_may_name_can_be_applied(interpolation):
    """The index once accepted 'area'/'random', which no eval transform can apply."""
    from mixbench.data import Preprocessing

    transform = Preprocessing(image_size=32, interpolation=interpolation).transform()
    assert transform(Image.new("RGB", (50, 40))).shape == (3, 32, 32)
