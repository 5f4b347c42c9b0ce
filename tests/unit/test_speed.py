"""Timing primitives (mixbench.measure.speed.timing) and the implementations they compare (runners)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mixbench.errors import InputError
from mixbench.measure.speed import timing as speed
from mixbench.measure.speed.timing import LatencyStats, MemoryWatch, TimingOptions
from mixbench.resolve import resolve_model
from mixbench.runtimes import parse_implementations

CPU = torch.device("cpu")
QUICK = TimingOptions(trials=2, trial_seconds=0.01, warmup_seconds=0, warmup_iterations=1)


# ------------------------------------------------------------------------------ timing


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=60))
def test_percentiles_match_numpy_linear_interpolation(samples):
    import numpy as np

    stats = LatencyStats(tuple(samples))
    for q in (0, 50, 90, 99, 100):
        assert math.isclose(stats.percentile(q), np.percentile(samples, q), abs_tol=1e-9)
    assert stats.p50 <= stats.p90 <= stats.p99


@pytest.mark.parametrize(
    "bad",
    [
        {"trials": 0},
        {"warmup_iterations": 0},
        {"latency_iterations": 0},
        {"trial_seconds": 0},
        {"warmup_seconds": -1},
    ],
)
def test_timing_options_refuse_nonsense(bad):
    with pytest.raises(ValueError):
        TimingOptions(**bad)


def test_warm_up_runs_at_least_the_minimum_calls():
    calls = []
    warm = speed.warm_up(lambda: calls.append(1), CPU, TimingOptions(warmup_iterations=4))
    assert warm.iterations == len(calls) >= 4
    assert warm.seconds >= 0.9  # warmup_seconds defaults to 1: both minimums hold
    assert warm.memory_kind == "process RSS"


def test_trials_are_sized_to_the_trial_length():
    assert speed.calls_for(0.1, TimingOptions(trial_seconds=1.0)) == 10
    assert speed.calls_for(5.0, TimingOptions(trial_seconds=1.0)) == 1  # at least one call


def test_trials_interleave_the_steps():
    order: list[str] = []
    steps = [lambda: order.append("a"), lambda: order.append("b")]
    seen: list[tuple[int, int]] = []
    trials = speed.interleaved_trials(
        steps, CPU, [2, 1], 3, on_trial=lambda t, p: seen.append((t, p))
    )
    assert "".join(order) == "aab" * 3
    assert seen == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    assert [t.calls_per_trial for t in trials] == [2, 1]
    assert all(len(t.seconds_per_call) == 3 for t in trials)
    assert trials[0].fastest <= trials[0].median <= trials[0].slowest


def test_latency_takes_the_requested_samples_in_alternating_rounds():
    order: list[str] = []
    stats = speed.interleaved_latency(
        [lambda: order.append("a"), lambda: order.append("b")], CPU, iterations=7, rounds=3
    )
    assert [len(s.samples_ms) for s in stats] == [7, 7]
    assert "".join(order) == "aaabbb" + "aabb" + "aabb"
    assert all(sample >= 0 for s in stats for sample in s.samples_ms)


def test_cpu_memory_watch_sees_a_freed_peak_exactly():
    """A peak freed before the block ends is still seen: the kernel's high-water mark, not a
    sampler a busy machine can starve (a CI run once measured 5 MiB for a 64 MiB tensor)."""
    with MemoryWatch(CPU) as watch:
        block = torch.ones(64 * 1024 * 1024 // 4)  # 64 MiB, touched
        del block
    assert watch.peak_bytes is not None
    assert watch.peak_bytes >= 60 * 1024 * 1024


def test_cpu_memory_watch_samples_where_the_peak_cannot_be_reset(monkeypatch):
    monkeypatch.setattr(speed, "_reset_high_water_mark", lambda: False)
    with MemoryWatch(CPU) as watch:
        block = torch.ones(64 * 1024 * 1024 // 4)
        # The last sample is taken on the way out, so memory still held is always counted.
    del block
    assert watch.peak_bytes is not None
    assert watch.peak_bytes >= 60 * 1024 * 1024


class _FakeEvent:
    def __init__(self, enable_timing: bool = False) -> None:
        assert enable_timing

    def record(self) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, _other: object) -> float:
        return 50.0  # milliseconds


def test_cuda_trials_use_cuda_events(monkeypatch):
    """The CUDA path, on a CPU machine: events timed in ms become seconds per call."""
    monkeypatch.setattr(torch.cuda, "Event", _FakeEvent)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    calls = []
    seconds = speed.time_calls(lambda: calls.append(1), torch.device("cuda"), 10)
    assert len(calls) == 10
    assert seconds == pytest.approx(0.005)


def test_cuda_memory_watch_reports_the_allocator_peak(monkeypatch):
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 1000)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 5000)
    with MemoryWatch(torch.device("cuda")) as watch:
        pass
    assert watch.peak_bytes == 4000
    assert watch.kind == "cuda allocated"


# ------------------------------------------------------------------------------ implementations


def test_implementation_names_round_trip():
    parsed = parse_implementations("native,timm+compile,native+noopt+nchw,timm+nhwc+graphs")
    assert [i.name for i in parsed] == [
        "native",
        "timm+compile",
        "native+noopt+nchw",
        "timm+nhwc+graphs",
    ]
    assert parse_implementations(",".join(i.name for i in parsed)) == parsed


def test_flags_apply_to_every_implementation():
    parsed = parse_implementations("native,timm", compile=True, cuda_graphs=True, optimize=False)
    assert all(i.runtime == "compile" and i.has("graphs") for i in parsed)
    assert not parsed[0].optimize
    assert [i.name for i in parsed] == ["native+noopt+compile+graphs", "timm+compile+graphs"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("onnx", "unknown word 'onnx'"),
        ("native+fast", "unknown word 'fast'"),
        ("timm+nhwc+nchw", "contradict"),
        ("timm+noopt", "native only"),
        ("native,native", "listed twice"),
        ("", "an empty name"),
    ],
)
def test_bad_implementations_are_named(text, message):
    with pytest.raises(InputError, match=message):
        parse_implementations(text)


@given(
    st.lists(
        st.sampled_from(["native", "timm"]).flatmap(
            lambda base: st.lists(
                st.sampled_from(
                    ["compile", "graphs", "nhwc", "noopt"]
                    if base == "native"
                    else ["compile", "graphs", "nchw"]
                ),
                unique=True,
            ).map(lambda mods, b=base: "+".join([b, *mods]))
        ),
        min_size=1,
        max_size=4,
        unique=True,
    )
)
def test_parsing_never_crashes_on_valid_specs(items):
    try:
        parsed = parse_implementations(",".join(items))
    except InputError as error:
        assert "listed twice" in str(error)  # modifier order differs, same implementation
        return
    assert len(parsed) == len(items)
    assert parse_implementations(",".join(i.name for i in parsed)) == parsed


@pytest.fixture(scope="module")
def resolved_s():
    torch.manual_seed(0)
    return resolve_model("mixnet_s")


def _build(resolved, text, precision="fp32", cast=False, **kwargs):
    from runtime_helpers import build_session

    return build_session(resolved, text, precision, cast=cast, **kwargs)


@pytest.mark.slow
def test_sessions_run_one_batch_each(resolved_s):
    for text in ("native", "native+noopt", "timm", "timm+nhwc"):
        session, step = _build(resolved_s, text)
        assert step().shape == (2, 1000)
        assert session.run(torch.randn(3, 3, 64, 64)).shape == (3, 1000)  # any batch
        assert session.layout == ("channels_last" if "nhwc" in text else "NCHW")
        assert session.weight_bytes > 4_000_000 * 4 * 0.9


def test_the_optimised_graph_gives_the_unoptimised_outputs(resolved_s, max_rel_diff):
    (_, fast), (_, plain) = _build(resolved_s, "native"), _build(resolved_s, "native+noopt")
    assert max_rel_diff(fast(), plain()) <= 1e-4


def test_bf16_autocasts_and_reads_the_precision_back(resolved_s):
    """The optimised model cast to bfloat16 against the plain model under autocast."""
    (fast_session, fast), (plain_session, plain) = (
        _build(resolved_s, "native", "bf16"),
        _build(resolved_s, "native+noopt", "bf16"),
    )
    a, b = fast().float(), plain().float()
    assert fast_session.autocast_dtype == torch.bfloat16
    assert fast_session.precision.name == "bf16" and fast_session.precision.read_back
    assert fast_session.precision.how.startswith("autocast")
    assert next(fast_session.eager.parameters()).dtype == torch.bfloat16  # cast, BN folded
    assert next(plain_session.eager.parameters()).dtype == torch.float32  # autocast only
    assert torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1] > 0.99


def test_cast_rows_say_cast(resolved_s):
    session, step = _build(resolved_s, "timm", "bf16", cast=True)
    assert step().dtype == torch.bfloat16
    assert session.autocast_dtype is None and session.precision.how.startswith("cast")
    assert session.precision.name == "bf16"


def test_building_does_not_touch_the_resolved_model(resolved_s):
    _build(resolved_s, "native+noopt+nhwc", "bf16", cast=True)
    parameter = next(resolved_s.model.parameters())
    assert parameter.dtype == torch.float32
    assert parameter.is_contiguous()


def test_compile_wraps_the_eager_module(resolved_s, monkeypatch):
    compiled = []

    def fake_compile(module):
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    session, step = _build(resolved_s, "timm+compile")
    assert compiled == [session.eager]
    assert step().shape == (2, 1000)


def test_cuda_graphs_need_cuda():
    from mixbench.measure.precision import PrecisionRequest
    from mixbench.runtimes import parse_implementation, runtime_named

    implementation = parse_implementation("native+graphs")
    with pytest.raises(InputError, match="CUDA graphs need a CUDA device"):
        runtime_named("pytorch").check_request(implementation, PrecisionRequest(), CPU)


def test_timm_needs_a_model_timm_has(tmp_path):
    from mixbench.models.mixnet import _preset_dir

    yaml = tmp_path / "my_mixnet.yaml"
    yaml.write_text((_preset_dir() / "mixnet_s.yaml").read_text().replace("mixnet_s", "my_mixnet"))
    resolved = resolve_model(yaml)
    with pytest.raises(InputError, match="timm has no model named 'my_mixnet'"):
        _build(resolved, "timm")
    _session, step = _build(resolved, "native")
    assert step().shape == (2, 1000)


def test_implementation_defaults():
    from mixbench.runtimes.registry import implementation

    assert implementation("native").name == "native"
    assert implementation("timm", optimize=False).name == "timm"  # optimize is native-only
    assert implementation("timm", "ort").name == "ort"  # a standalone runtime's token alone
    assert implementation("native", "ort", optimize=False, modifiers=["trt"]).name == (
        "native+noopt+ort+trt"
    )
    assert implementation("timm", "compile", modifiers=["graphs", "nhwc"]).name == (
        "timm+nhwc+compile+graphs"
    )


# ------------------------------------------------------------------------------ +compile


def test_compile_options_are_inference_settings():
    from mixbench.runtimes.compiled import compile_options
    from mixbench.runtimes.constants import COMPILE_MODES

    assert compile_options() == {"freezing": True}
    assert set(COMPILE_MODES) >= {"default", "max-autotune"}
    tuned = compile_options("max-autotune-no-cudagraphs")
    assert tuned["freezing"] and tuned["max_autotune"] and not tuned.get("triton.cudagraphs")
    with pytest.raises(InputError, match="--compile-mode 'fast'"):
        compile_options("fast")


def test_compile_compiles_while_binding_with_freezing(resolved_s, monkeypatch):
    """torch.compile is lazy: binding the batch makes the first call, under the inductor
    settings; timed calls reuse that graph and pay for no settings patch."""
    import torch._inductor.config as inductor_config

    seen = []

    def fake_compile(module):
        def compiled(images):
            flags = (inductor_config.freezing, inductor_config.max_autotune)
            seen.append((*flags, torch.is_grad_enabled()))
            return module(images)

        return compiled

    monkeypatch.setattr(torch, "compile", fake_compile)
    session, step = _build(resolved_s, "timm+compile", compile_mode="max-autotune-no-cudagraphs")
    # compiled while binding, frozen, under no_grad; then the helper's first call
    assert seen == [(True, True, False), (False, False, False)]
    assert step().shape == (2, 1000)
    assert session.run(torch.randn(3, 3, 64, 64)).shape == (3, 1000)  # a new shape
    assert seen[-1] == (True, True, False)  # compiled under the settings too
    assert not inductor_config.freezing  # nothing leaks out of the calls
    assert session.details["compiler"] == "inductor"
    assert session.details["mode"] == "max-autotune-no-cudagraphs"
    assert session.details["options"]["freezing"] is True
    assert session.details["compile_seconds"] >= 0


@pytest.mark.slow
def test_freezing_makes_the_weights_constants():
    """A real torch.compile of a tiny module (seconds, not the minutes of a MixNet): frozen,
    the compiled graph no longer reads the module's weights."""
    import torch._inductor.config as inductor_config
    from torch import nn

    from mixbench.runtimes.compiled import compile_options

    torch._dynamo.reset()
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    compiled = torch.compile(module)
    images = torch.randn(1, 3, 8, 8)
    with torch.no_grad(), inductor_config.patch(compile_options()):
        before = compiled(images).clone()
        with torch.no_grad():
            module[0].weight.add_(1.0)
        assert torch.equal(compiled(images), before)
    torch._dynamo.reset()
