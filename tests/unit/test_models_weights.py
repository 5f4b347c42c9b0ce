"""Checkpoints: file forms, timm/native layouts, the offline Hugging Face cache, head swaps."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import warnings

import pytest
import torch
from hub_cache import cache_entry, closed_port
from safetensors.torch import save_file

from mixbench.errors import InputError
from mixbench.models import create_model, read_checkpoint
from mixbench.models.weights import download_pretrained, hub_unreachable


class NotATensor:
    """A custom class: torch.load(weights_only=True) must refuse to unpickle it."""


@pytest.fixture
def timm_s(timm_model):
    return timm_model("mixnet_s", seed=3)


def _logits(model, size=96):
    torch.manual_seed(7)
    with torch.no_grad():
        return model.eval()(torch.randn(2, 3, size, size))


def _assert_same_logits(ours, reference, max_rel_diff):
    assert max_rel_diff(_logits(ours), _logits(reference)) <= 1e-5


# ----------------------------------------------------------------------------- file forms


def test_safetensors_with_timm_keys(tmp_path, timm_s, max_rel_diff):
    path = tmp_path / "mixnet_s.safetensors"
    save_file(timm_s.state_dict(), str(path))
    _assert_same_logits(create_model("mixnet_s", weights=path), timm_s, max_rel_diff)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: sd,
        lambda sd: {"state_dict": sd, "epoch": 3, "arch": "mixnet_s"},
        lambda sd: {"model": sd, "optimizer": {"lr": 0.1}},
        lambda sd: {
            "state_dict": {k: torch.zeros_like(v) for k, v in sd.items()},
            "state_dict_ema": sd,
        },  # EMA preferred, as timm does
        lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}},  # DDP
        lambda sd: {f"_orig_mod.module.{k}": v for k, v in sd.items()},  # torch.compile + DDP
    ],
    ids=["bare", "state_dict", "model", "ema", "ddp", "compiled"],
)
@pytest.mark.slow
def test_pth_forms(wrap, tmp_path, timm_s, max_rel_diff):
    path = tmp_path / "checkpoint.pth"
    torch.save(wrap(timm_s.state_dict()), path)
    _assert_same_logits(create_model("mixnet_s", weights=path), timm_s, max_rel_diff)


def test_native_layout_and_bin_suffix(tmp_path, timm_s, max_rel_diff):
    ours = create_model("mixnet_s", weights=_saved(tmp_path, timm_s))
    path = tmp_path / "native.bin"
    torch.save(ours.state_dict(), path)
    _assert_same_logits(create_model("mixnet_s", weights=path), timm_s, max_rel_diff)


def _saved(tmp_path, model, name="w.safetensors"):
    path = tmp_path / name
    save_file(model.state_dict(), str(path))
    return path


def test_refused_pickle(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "extra": NotATensor()}, path)
    with pytest.raises(InputError, match=r"evil\.pth: refused: .*arbitrary code") as info:
        read_checkpoint(path)
    assert "safetensors" in info.value.hint


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("junk.pth", b"definitely not a checkpoint", "not a readable PyTorch checkpoint"),
        ("junk.safetensors", b"\x00" * 16, "not a readable safetensors file"),
        ("weights.npz", b"", "unsupported weights file type '.npz'"),
    ],
)
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        create_model("mixnet_s", weights=path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such weights file"):
        create_model("mixnet_s", weights=tmp_path / "absent.safetensors")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([torch.zeros(1)], "holds a list, not a state dict"),
        ({"state_dict": {"w": 1.5}}, "entry 'w' is a float, not a tensor"),
        ({}, "the state dict is empty"),
    ],
)
def test_not_a_state_dict(tmp_path, payload, message):
    path = tmp_path / "odd.pt"
    torch.save(payload, path)
    with pytest.raises(InputError, match=message):
        create_model("mixnet_s", weights=path)


def test_mismatched_checkpoint_names_keys_and_shapes(tmp_path, timm_s):
    path = _saved(tmp_path, timm_s, "mixnet_s.safetensors")
    with pytest.raises(InputError) as info:
        create_model("mixnet_m", weights=path)
    message = str(info.value)
    assert message.startswith(f"{path} does not fit mixnet_m (")
    assert (
        "missing blocks." in message
        and "shape conv_stem.weight: checkpoint [16, 3, 3, 3] vs model [24, 3, 3, 3]" in message
    )
    assert "\n" not in message and "preset" in info.value.hint


def test_old_checkpoint_without_bn_counters(tmp_path, timm_s, max_rel_diff):
    state = {k: v for k, v in timm_s.state_dict().items() if "num_batches_tracked" not in k}
    path = tmp_path / "old.pth"
    torch.save(state, path)
    _assert_same_logits(create_model("mixnet_s", weights=path), timm_s, max_rel_diff)


# ----------------------------------------------------------------------------- heads


def test_fine_tuning_head_swap(tmp_path, timm_s, max_rel_diff):
    path = _saved(tmp_path, timm_s)
    with pytest.warns(
        UserWarning, match=r"new 10-class classifier \(checkpoint has 1000 classes\)"
    ):
        model = create_model("mixnet_s", weights=path, num_classes=10).eval()
    assert model.classifier.weight.shape == (10, 1536)
    assert model.eval_config.num_classes == 10
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert max_rel_diff(model.forward_features(x), timm_s.forward_features(x)) <= 1e-5
        assert model(x).shape == (1, 10)
    # a fine-tuned checkpoint brings its head size along, no notice needed
    tuned = tmp_path / "tuned.safetensors"
    save_file(model.state_dict(), str(tuned))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = create_model("mixnet_s", weights=tuned).eval()
    assert again.num_classes == 10
    with torch.no_grad():
        assert torch.equal(again(x), model(x))


def test_headless_classifier(tmp_path, timm_s, max_rel_diff):
    with pytest.warns(UserWarning, match="new 0-class classifier"):
        model = create_model("mixnet_s", weights=_saved(tmp_path, timm_s), num_classes=0)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = timm_s.forward_head(timm_s.forward_features(x), pre_logits=True)
        assert max_rel_diff(model.eval()(x), expected) <= 1e-5


@pytest.mark.slow
def test_features_only_with_weights(tmp_path, timm_model, max_rel_diff):
    reference = timm_model("tf_mixnet_s", seed=4)
    features = timm_model("tf_mixnet_s", seed=4, features_only=True, out_indices=(0, 2, 4))
    features.load_state_dict(
        {k: v for k, v in reference.state_dict().items() if k in features.state_dict()}
    )
    ours = create_model(
        "tf_mixnet_s",
        weights=_saved(tmp_path, reference),
        features_only=True,
        out_indices=(0, 2, 4),
    ).eval()
    x = torch.randn(1, 3, 75, 75)
    with torch.no_grad():
        for a, b in zip(ours(x), features(x), strict=True):
            assert max_rel_diff(a, b) <= 1e-5


def test_argument_errors():
    with pytest.raises(InputError, match="not both"):
        create_model("mixnet_s", pretrained=True, weights="x.safetensors")
    with pytest.raises(InputError, match="out_indices needs features_only"):
        create_model("mixnet_s", out_indices=(1, 2))
    with pytest.raises(InputError, match="no effect with features_only"):
        create_model("mixnet_s", features_only=True, num_classes=3)
    with pytest.raises(InputError, match=r"out_indices=\[1, 7\]: 7 is not a valid index"):
        create_model("mixnet_s", features_only=True, out_indices=(1, 7))


def test_pretrained_needs_hub_id(model_data):
    with pytest.raises(InputError, match=r"no default weights \(model\.pretrained\.hf_hub_id\)"):
        create_model(model_data / "netspresso_mixnet_s.yaml", pretrained=True)


# ----------------------------------------------------------------------------- HF cache


def test_pretrained_from_offline_cache(offline_hub, timm_s, max_rel_diff):
    cache_entry(offline_hub, "timm/mixnet_s.ft_in1k", "model.safetensors", timm_s.state_dict())
    _assert_same_logits(create_model("mixnet_s", pretrained=True), timm_s, max_rel_diff)


def test_pretrained_falls_back_to_pytorch_model_bin(offline_hub, timm_model, max_rel_diff):
    reference = timm_model("tf_mixnet_s", seed=5)
    cache_entry(offline_hub, "timm/tf_mixnet_s.in1k", "pytorch_model.bin", reference.state_dict())
    _assert_same_logits(create_model("tf_mixnet_s", pretrained=True), reference, max_rel_diff)


def test_pretrained_missing_offline(offline_hub):
    with pytest.raises(InputError) as info:
        create_model("mixnet_m", pretrained=True)
    message, hint = str(info.value), info.value.hint
    assert message.startswith(
        "pretrained weights timm/mixnet_m.ft_in1k are not in the Hugging Face cache"
    )
    assert "(HF_HUB_OFFLINE is set)" in message
    assert "https://huggingface.co/timm/mixnet_m.ft_in1k/resolve/main/model.safetensors" in hint
    assert "weights=PATH" in hint
    assert "\n" not in message and "\n" not in hint


SUBPROCESS = """
import json, sys, torch
from mixbench.errors import InputError
from mixbench.models import create_model
model = create_model("mixnet_s", pretrained=True).eval()
torch.manual_seed(0)
with torch.no_grad():
    logits = model(torch.randn(1, 3, 64, 64))
