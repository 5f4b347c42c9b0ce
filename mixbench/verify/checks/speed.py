"""Throughput and latency here, native beside timm: information, never a verdict."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from mixbench.index import ModelCard
from mixbench.verify.check import Check
from mixbench.verify.checks.base import CheckGroup, CheckSpec
from mixbench.verify.options import VerifyOptions, deployed_path


def check_speed(card: ModelCard, options: VerifyOptions) -> list[Check]:
    """Throughput and latency here, native beside timm (and the deployed path, with
    ``--impl``/``--precision``): information, not a verdict."""
    from mixbench.measure.options import SpeedSettings, timing_for
    from mixbench.measure.speed.run import latency, throughput

    deployed = None
    if options.deploys:
        deployed = deployed_path(options)[0].name
    # channels_last for both: the faster layout for timm as for native on CPUs and GPUs
    settings = SpeedSettings(
        device=options.device,
        batch_size=options.batch_size,
        amp=options.amp,
        precision=None if options.amp else options.precision,
        channels_last=True,
        timing=options.speed_timing or timing_for(torch.device(options.device)),
    )
    rows = "native,timm" + (f",{deployed}" if deployed not in (None, "native", "timm") else "")
    speed = throughput([card.name], settings, rows)
    native, timm_row = speed.result(card.name, "native"), speed.result(card.name, "timm")
    delay = latency(card.name, replace(settings, batch_size=1), rows)
    p50 = {row.implementation: row.stats.p50 for row in delay.results}
    timm_latency = next(row for row in delay.results if row.implementation == "timm")
    native_latency = next(row for row in delay.results if row.implementation == "native")
    precision_label = native.precision.label
    extra, extra_latency = "", ""
    if deployed is not None:
        measured = [r for r in speed.results if r.implementation == deployed]
        if measured:
            row = measured[0]
            extra = (
                f"; deployed as {deployed} ({row.precision.label}): "
                f"{row.images_per_second:.1f} images/s"
            )
            if deployed in p50:
                extra_latency = f"; {deployed} {p50[deployed]:.3f} ms"
        else:
            why = "; ".join(note.reason for note in speed.not_run) or "not run"
            extra = f"; deployed as {deployed}: not timed ({why})"
    speed_noise = _noise_details(speed, [native, timm_row])
    latency_noise = _noise_details(delay, [native_latency, timm_latency])
    return [
        Check(
            "throughput",
            f"images/s, batch {native.batch_size}, {precision_label}, channels_last",
            "info",
            published=None,
            measured=native.images_per_second,
            reason=f"native (optimised); timm {timm_row.images_per_second:.1f} images/s, "
            f"{native.images_per_second / timm_row.images_per_second:.2f}×{extra}"
            + _noise(speed_noise),
            details=speed_noise,
        ),
        Check(
            "latency",
            f"latency p50 ms, batch 1, {precision_label}, channels_last",
            "info",
            measured=p50["native"],
            reason=f"native (optimised); timm {p50['timm']:.3f} ms{extra_latency}"
            + _noise(latency_noise),
            details=latency_noise,
        ),
    ]


def _noise_details(report: Any, rows: list[Any]) -> dict[str, Any]:
    """What makes the ratio unreliable (never a verdict on a card: speed has no published
    figure): noisy rows, overlapping ranges, a busy machine."""
    faster, slower = sorted(rows, key=lambda row: row.score(), reverse=True)
    return {
        "noisy": {row.implementation: row.noisy for row in rows if row.noisy},
        "within_noise": faster.score_range()[0] <= slower.score_range()[1],
        "machine_busy": report.machine.busy if report.machine else None,
    }


def _noise(details: dict[str, Any]) -> str:
    """:func:`_noise_details` said beside the ratio (empty when nothing is wrong)."""
    parts = [f"{name} noisy: {why}" for name, why in details["noisy"].items()]
    if details["within_noise"]:
        parts.append("native and timm overlap: the ratio is within the noise (inconclusive)")
    if details["machine_busy"]:
        parts.append(f"the machine was busy: {details['machine_busy']}")
    return "".join(f"; {part}" for part in parts)


GROUP = CheckGroup(
    "speed",
    order=80,
    specs=(
        CheckSpec("throughput", "throughput", "images/s"),
        CheckSpec("latency", "latency", "ms"),
    ),
    run=lambda c: check_speed(c.card, c.options),
    when=lambda options: options.throughput,
)
