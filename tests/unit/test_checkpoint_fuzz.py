"""Malformed checkpoints: whatever the bytes, the only error is mixbench's InputError (exit 2)."""

from __future__ import annotations

import argparse
import io
import json
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as safetensors_bytes

from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.models import read_checkpoint, timm_to_native

TORCH_SUFFIXES = (".pth", ".pt", ".bin")
ALL_SUFFIXES = (*TORCH_SUFFIXES, ".safetensors")


class CustomConfig:
    """A class of the training script: unpickling it would run arbitrary code."""


def _torch_bytes(payload: object, *, legacy: bool = False) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer, _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


STATE = {"conv_stem.weight": torch.randn(4, 3, 3, 3), "bn1.running_var": torch.rand(4)}
ZIP_CHECKPOINT = _torch_bytes(STATE)
LEGACY_CHECKPOINT = _torch_bytes(STATE, legacy=True)
SAFETENSORS = safetensors_bytes(STATE)


def _safetensors_with_header(header: bytes, data: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header)) + header + data


def _read_error(path: Path) -> InputError:
    """The InputError reading ``path`` as a MixNet checkpoint in timm's layout raises (its
    grouped 1×1 convs merged), checked to be one line naming the file."""
    with pytest.raises(InputError) as caught:
        read_checkpoint(path, key_map=timm_to_native)
    error = caught.value
    assert error.message.startswith(str(path)), error.message
    assert "\n" not in error.message and error.hint and "\n" not in error.hint
    return error


# ----------------------------------------------------------------------------- named cases

MALFORMED_TORCH: dict[str, bytes] = {
    "empty": b"",
    "text": b"definitely not a checkpoint\n",
    "html": b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
    "lfs-pointer": b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 123\n",
    "half-zip": ZIP_CHECKPOINT[: len(ZIP_CHECKPOINT) // 2],
    "zip-looking": b"PK\x03\x04" + bytes(range(256)) * 2,
    "pickle-looking": b"\x80\x02" + bytes(range(255, -1, -1)),
    "pickle-cut": b"\x80\x02}q\x00X\x01",
    "half-legacy": LEGACY_CHECKPOINT[: len(LEGACY_CHECKPOINT) // 2],
    "random": bytes((i * 131 + 7) % 256 for i in range(3000)),
}


@pytest.mark.parametrize("suffix", TORCH_SUFFIXES)
@pytest.mark.parametrize("case", MALFORMED_TORCH)
def test_malformed_pytorch_files(tmp_path: Path, case: str, suffix: str) -> None:
    path = tmp_path / f"{case}{suffix}"
    path.write_bytes(MALFORMED_TORCH[case])
    error = _read_error(path)
    assert "not a readable PyTorch checkpoint" in error.message


@pytest.mark.parametrize(
    ("case", "content", "cause"),
    [
        ("empty", b"", "the file is empty"),
        ("text", b"hello\n", "it holds text"),
        ("lfs", MALFORMED_TORCH["lfs-pointer"], "Git LFS pointer"),
        ("pickle-cut", MALFORMED_TORCH["pickle-cut"], "(struct.error: "),
        ("half-zip", MALFORMED_TORCH["half-zip"], "(RuntimeError: PytorchStreamReader"),
    ],
)
def test_the_cause_is_named(tmp_path: Path, case: str, content: bytes, cause: str) -> None:
    path = tmp_path / f"{case}.pth"
    path.write_bytes(content)
    assert cause in _read_error(path).message


MALFORMED_SAFETENSORS: dict[str, bytes] = {
    "empty": b"",
    "short": b"\x01\x02",
    "huge-header-length": struct.pack("<Q", 10**15) + b"{}",
    "header-past-end": struct.pack("<Q", 100) + b"{}",
    "bad-json": _safetensors_with_header(b"{not json"),
    "json-list": _safetensors_with_header(b"[1, 2]"),
    "bad-dtype": _safetensors_with_header(
        json.dumps({"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}).encode(),
        b"\x00" * 4,
    ),
    "offsets-past-data": _safetensors_with_header(
        json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode(),
        b"\x00" * 4,
    ),
    "truncated-data": SAFETENSORS[:-7],
    "a-pytorch-file": ZIP_CHECKPOINT,
    "text": b"not safetensors at all\n",
}


@pytest.mark.parametrize("case", MALFORMED_SAFETENSORS)
def test_malformed_safetensors_files(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(MALFORMED_SAFETENSORS[case])
    assert "not a readable safetensors file" in _read_error(path).message


@pytest.mark.parametrize(
    "payload",
    [
        {"state_dict": {"w": torch.zeros(1)}, "args": argparse.Namespace(lr=0.1)},
        {"state_dict": {"w": torch.zeros(1)}, "config": CustomConfig()},
    ],
    ids=["argparse-namespace", "custom-class"],
)
def test_pickles_needing_code_are_refused_with_a_resave_hint(
    tmp_path: Path, payload: object
) -> None:
    path = tmp_path / "trainer.pth"
    path.write_bytes(_torch_bytes(payload))
    error = _read_error(path)
    assert "needs arbitrary code to load; mixbench will not run it: re-save as safetensors" in (
        error.message
    )
    assert "argparse.Namespace" in error.message or "CustomConfig" in error.message
    assert "safetensors.torch.save_file(state_dict" in (error.hint or "")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (torch.zeros(3), "holds a Tensor, not a state dict"),
        ({1: torch.zeros(1)}, "entry 1 is a Tensor, not a tensor"),
        ({"w": "text"}, "entry 'w' is a str, not a tensor"),
        ({"w": torch.zeros(2, 2).to_sparse()}, "entry 'w' is a sparse_coo tensor"),
        ({"w": torch.empty(2, device="meta")}, "entry 'w' is a meta (data-less) tensor"),
        ({"w": torch.zeros(2, dtype=torch.complex64)}, "entry 'w' is a complex64 tensor"),
        (
            {"blocks.0.0.conv_pw.0.weight": torch.tensor(1.0), "blocks.0.0.conv_pw.1.weight": 2},
            "entry 'blocks.0.0.conv_pw.1.weight' is a int",
        ),
        (
            {"blocks.0.0.conv_pw.0.weight": torch.tensor(1.0)},
            "cannot merge the grouped 1×1 conv weights",
        ),
    ],
    ids=["tensor", "int-key", "str-value", "sparse", "meta", "complex", "mixed", "0-d-grouped"],
)
@pytest.mark.filterwarnings("ignore:Validating sparse tensor invariants:UserWarning")
def test_loaded_content_is_validated(tmp_path: Path, payload: object, message: str) -> None:
    path = tmp_path / "odd.pt"
    path.write_bytes(_torch_bytes(payload))
    assert message in _read_error(path).message


def test_a_directory_as_weights(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").mkdir()
    for path in (tmp_path, tmp_path / "model.safetensors"):
        error = _read_error(path)
        assert "is a directory" in error.message and "model.safetensors" in (error.hint or "")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads files whatever their mode, so chmod 000 cannot make one unreadable",
)
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.safetensors"
    path.write_bytes(SAFETENSORS)
    path.chmod(0)
    try:
        assert "not a readable safetensors file" in _read_error(path).message
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("suffix", ALL_SUFFIXES)
def test_valid_bytes_still_load(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"ok{suffix}"
    path.write_bytes(SAFETENSORS if suffix == ".safetensors" else LEGACY_CHECKPOINT)
    assert torch.equal(read_checkpoint(path)["conv_stem.weight"], STATE["conv_stem.weight"])


# ----------------------------------------------------------------------------- fuzzing


def _flip(data: bytes, positions: list[int]) -> bytes:
    flipped = bytearray(data)
    for position in positions:
        flipped[position % len(flipped)] ^= 0xFF
    return bytes(flipped)


_cut = st.integers(min_value=0, max_value=10**6)
_positions = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=4)
FUZZ_BYTES = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=300).map(lambda tail: b"PK\x03\x04" + tail),
    st.binary(max_size=300).map(lambda tail: b"\x80\x02" + tail),
    st.binary(max_size=300).map(lambda tail: struct.pack("<Q", len(tail)) + tail),
    *(
        st.one_of(
            _cut.map(lambda cut, real=real: real[: cut % len(real)]),
            _positions.map(lambda positions, real=real: _flip(real, positions)),
        )
        for real in (ZIP_CHECKPOINT, LEGACY_CHECKPOINT, SAFETENSORS)
    ),
)


@pytest.fixture(scope="module")
def fuzz_dir() -> Path:
    with tempfile.TemporaryDirectory(prefix="mixbench-fuzz-") as folder:
        yield Path(folder)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=FUZZ_BYTES, suffix=st.sampled_from(ALL_SUFFIXES))
