"""Benchmark: throughput and latency of mixbench's paths against every runtime on timm's graph.

Two profiles, chosen by the device:

* **cpu**: mixnet_s, batch 16, float32: optimised native eager against timm in both layouts
  (target ≥ 1.3× timm's faster layout). Then, for mixnet_s and mixnet_xl, **at fp32 and at
  bf16**, every runtime side by side: PyTorch eager, ``torch.compile`` (inductor, freezing),
  ONNX Runtime (fp32 only: it has no bf16 kernels; named as not run in the bf16 blocks) and
  OpenVINO, each on timm's graph and on mixbench's, plus ``openvino+defaults`` (OpenVINO's own
  default precision, read back). Targets: mixbench's fastest path ≥ 1.4× the fastest runtime
  on timm's graph at the same computed precision, at batch 16 and at batch-1 latency. Every
  card at batch 16 (traffic per image, fraction of the measured copy bandwidth).
* **cuda**: mixnet_xl, batch 256, AMP, channels_last: native against timm eager and timm under
  ``torch.compile``; targets ≥ 2× and ≥ 1.3×. Batch-1 latency with CUDA graphs against timm
  eager (target ≥ 3×). fp16 rows for eager, compile, ONNX Runtime CUDA/TensorRT providers
  and TensorRT where installed. Every card at batch 256.

Rows whose runtime is not installed are left out and the report says so. ``--quick`` shrinks
everything (and leaves out ``torch.compile``, minutes per model on a CPU) to check the script.
Usage: ``python benchmarks/speed.py [--device cuda] [--trials 7] [--out reports]`` (nox:
``nox -s bench``). Writes ``speed-<device>.md``, ``speed-<device>.json`` and PNGs into
``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from mixbench.environment import collect_environment, device_label, git_sha
from mixbench.measure.device import pick_device
from mixbench.measure.speed.run import (
    LatencyReport,
    SpeedSettings,
    ThroughputReport,
    default_models,
    latency,
    throughput,
)
from mixbench.measure.speed.timing import TimingOptions
from mixbench.progress import StepProgress
from mixbench.report.speed import Target, render_speed, speed_section
from mixbench.runtimes import runs_timm_graph

Section = tuple[str, ThroughputReport | LatencyReport, list[Target]]

RUNTIMES_TITLE = "Runtimes"
#: The models of issue 13's CPU targets: the smallest and the largest card.
RUNTIME_MODELS = ("mixnet_s", "mixnet_xl")


def installed_rows(device: str) -> tuple[str, list[str]]:
    """The ONNX Runtime, OpenVINO and TensorRT rows this machine can run on ``device``, and
    a line for each left out."""
    from mixbench.runtimes import runtime_named

    rows, left_out = "", []
    candidates = [("ort", ",ort,native+ort")]
    if device == "cpu":
        candidates.append(("openvino", ",openvino,native+openvino,openvino+defaults"))
    else:
        candidates.append(("tensorrt", ",tensorrt,native+tensorrt"))
    for name, text in candidates:
        runtime = runtime_named(name)
        try:
            runtime.require()
        except Exception as error:
            left_out.append(f"{runtime.label} rows left out: {getattr(error, 'message', error)}")
            continue
        if name == "ort" and device.startswith("cuda"):
            import onnxruntime

            if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                left_out.append("ONNX Runtime rows left out: no CUDA provider (onnxruntime-gpu)")
                continue
            text += (
                ",ort+trt"
                if "TensorrtExecutionProvider" in (onnxruntime.get_available_providers())
                else ""
            )
        rows += text
    return rows, left_out


CPU_PRECISIONS = ("fp32", "bf16")


def cpu_profile(timing: TimingOptions, models: list[str], quick: bool) -> list[Section]:
    base = SpeedSettings(device="cpu", batch_size=16, timing=timing)
    if quick:
        base = replace(base, batch_size=2, image_size=64)
    sections: list[Section] = []
    head = _throughput(
        ["mixnet_s"], base, "native+nhwc,native+nchw,native+noopt+nchw,timm+nchw,timm+nhwc"
    )
    best_timm = max(
        head.result("mixnet_s", name).images_per_second for name in ("timm+nchw", "timm+nhwc")
    )
    ratio = head.result("mixnet_s", "native+nhwc").images_per_second / best_timm
    sections.append(
        (
            "Headline: mixnet_s, batch 16, fp32 — optimised native eager vs timm's faster layout",
            head,
            [Target("native+nhwc vs timm's faster layout", ratio, 1.3)],
        )
    )
    installed, _left_out = installed_rows("cpu")
    compiled = "" if quick else ",native+nhwc+compile,timm+nhwc+compile"
    runtimes = f"native+nhwc,timm+nhwc{compiled}{installed}"
    for precision in CPU_PRECISIONS:
        settings = replace(base, precision=precision)
        for model in RUNTIME_MODELS:
            report = _throughput([model], settings, runtimes)
            sections.append(
                (
                    f"{RUNTIMES_TITLE}: {model}, batch {settings.batch_size}, {precision}",
                    report,
                    _fastest_target(report, 1.4, precision),
                )
            )
    every = _throughput(models, replace(base, channels_last=True), "native,timm+nchw,timm+nhwc")
    sections.append(("Every card, batch 16, fp32", every, []))
    for precision in CPU_PRECISIONS:
        for model in RUNTIME_MODELS:
            lat = _latency(model, replace(base, batch_size=1, precision=precision), runtimes)
            sections.append(
                (
                    f"Latency, {model}, batch 1, {precision} — every runtime",
                    lat,
                    _fastest_target(lat, 1.4, precision),
                )
            )
    return sections


def _fastest_target(
    report: ThroughputReport | LatencyReport, goal: float, precision: str | None = None
) -> list[Target]:
    """mixbench's fastest path against the fastest path running timm's graph (eager,
    compiled, ONNX Runtime, OpenVINO) at the same computed precision, both from the same run
    (``precision``: only that computed precision's ratio is a target)."""
    return [
        Target(
            f"{r.model}, {r.precision}: fastest mixbench ({r.implementation}) vs timm's "
            f"fastest ({r.baseline})",
            r.ratio,
            goal,
        )
        for r in report.fastest()
        if precision is None or r.precision == precision
    ]


def cuda_profile(timing: TimingOptions, models: list[str], quick: bool) -> list[Section]:
    device = pick_device("cuda")
    base = SpeedSettings(device=device, batch_size=256, amp=True, channels_last=True, timing=timing)
    if quick:
        base = replace(base, batch_size=8)
    sections: list[Section] = []
    head = _throughput(["mixnet_xl"], base, "native,timm,timm+compile,native+compile")
    sections.append(
        (
            "Headline: mixnet_xl, batch 256, AMP, channels_last",
            head,
            [
                Target("native vs timm eager", head.ratio("mixnet_xl", "native", "timm"), 2.0),
                Target(
                    "native vs timm + torch.compile",
                    head.ratio("mixnet_xl", "native", "timm+compile"),
                    1.3,
                ),
            ],
        )
    )
    lat = _latency("mixnet_xl", replace(base, batch_size=1), "native+graphs,timm,timm+graphs")
    p50 = {row.implementation: row.stats.p50 for row in lat.results}
    sections.append(
        (
            "Latency, mixnet_xl, batch 1, AMP, channels_last",
            lat,
            [Target("timm eager p50 / native+graphs p50", p50["timm"] / p50["native+graphs"], 3.0)],
        )
    )
    installed, _left_out = installed_rows(device)
    compiled = "" if quick else ",native+compile,timm+compile"
    runtimes = _throughput(
        ["mixnet_xl"],
        replace(base, amp=False, precision="fp16"),
        f"native,timm{compiled}{installed}",
    )
    sections.append(
        (
            f"{RUNTIMES_TITLE}: mixnet_xl, batch {base.batch_size}, fp16 — every runtime",
            runtimes,
            _fastest_target(runtimes, 1.3, "fp16"),
        )
    )
    every = _throughput(models, base, "native,timm")
    sections.append(("Every card, batch 256, AMP, channels_last", every, []))
    return sections


def _throughput(models: list[str], settings: SpeedSettings, impls: str) -> ThroughputReport:
    with StepProgress("throughput") as progress:
        return throughput(models, settings, impls, on_progress=progress.update)


def _latency(model: str, settings: SpeedSettings, impls: str) -> LatencyReport:
    with StepProgress("latency") as progress:
        return latency(model, settings, impls, on_progress=progress.update)


def plot(every: ThroughputReport, path: Path) -> None:
    """Images/s per card: native against each timm implementation."""
    models = list(dict.fromkeys(r.model for r in every.results))
    implementations = list(dict.fromkeys(r.implementation for r in every.results))
    figure, axis = plt.subplots(figsize=(9, 4.2))
    width = 0.8 / len(implementations)
    for offset, implementation in enumerate(implementations):
        values = [every.result(m, implementation).images_per_second for m in models]
        positions = [
            i + (offset - (len(implementations) - 1) / 2) * width for i in range(len(models))
        ]
        axis.bar(positions, values, width, label=implementation)
    axis.set_xticks(range(len(models)), models, rotation=20)
    axis.set_ylabel("images/s (median)")
    settings = every.settings
    precision = ", ".join(dict.fromkeys(row.precision.name for row in every.results))
    axis.set_title(f"{every.device}: batch {settings['batch_size']}, {precision}", fontsize=10)
    axis.legend()
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_runtimes(reports: list[ThroughputReport], path: Path) -> None:
    """Images/s per implementation, one panel per model; a row whose outputs disagree with
    timm's is hatched and says so (it is not ranked)."""
    most = max(len(report.results) for report in reports)
    figure, axes = plt.subplots(
        len(reports), 1, figsize=(8, (0.45 * most + 1.2) * len(reports)), squeeze=False
    )
    for axis, report in zip(axes[:, 0], reports, strict=True):
        _runtime_panel(axis, report)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _runtime_panel(axis: Any, report: ThroughputReport) -> None:
    rows = sorted(report.results, key=lambda row: -row.images_per_second)
    precision = ", ".join(dict.fromkeys(row.precision.name for row in rows))
    names = [
        row.implementation + ("" if not row.precision.lowered else f" ({row.precision.name})")
        for row in rows
    ]
    values = [row.images_per_second for row in rows]
    colours = ["tab:orange" if runs_timm_graph(r.implementation) else "tab:blue" for r in rows]
    bars = axis.barh(names, values, color=colours)
    for bar, row in zip(bars, rows, strict=True):
        label = f"{row.images_per_second:.1f}"
        if row.outputs_agree is False:
            bar.set_hatch("//")
            bar.set_alpha(0.5)
            label += " (outputs differ)"
        axis.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + label, va="center")
    axis.invert_yaxis()
    axis.set_xlabel("images/s (median); blue: mixbench's graph, orange: timm's")
    settings = report.settings
    axis.set_title(
        f"{rows[0].model} on {report.device}: batch {settings['batch_size']}, {precision}",
        fontsize=10,
    )
    axis.set_xlim(0, max(values) * 1.3)
    axis.grid(axis="x", alpha=0.3)


