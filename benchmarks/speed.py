"""Benchmark: throughput and latency of the optimised native MixNet against timm, one run.

Two profiles, chosen by the device:

* **cpu**: mixnet_s, batch 16, float32: native (optimised, channels_last and NCHW, and
  unoptimised) against timm in both layouts; target ≥ 1.3× timm's faster layout. Then, for
  mixnet_s and mixnet_xl, the runtimes side by side (eager in both layouts, ``torch.compile``
  with freezing, ONNX Runtime: ``ort`` on timm's export and ``native+ort`` on ours): mixbench's
  fastest path ≥ 1.4× the fastest path running timm's graph at batch 16, ≥ 1.3× at batch-1
  latency. Every card at batch 16 (traffic per image, fraction of the measured copy
  bandwidth).
* **cuda**: mixnet_xl, batch 256, AMP, channels_last: native against timm eager and timm under
  ``torch.compile``; targets ≥ 2× and ≥ 1.3×. Batch-1 latency with CUDA graphs against timm
  eager (target ≤ 1/3, i.e. ≥ 3× faster). Every card at batch 256 with traffic per image and
  the fraction of the GPU's spec-sheet bandwidth. ONNX Runtime rows when onnxruntime-gpu is
  installed.

ONNX Runtime rows need the onnx extra (``pip install 'mixbench[onnx]'``); without it they are
left out and the report says so. ``--quick`` leaves out the ``torch.compile`` rows (compiling
a MixNet takes minutes on a CPU).
Usage: ``python benchmarks/speed.py [--device cuda] [--trials 7] [--out reports]`` (nox:
``nox -s bench``). Writes ``speed-<device>.md``, ``speed-<device>.json`` and a PNG into
``--out``. ``--quick`` shrinks everything to check the script itself in seconds.
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
    runtime_notes,
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


def ort_rows(device: str) -> tuple[str, str | None]:
    """``",ort,native+ort"`` when ONNX Runtime can run on ``device``, else ``""`` and why not."""
    try:
        import onnxruntime
    except ImportError:
        return "", "ONNX Runtime rows left out: pip install 'mixbench[onnx]'"
    if device.startswith("cuda") and "CUDAExecutionProvider" not in (
        onnxruntime.get_available_providers()
    ):
        return "", "ONNX Runtime rows left out: onnxruntime has no CUDA provider (onnxruntime-gpu)"
    return ",ort,native+ort", None


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
            "Headline: mixnet_s, batch 16, float32 — optimised native vs timm's faster layout",
            head,
            [Target("native+nhwc vs timm's faster layout", ratio, 1.3)],
        )
    )
    ort, _why_not = ort_rows("cpu")
    compiled = "" if quick else ",native+compile+nhwc,timm+compile+nhwc"
    runtimes = f"native+nhwc,native+nchw,timm+nhwc,timm+nchw{compiled}{ort}"
    for model in RUNTIME_MODELS:
        report = _throughput([model], base, runtimes)
        sections.append(
            (
                f"{RUNTIMES_TITLE}: {model}, batch {base.batch_size}, float32 — eager, "
                "torch.compile, ONNX Runtime",
                report,
                _fastest_target(report, 1.4),
            )
        )
    every = _throughput(models, replace(base, channels_last=True), "native,timm+nchw,timm+nhwc")
    sections.append(("Every card, batch 16, float32", every, []))
    for model in RUNTIME_MODELS:
        lat = _latency(model, replace(base, batch_size=1), runtimes)
        sections.append(
            (
                f"Latency, {model}, batch 1, float32 — eager, torch.compile, ONNX Runtime",
                lat,
                _fastest_target(lat, 1.3),
            )
        )
    return sections


def _fastest_target(report: ThroughputReport | LatencyReport, goal: float) -> list[Target]:
    """mixbench's fastest path against the fastest path running timm's graph (eager, compiled,
    ONNX Runtime), both from the same run."""
    return [
        Target(
            f"{r.model}: fastest mixbench ({r.implementation}) vs timm's fastest ({r.baseline})",
            r.ratio,
            goal,
        )
        for r in report.fastest()
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
    ort, _why_not = ort_rows(device)
    if ort:  # ONNX has no autocast: the ort rows run float16 throughout
        runtimes = _throughput(
            ["mixnet_xl"], replace(base, amp=False, dtype="float16"), f"native,timm{ort}"
        )
        sections.append(
            (
                f"{RUNTIMES_TITLE}: mixnet_xl, batch 256, float16 — eager and ONNX Runtime",
                runtimes,
                [],
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
    axis.set_title(
        f"{every.device}: batch {settings['batch_size']}, {settings['precision']}", fontsize=10
    )
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
    names = [row.implementation for row in rows]
    values = [row.images_per_second for row in rows]
    colours = ["tab:orange" if runs_timm_graph(n) else "tab:blue" for n in names]
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
        f"{rows[0].model} on {report.device}: batch {settings['batch_size']}, "
        f"{settings['precision']}",
        fontsize=10,
    )
    axis.set_xlim(0, max(values) * 1.3)
    axis.grid(axis="x", alpha=0.3)


def runtime_notes_md(sections: list[Section], device: str) -> str:
    """How the compiled and ONNX Runtime rows ran (and which were left out), as Markdown."""
    lines = []
    for title, report, _ in sections:
        notes = runtime_notes(report.results)
        if notes:
            lines += [f"**{title}**:", "", *[f"- {note}" for note in notes], ""]
    _rows, why_not = ort_rows(device)
    if why_not:
        lines += [f"{why_not}.", ""]
    return "\n".join(["### How the runtimes ran", "", *lines]) + "\n" if lines else ""


def write_report(sections: list[Section], device: str, out: Path, command: str) -> Path:
    slug = "cpu" if device == "cpu" else _slug(collect_environment(device).get("gpu", "cuda"))
    stem = f"speed-{slug}"
    every = next(report for title, report, _ in sections if title.startswith("Every card"))
    plot(every, out / f"{stem}.png")  # type: ignore[arg-type]
    runtimes = [report for title, report, _ in sections if title.startswith(RUNTIMES_TITLE)]
    if runtimes:
        plot_runtimes(runtimes, out / f"{stem}-runtimes.png")  # type: ignore[arg-type]
    environment = collect_environment(device)
    lines = [
        f"# Throughput and latency: native MixNet vs timm on {device_label(device)}",
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
        *([f"![images/s per runtime]({stem}-runtimes.png)", ""] if runtimes else []),
        "",
    ]
    text = "\n".join(lines) + render_speed([speed_section(*section) for section in sections])
    text += runtime_notes_md(sections, device)
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
