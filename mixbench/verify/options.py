"""What a ``verify`` run is asked to do: :class:`VerifyOptions`, parsed in one place
(:meth:`VerifyOptions.from_cli` takes the command line's strings), so the CLI only passes what
the user typed; :func:`mixbench.verify.run.validate_options` checks them together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mixbench.errors import InputError
from mixbench.measure.accuracy.agreement import DEPLOYED_TOLERANCE
from mixbench.measure.options import AMP, DEVICE, WORKERS, TimingOptions
from mixbench.options import flag
from mixbench.runtimes.constants import DEFAULT_IMPLEMENTATION

#: Accuracy tolerances in percentage points, per metric, unless the user says otherwise;
#: ``deployed``: how far the deployed path's top-1 may move from eager float32's.
DEFAULT_TOLERANCE = {"top1": 0.1, "top5": 0.1, "deployed": DEPLOYED_TOLERANCE}
#: ``--strict``, of every command that reads the index (verify, audit, list, show)
STRICT = flag(
    "Treat any problem of the index, unknown card key or empty value as an error (exit 2)."
)
#: Images per batch of verify's evaluations unless --batch says otherwise.
EVAL_BATCH = 64


@dataclass(frozen=True)
class VerifyOptions:
    """What ``verify`` is asked: each field's Flag is its command-line option and help."""

    data: str | None = field(
        default=None,
        metadata=flag(
            "ImageNet-val folder (synset folders, or flat with --labels), hf:NAME[:SPLIT] or "
            "synthetic[:N] (verify: enables top-1/top-5)."
        ),
    )
    labels: str | None = field(
        default=None,
        metadata=flag(
            "Ground truth for a flat val folder: val.txt, LOC_val_solution.csv or TF's synset "
            "labels.",
            kind=Path,
        ),
    )
    weights: str | None = field(default=None, metadata=flag("Local checkpoint file.", kind=Path))
    pretrained: bool = field(
        default=False, metadata=flag("The card's published weights (Hugging Face).")
    )
    device: str = field(default="cpu", metadata=DEVICE)
    batch_size: int | None = field(
        default=None,
        metadata=flag(
            # a CPU at 64 would take minutes to time
            "Images per batch for accuracy (default: 64) and speed (default: throughput's, 8 on "
            "a CPU).",
            flag="--batch",
            kind=int,
            minimum=1,
        ),
    )
    workers: int | None = field(default=None, metadata=WORKERS)
    amp: bool = field(default=False, metadata=AMP)
    implementation: str | None = field(
        default=None,
        metadata=flag(
            "The path people deploy (needs --data): evaluate through this implementation "
            "(ort, native+ort, openvino, native+openvino, timm+compile, ...) and check it keeps "
            "the card: top-1 agreement with eager float32 and the top-1 change, with 95% "
            "intervals.",
            flag="--impl",
        ),
    )
    precision: str | None = field(
        default=None,
        metadata=flag(
            "The deployed path's precision (fp32, bf16, fp16), read back from its runtime."
        ),
    )
    throughput: bool = field(default=False, metadata=flag("Also measure speed (info)."))
    require: tuple[str, ...] = field(
        default=(),
        metadata=flag(
            "Checks that must pass: a required check that is skipped, inconclusive or info "
            "fails (e.g. top1,top5,file_size).",
            kind=str,  # typed: a comma list
            default=None,
            metavar="CHECK,...",
        ),
    )
    strict: bool = field(default=False, metadata=STRICT)
    tolerance: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_TOLERANCE),
        metadata=flag(
            "Tolerances in percentage points: top1/top5 against the card; deployed: the top-1 "
            "change of the --impl/--precision path against eager float32.",
            default=",".join(f"{key}={points:g}" for key, points in DEFAULT_TOLERANCE.items()),
            show_default=True,
        ),
    )
    cache_dir: str | None = field(
        default=None, metadata=flag("Hugging Face datasets cache (hf:).", kind=Path)
    )
    #: the speed checks' timing (``None``: throughput's defaults for the device)
    speed_timing: TimingOptions | None = None

    @property
    def deploys(self) -> bool:
        return self.implementation is not None or self.precision is not None

    @classmethod
    def from_cli(
        cls,
        *,
        tolerance: str | None = None,
        require: str | None = None,
        labels: str | Path | None = None,
        weights: str | Path | None = None,
        cache_dir: str | Path | None = None,
        device: str | None = None,
        **given: Any,
    ) -> VerifyOptions:
        """Options from the command line's values: ``tolerance`` and ``require`` as typed
        (``top1=0.1,deployed=0.2``; ``top1,top5``), paths as paths, the device as asked (none:
        cuda when present). What they mean together is checked by
        :func:`mixbench.verify.run.validate_options`, before any work."""
        from mixbench.measure.device import pick_device

        return cls(
            device=pick_device(device),
            tolerance=parse_tolerance(tolerance),
            require=split_names(require, "--require"),
            labels=None if labels is None else str(labels),
            weights=None if weights is None else str(weights),
            cache_dir=None if cache_dir is None else str(cache_dir),
            **given,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["speed_timing"] = None if self.speed_timing is None else asdict(self.speed_timing)
        data["require"] = list(self.require)  # JSON has lists: a stored run reads back equal
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}


def parse_tolerance(text: str | None) -> dict[str, float]:
    """``"top1=0.1,top5=0.2"`` → ``{"top1": 0.1, "top5": 0.2}`` over the defaults."""
    tolerance = dict(DEFAULT_TOLERANCE)
    if not text:
        return tolerance
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in DEFAULT_TOLERANCE:
            raise InputError(
                f"--tolerance: {item.strip()!r} is not METRIC=POINTS",
                hint="e.g. --tolerance top1=0.1,top5=0.1 (percentage points)",
            )
        try:
            points = float(value)
        except ValueError:
            points = float("nan")
        if not points >= 0 or points == float("inf"):
            raise InputError(
                f"--tolerance {key}: {value.strip()!r} is not a number of points >= 0",
                hint="e.g. --tolerance top1=0.1",
            )
        tolerance[key] = points
    return tolerance


def split_names(text: str | None, option: str = "--require") -> tuple[str, ...]:
    """``"top1, top5,top1"`` → ``("top1", "top5")`` (names checked by
    :func:`mixbench.verify.run.parse_require`); text that names nothing (``","``) is bad
    input, never an empty list of requirements."""
    if not text:
        return ()
    names = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    if not names:
        raise InputError(f"{option}: {text!r} names no check", hint="e.g. --require top1,top5")
    return names


def deployed_path(options: VerifyOptions) -> tuple[Any, Any]:
    """(implementation, precision request) of ``--impl``/``--precision``, each checked against
    its runtime before anything runs."""
    import torch

    from mixbench.measure.precision import parse_precisions
    from mixbench.runtimes import parse_implementation, runtime_named

    implementation = parse_implementation(options.implementation or DEFAULT_IMPLEMENTATION)
    requests = parse_precisions(options.precision)
    if len(requests) > 1:
        raise InputError(
            f"--precision {options.precision}: verify checks one deployed precision",
            hint="run verify once per precision",
        )
    device = torch.device(options.device)
    runtime_named(implementation.runtime).check_request(implementation, requests[0], device)
    return implementation, requests[0]