def test_any_bytes_load_or_raise_input_error(fuzz_dir: Path, data: bytes, suffix: str) -> None:
    path = fuzz_dir / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        state = read_checkpoint(path, key_map=timm_to_native)
    except InputError as error:
        assert error.message.startswith(str(path)) and "\n" not in error.message
        assert error.hint
    else:  # the bytes happened to be valid (e.g. a flip inside tensor data)
        assert state and all(isinstance(value, torch.Tensor) for value in state.values())


# ----------------------------------------------------------------------------- CLI


def _cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MIXBENCH_DB": str(tmp_path / "results.sqlite"),
        "MIXBENCH_CACHE": str(tmp_path / "cache"),
    }


COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "verify": lambda weights: ["verify", "mixnet_s", "--weights", str(weights)],
    "eval": lambda weights: [
        "eval",
        "mixnet_s",
        "--weights",
        str(weights),
        "--data",
        "synthetic:2",
        "--workers",
        "0",
    ],
}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.pth", b"definitely not a checkpoint"),
        ("bad.pt", MALFORMED_TORCH["pickle-looking"]),
        ("bad.bin", MALFORMED_TORCH["half-zip"]),
        ("bad.safetensors", MALFORMED_SAFETENSORS["bad-json"]),
        ("trainer.pth", _torch_bytes({"args": argparse.Namespace(lr=0.1)})),
    ],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_cli_exits_2_with_one_error_and_one_hint(
    tmp_path: Path, command: str, name: str, content: bytes
) -> None:
    weights = tmp_path / name
    weights.write_bytes(content)
    result = CliRunner().invoke(cli, COMMANDS[command](weights), env=_cli_env(tmp_path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    hints = [line for line in lines if line.startswith("hint: ")]
    assert len(errors) == 1 and len(hints) == 1, result.stderr
    assert str(weights) in errors[0]