def left_out_md(device: str) -> str:
    """Which runtimes this machine could not run, as Markdown."""
    _rows, left_out = installed_rows(device)
    lines = [f"- {line}" for line in left_out]
    return "\n".join(["### Runtimes left out", "", *lines]) + "\n" if lines else ""


def write_report(sections: list[Section], device: str, out: Path, command: str) -> Path:
    slug = "cpu" if device == "cpu" else _slug(collect_environment(device).get("gpu", "cuda"))
    stem = f"speed-{slug}"
    every = next(report for title, report, _ in sections if title.startswith("Every card"))
    plot(every, out / f"{stem}.png")  # type: ignore[arg-type]
    runtimes = [report for title, report, _ in sections if title.startswith(RUNTIMES_TITLE)]
    by_precision: dict[str, list[Any]] = {}
    for report in runtimes:
        precision = report.settings["precision"][0]
        by_precision.setdefault(precision, []).append(report)
    for precision, reports in by_precision.items():
        plot_runtimes(reports, out / f"{stem}-runtimes-{precision}.png")
    environment = collect_environment(device)
    lines = [
        f"# Throughput and latency: mixbench's paths vs every runtime on timm's graph, "
        f"on {device_label(device)}",
        "",
        f"Generated {dt.date.today().isoformat()} by `{command}` at commit "
        f"`{(git_sha() or 'unknown')[:12]}`.",
        "",
        "| " + " | ".join(environment) + " |",
        "|" + "---|" * len(environment),
        "| " + " | ".join(environment.values()) + " |",
        "",
        f"![images/s per card]({stem}.png)",
        "",
        *[
            line
            for precision in by_precision
            for line in (
                f"![images/s per runtime, {precision}]({stem}-runtimes-{precision}.png)",
                "",
            )
        ],
        "",
    ]
    text = "\n".join(lines) + render_speed([speed_section(*section) for section in sections])
    text += left_out_md(device)
    (out / f"{stem}.md").write_text(text)
    raw = {title: report.to_dict() for title, report, _ in sections}
    (out / f"{stem}.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    return out / f"{stem}.md"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().removeprefix("nvidia ")).strip("-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--trial-seconds", type=float, default=2.0)
    parser.add_argument("--models", nargs="*", help="default: every card")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--quick", action="store_true", help="tiny run to check the script")
    args = parser.parse_args()
    device = pick_device(args.device)
    timing = TimingOptions(trials=args.trials, trial_seconds=args.trial_seconds)
    if args.quick:
        timing = TimingOptions(
            trials=2,
            trial_seconds=0.05,
            warmup_seconds=0,
            warmup_iterations=1,
            latency_iterations=10,
        )
    models = args.models or default_models()
    profile = cpu_profile if device == "cpu" else cuda_profile
    sections = profile(timing, models, args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", "benchmarks/speed.py", *sys.argv[1:]])
    path = write_report(sections, device, args.out, command)
    for title, _report, targets in sections:
        for target in targets:
            verdict = "met" if target.met else "NOT MET"
            print(f"{title}: {target.name}: {target.value:.2f}× (goal {target.goal}×) {verdict}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
