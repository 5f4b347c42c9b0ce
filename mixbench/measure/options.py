"""What a measurement is asked: :class:`EvalOptions` (accuracy), :class:`TimingOptions` and
:class:`SpeedSettings` (speed).

Each field a command line fills declares its option and help (:mod:`mixbench.options`), and
``from_cli`` makes the options of what was typed. No torch at import: the CLI builds its
options from these classes before a command runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mixbench.errors import InputError
from mixbench.options import flag
from mixbench.runtimes.constants import COMPILE_MODES, DEFAULT_IMPLEMENTATION, DEFAULT_OPSET

if TYPE_CHECKING:
    import torch

    from mixbench.measure.precision import PrecisionRequest
    from mixbench.runtimes import Implementation

#: Options several commands share, declared once: the device (none: cuda when present) ...
DEVICE = flag("cpu, cuda or cuda:N (default: cuda when present).", default=None)
AMP = flag("timm's spelling: --precision fp16 on a GPU, bf16 on a CPU.")
CHANNELS_LAST = flag("NHWC memory layout (unless +nchw/+nhwc).")
WORKERS = flag("DataLoader processes (default: min(4, cores)).", kind=int, minimum=0)
IMAGE_SIZE = flag("Default: the card's.", kind=int, minimum=32)

BadImagePolicy = Literal["skip", "fail"]


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class EvalOptions:
    """How an evaluation runs: its batches, runtime path, precision, bad images, resume log."""

    batch_size: int = field(
        default=64,
        metadata=flag(
            "Images per batch (halved on a CUDA out-of-memory error).",
            flag="--batch",
            minimum=1,
            show_default=True,
        ),
    )
    workers: int | None = field(default=None, metadata=WORKERS)
    device: str = field(default="cpu", metadata=DEVICE)
    implementation: str = field(
        default=DEFAULT_IMPLEMENTATION,
        metadata=flag(
            "The runtime path the images go through: one name as for throughput (native, timm, "
            "native+compile, ort, native+ort, openvino, native+openvino, ...); native+noopt is "
            "the model as built, in PyTorch eager.",
            flag="--impl",
            show_default=True,
        ),
    )
    precision: str | None = field(
        default=None,
        metadata=flag(
            "fp32 (default), bf16 or fp16: autocast in PyTorch, INFERENCE_PRECISION_HINT in "
            "OpenVINO, a float16 model in ONNX Runtime; the precision computed is read back."
        ),
    )
    amp: bool = field(default=False, metadata=AMP)
    channels_last: bool = field(default=False, metadata=CHANNELS_LAST)
    on_bad_image: BadImagePolicy = field(
        default="skip",
        metadata=flag(
            "Unreadable images: exclude them with a warning, or stop the run.",
            choices=("skip", "fail"),
            show_default=True,
        ),
    )
    checkpoint_dir: Path | None = field(
        default=None,
        metadata=flag(
            "Where interrupted runs keep their progress (default: ~/.cache/mixbench/eval).",
            kind=Path,
            folder=True,
        ),
    )
    resume: bool = field(
        default=True, metadata=flag("Start afresh and keep no resume log.", flag="--no-resume")
    )

    @classmethod
    def from_cli(cls, *, device: str | None = None, **given: Any) -> EvalOptions:
        """Options from ``eval``'s command line: the device as asked (none: cuda when present)."""
        from mixbench.measure.device import pick_device

        return cls(device=pick_device(device), **given)

    @property
    def amp_dtype(self) -> torch.dtype:
        # float16 is what timm's validate uses on GPUs; CPUs autocast to bfloat16
        from mixbench.measure.precision import default_amp_dtype

        return default_amp_dtype(self.device)

    @property
    def precision_request(self) -> PrecisionRequest:
        """What the run computes in: ``--precision``, or ``--amp``'s default dtype."""
        import torch

        from mixbench.measure.precision import PrecisionRequest, parse_precisions

        if self.precision and self.amp:
            raise InputError(
                "pass --precision or --amp, not both",
                hint="--precision bf16 means --amp on a CPU; --precision fp16 on a GPU",
            )
        if self.amp:
            return PrecisionRequest("fp16" if self.amp_dtype == torch.float16 else "bf16")
        requests = parse_precisions(self.precision)
        if len(requests) > 1:
            raise InputError(
                f"--precision {self.precision}: an evaluation runs in one precision",
                hint="run one eval per precision",
            )
        return requests[0]


@dataclass(frozen=True)
class TimingOptions:
    """How long to warm up and how much to measure."""

    trials: int = field(
        default=5,
        metadata=flag("Timed trials of every row, interleaved.", minimum=1, show_default=True),
    )
    trial_seconds: float = field(
        default=1.0,
        metadata=flag(
            "Each trial's length (default: 1 on a GPU, 0.5 on a CPU: the seven cards in about "
            "a minute).",
            minimum=0.01,
            default=None,
        ),
    )
    warmup_seconds: float = field(
        default=1.0,
        metadata=flag(
            "Warm-up before timing (default: 1 on a GPU, 0.5 on a CPU).", minimum=0, default=None
        ),
    )
    #: calls warmed up at least, beside warmup_seconds (compilation, autotuning)
    warmup_iterations: int = 3
    latency_iterations: int = field(
        default=200,
        metadata=flag(
            "Timed calls per implementation.", flag="--iterations", minimum=1, show_default=True
        ),
    )

    def __post_init__(self) -> None:
        if self.trials < 1 or self.warmup_iterations < 1 or self.latency_iterations < 1:
            raise ValueError("trials, warmup_iterations and latency_iterations must be >= 1")
        if self.trial_seconds <= 0 or self.warmup_seconds < 0:
            raise ValueError("trial_seconds must be > 0 and warmup_seconds >= 0")