try:
    create_model("mixnet_l", pretrained=True)
    missing = None
except InputError as error:
    missing = error.message
print(json.dumps({"logits": logits[0, :5].tolist(), "missing": missing}))
"""


@pytest.mark.slow
def test_pretrained_offline_env_only(tmp_path, timm_s):
    """The user's path: only environment variables, set before huggingface_hub is imported."""
    home = tmp_path / "hf"
    cache_entry(home / "hub", "timm/mixnet_s.ft_in1k", "model.safetensors", timm_s.state_dict())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(HF_HOME=str(home), HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-c", SUBPROCESS], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    torch.manual_seed(0)
    with torch.no_grad():
        expected = timm_s(torch.randn(1, 3, 64, 64))[0, :5]
    assert torch.allclose(torch.tensor(result["logits"]), expected, rtol=1e-4, atol=1e-5)
    assert "timm/mixnet_l.ft_in1k" in result["missing"]


# ----------------------------------------------------------------------------- no network

PROXY_VARIABLES = [
    case(name)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for case in (str.lower, str.upper)
]


@pytest.fixture
def no_network(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline mode off, and the hub's endpoint a closed loopback
    port: what having no network looks like, deterministically and without leaving the host."""
    from huggingface_hub import constants

    home = tmp_path / "hf"
    cache = home / "hub"
    cache.mkdir(parents=True)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    return cache


@pytest.fixture
def listener():
    """A loopback socket that takes connections (never answering): a reachable 'hub'."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.3)
        yield server


def _url(server: socket.socket) -> str:
    return f"http://127.0.0.1:{server.getsockname()[1]}"


def test_pretrained_without_network_fails_fast(no_network):
    # mixbench's probe answered (its message), not huggingface_hub's 25 s of retries; the
    # time it takes is benchmarks/responsiveness.py's
    with pytest.raises(InputError) as info:
        create_model("mixnet_m", pretrained=True)
    message, hint = info.value.message, info.value.hint or ""
    assert message.startswith(
        "pretrained weights timm/mixnet_m.ft_in1k are not in the Hugging Face cache and the "
        "Hugging Face hub is unreachable (offline? 127.0.0.1:"
    )
    assert "HF_HUB_OFFLINE=1" in hint and "--weights PATH" in hint
    assert "https://huggingface.co/timm/mixnet_m.ft_in1k/resolve/main/model.safetensors" in hint
    assert "\n" not in message and "\n" not in hint


def test_pretrained_from_cache_without_network(no_network, timm_s, max_rel_diff):
    cache_entry(no_network, "timm/mixnet_s.ft_in1k", "model.safetensors", timm_s.state_dict())
    model = create_model("mixnet_s", pretrained=True)
    _assert_same_logits(model, timm_s, max_rel_diff)


def test_offline_set_after_import_never_connects(no_network, listener, monkeypatch):
    """HF_HUB_OFFLINE=1 in the environment is obeyed even when huggingface_hub was imported
    before it was set: not even the reachability probe connects."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", _url(listener))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match=r"\(HF_HUB_OFFLINE is set\)") as info:
        download_pretrained("timm/mixnet_m.ft_in1k")
    assert "unset HF_HUB_OFFLINE" in (info.value.hint or "")
    with pytest.raises(TimeoutError):
        listener.accept()  # nobody knocked


def test_reachable_hub_is_asked(no_network, listener, monkeypatch):
    from huggingface_hub import constants

    import mixbench.models.weights as weights

    monkeypatch.setattr(constants, "ENDPOINT", _url(listener))
    asked: list[str] = []
    monkeypatch.setattr(weights, "_download_from_hub", lambda hub_id: asked.append(hub_id))
    download_pretrained("timm/mixnet_m.ft_in1k")
    assert asked == ["timm/mixnet_m.ft_in1k"]


def test_hub_probe(listener, monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    closed = f"http://127.0.0.1:{closed_port()}"
    assert hub_unreachable(_url(listener)) is None
    problem = hub_unreachable(closed)
    assert problem is not None and problem.startswith(f"{closed.removeprefix('http://')}: ")
    assert "ConnectionRefusedError" in problem
    # a proxy, when one applies, is what must answer; NO_PROXY sends it direct again
    monkeypatch.setenv("HTTP_PROXY", _url(listener))
    assert hub_unreachable(closed) is None
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert hub_unreachable(closed) is not None


def test_hub_probe_is_bounded_when_connecting_hangs(monkeypatch):
    """A lookup or connect that hangs (a firewall dropping packets, a dead DNS server) costs
    the probe's timeout, not the network stack's."""
    release = threading.Event()

    def hang(*args: object, **kwargs: object) -> socket.socket:
        release.wait(30)
        raise OSError("released")

    monkeypatch.setattr(socket, "create_connection", hang)
    try:
        problem = hub_unreachable("https://hub.invalid", timeout=0.2)
    finally:
        release.set()
    # answered by the probe's own timeout while the connect still hung (not "released")
    assert problem == "hub.invalid:443: no answer within 0.2 s"


@pytest.mark.slow
def test_pretrained_without_network_env_only(tmp_path):
    """The user's path: a fresh process, the endpoint unreachable, no offline flag."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env = {k: v for k, v in env.items() if k not in PROXY_VARIABLES}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    code = (
        "from mixbench.errors import InputError\n"
        "from mixbench.models.weights import download_pretrained\n"
        "try:\n"
        "    download_pretrained('timm/mixnet_m.ft_in1k')\n"
        "except InputError as error:\n"
        "    print(error.message, '|', error.hint)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rest = done.stdout.strip()
    assert "hub is unreachable (offline? 127.0.0.1:" in rest and "HF_HUB_OFFLINE=1" in rest