#: Seconds of each trial and of the warm-up unless given, by device type: 1 s on a GPU (as
#: timm's benchmark.py); 0.5 s on a CPU, so ``mixbench throughput`` of the seven cards (two
#: rows each, five trials) finishes in about a minute on 2 cores.
DEFAULT_SECONDS = {"cuda": 1.0, "cpu": 0.5}
#: Warm-up calls at least, by device type: a GPU's first calls compile and autotune; eager
#: and exported CPU runtimes are warm after their first two
WARMUP_CALLS = {"cuda": 3, "cpu": 2}


def timing_for(
    device: torch.device,
    *,
    trial_seconds: float | None = None,
    warmup_seconds: float | None = None,
    **given: Any,
) -> TimingOptions:
    """The timing options of a run on ``device``: what was given, the device's defaults else."""
    seconds = DEFAULT_SECONDS.get(device.type, 1.0)
    given.setdefault("warmup_iterations", WARMUP_CALLS.get(device.type, 3))
    return TimingOptions(
        trial_seconds=seconds if trial_seconds is None else trial_seconds,
        warmup_seconds=seconds if warmup_seconds is None else warmup_seconds,
        **given,
    )


#: timm's benchmark batch on a GPU; 8 on a CPU, where the seven cards' default run (two rows
#: each, 0.5 s trials) then takes about a minute on 2 cores (at 16: two)
DEFAULT_BATCH = {"cuda": 256, "cpu": 8}


@dataclass(frozen=True)
class SpeedSettings:
    """How ``throughput`` and ``latency`` run every row: device, batch, precision, layout,
    compilation, exports and timing."""

    device: str = field(default="cpu", metadata=DEVICE)
    batch_size: int | None = field(
        default=None,
        metadata=flag(
            "Images per batch (default: 256 on GPU, 8 on CPU).", flag="--batch", kind=int, minimum=1
        ),
    )
    precision: str | None = field(
        default=None,
        metadata=flag(
            "fp32, bf16, fp16 or a comma list (every implementation at each; rows are ranked "
            "within the precision they computed in, read back from the runtime). PyTorch "
            "autocasts; OpenVINO gets INFERENCE_PRECISION_HINT; ONNX Runtime and TensorRT a "
            "model in it."
        ),
    )
    amp: bool = field(default=False, metadata=AMP)
    dtype: str | None = field(
        default=None,
        metadata=flag(
            "With --amp: the autocast dtype. Without: cast PyTorch model and input (pure).",
            choices=("float16", "bfloat16", "float32"),
        ),
    )
    channels_last: bool = field(default=False, metadata=CHANNELS_LAST)
    compile: bool = field(default=False, metadata=flag("torch.compile every PyTorch impl."))
    compile_mode: str = field(
        default="default",
        metadata=flag(
            "torch.compile mode of +compile rows (inductor, always with freezing).",
            choices=COMPILE_MODES,
            show_default=True,
        ),
    )
    opset: int = field(
        default=DEFAULT_OPSET,
        metadata=flag(
            "ONNX opset of exports (ONNX Runtime and TensorRT rows).", minimum=7, show_default=True
        ),
    )
    optimize: bool = field(
        default=True,
        metadata=flag(
            "Run native through mixbench.optimize (BN folded, MixConv merged ...).",
            negatable=True,
            show_default=True,
        ),
    )
    image_size: int | None = field(default=None, metadata=IMAGE_SIZE)
    cuda_graphs: bool = field(
        default=False, metadata=flag("Replay CUDA graphs (every impl; CUDA only).")
    )
    timing: TimingOptions = field(default_factory=TimingOptions)
    count_traffic: bool = True

    @classmethod
    def from_cli(cls, *, device: str | None = None, **given: Any) -> SpeedSettings:
        """Settings from ``throughput``/``latency``'s options as typed: the device as asked
        (none: cuda when present), and its timing (:class:`TimingOptions`' fields among them):
        the device's defaults for what was not given."""
        import torch

        from mixbench.measure.device import pick_device

        device = pick_device(device)
        timed = {f.name: given.pop(f.name) for f in fields(TimingOptions) if f.name in given}
        return cls(device=device, timing=timing_for(torch.device(device), **timed), **given)

    @property
    def torch_device(self) -> torch.device:
        import torch

        return torch.device(self.device)

    @property
    def batch(self) -> int:
        return self.batch_size or DEFAULT_BATCH.get(self.torch_device.type, 16)

    @property
    def precisions(self) -> tuple[PrecisionRequest, ...]:
        """What every row is asked to compute in: ``--precision``, or ``--amp``/``--dtype``."""
        from mixbench.measure.precision import legacy_precision, parse_precisions

        legacy = legacy_precision(self.amp, self.dtype, self.torch_device)
        if legacy is not None and self.precision:
            raise InputError(
                "pass --precision, or --amp/--dtype (timm's spelling), not both",
                hint="--precision bf16 means --amp on a CPU; --precision fp16 on a GPU",
            )
        return (legacy,) if legacy is not None else parse_precisions(self.precision)

    def implementations(self, text: str) -> list[Implementation]:
        from mixbench.runtimes import parse_implementations

        return parse_implementations(
            text, compile=self.compile, cuda_graphs=self.cuda_graphs, optimize=self.optimize
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "batch_size": self.batch,
            "precision": [request.name for request in self.precisions],
            "cast": any(request.cast for request in self.precisions),
            "channels_last": self.channels_last,
            "image_size": self.image_size,
            "compile": self.compile,
            "cuda_graphs": self.cuda_graphs,
            "optimize": self.optimize,
            "timing": self.timing.__dict__,
            "compile_mode": self.compile_mode,  # +compile rows: runtime.options has the rest
            "onnx_opset": self.opset,
        }
