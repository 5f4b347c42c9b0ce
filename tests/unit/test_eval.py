"""`mixbench eval`: agreement with timm's own evaluation, resuming, bad images, OOM, torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import timm
import torch
from click.testing import CliRunner
from imagenet_folder import IMAGES, SYNSETS, synthetic_image
from PIL import Image
from timm.data import create_dataset, create_loader, resolve_data_config
from timm.utils import AverageMeter, accuracy

from mixbench.cli import cli
from mixbench.data.sources import BadImageError
from mixbench.measure.accuracy.evaluation import EvalOptions, evaluate
from mixbench.measure.accuracy.loop import EvalInterrupted
from mixbench.measure.accuracy.resume_log import ResumeLog
from mixbench.measure.accuracy.scoring import real_labels
from mixbench.store import ResultsStore

# ONNX/OpenVINO exports, evaluations, audits: left out by `pytest -m "not slow"`
pytestmark = pytest.mark.slow


def _timm_validate(model: torch.nn.Module, folder: Path) -> tuple[float, float, int]:
    """timm's validate.py, reduced to its data pipeline and accuracy bookkeeping."""
    config = resolve_data_config({}, model=model)
    class_map = str(resources.files("timm.data") / "_info/imagenet_synsets.txt")
    dataset = create_dataset("", root=str(folder), split="validation", class_map=class_map)
    loader = create_loader(
        dataset,
        input_size=config["input_size"],
        batch_size=5,
        use_prefetcher=False,
        interpolation=config["interpolation"],
        mean=config["mean"],
        std=config["std"],
        crop_pct=config["crop_pct"],
        num_workers=0,
    )
    top1, top5 = AverageMeter(), AverageMeter()
    with torch.no_grad():
        for images, target in loader:
            acc1, acc5 = accuracy(model(images), target, topk=(1, 5))
            top1.update(acc1.item(), images.size(0))
            top5.update(acc5.item(), images.size(0))
    return top1.avg, top5.avg, top1.count


@pytest.fixture
def checkpoint_dir(tmp_path):
    return tmp_path / "checkpoints"


def _options(checkpoint_dir: Path, **changes: object) -> EvalOptions:
    settings: dict[str, object] = {
        "batch_size": 5,
        "workers": 0,
        "checkpoint_dir": checkpoint_dir,
    }
    settings.update(changes)
    return EvalOptions(**settings)  # type: ignore[arg-type]


def test_top1_top5_equal_timms_evaluation(imagenet, checkpoint_dir):
    folder, weights, reference = imagenet
    top1, top5, count = _timm_validate(reference, folder)
    report = evaluate("mixnet_s", str(folder), weights=weights, options=_options(checkpoint_dir))
    assert report is not None
    assert report.metrics.count == count == IMAGES
    assert report.metrics.top1 == pytest.approx(top1, abs=1e-9)
    assert report.metrics.top5 == pytest.approx(top5, abs=1e-9)
    # the folder was built so these are known: a third each of top-1 hits, top-5-only, misses
    assert report.metrics.top1 == pytest.approx(100 / 3)
    assert report.metrics.top5 == pytest.approx(200 / 3)


def test_numbers_do_not_depend_on_batch_workers_or_layout(imagenet, checkpoint_dir):
    folder, weights, _ = imagenet
    baseline = evaluate("mixnet_s", str(folder), weights=weights, options=_options(checkpoint_dir))
    other = evaluate(
        "mixnet_s",
        str(folder),
        weights=weights,
        options=_options(checkpoint_dir, batch_size=7, workers=2, channels_last=True),
    )
    assert baseline is not None and other is not None
    assert other.metrics == baseline.metrics
    assert other.per_class == baseline.per_class


def test_per_class_breakdown_and_report_fields(imagenet, checkpoint_dir):
    folder, weights, _ = imagenet
    report = evaluate("mixnet_s", str(folder), weights=weights, options=_options(checkpoint_dir))
    assert report is not None
    assert sum(row.count for row in report.per_class) == IMAGES
    assert [row.index for row in report.per_class] == sorted(row.index for row in report.per_class)
    for row in report.per_class:
        assert SYNSETS[row.index] == row.synset
        assert (folder / row.synset).is_dir()
    data = report.to_dict()
    assert data["preprocessing"]["resize_size"] == 256
    assert data["preprocessing"]["interpolation"] == "bicubic"
    assert len(data["weights_sha256"]) == 64
    assert data["data"]["fingerprint"]
    assert data["timing"]["evaluated"] == IMAGES
    json.dumps(data)  # JSON-able throughout


def test_real_labels_scored_as_timm_scores_them(imagenet, checkpoint_dir):
    folder, weights, reference = imagenet
    report = evaluate(
        "mixnet_s",
        str(folder),
        weights=weights,
        real_labels=True,
        options=_options(checkpoint_dir),
    )
    assert report is not None and report.real is not None
    # timm's RealLabelsImagenet on the same predictions
    config = resolve_data_config({}, model=reference)
    transform = timm.data.create_transform(**config)
    table = real_labels()
    top1 = top5 = counted = 0
    for path in sorted(folder.glob("*/*.JPEG")):
        row = int(path.stem.rsplit("_", 1)[1]) - 1
        if not table[row]:
            continue
        with Image.open(path) as image, torch.no_grad():
            classes = reference(transform(image.convert("RGB"))[None]).topk(5).indices[0].tolist()
        counted += 1
        top1 += classes[0] in table[row]
        top5 += any(c in table[row] for c in classes)
    assert report.real.count == counted
    assert report.real.top1 == pytest.approx(100 * top1 / counted)
    assert report.real.top5 == pytest.approx(100 * top5 / counted)


def test_real_labels_need_val_file_names(checkpoint_dir):
    with pytest.raises(Exception, match="ILSVRC2012_val"):
        evaluate("mixnet_s", "synthetic:4", real_labels=True, options=_options(checkpoint_dir))


def test_interrupted_run_resumes_to_identical_numbers(imagenet, checkpoint_dir):
    folder, weights, _ = imagenet
    calls = []

    def interrupt_after_two_batches(status):
        calls.append(status)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(EvalInterrupted, match="interrupted after 10 of 24 images"):
        evaluate(
            "mixnet_s",
            str(folder),
            weights=weights,
            options=_options(checkpoint_dir),
            on_progress=interrupt_after_two_batches,
        )
    resumed = evaluate("mixnet_s", str(folder), weights=weights, options=_options(checkpoint_dir))
    fresh = evaluate(
        "mixnet_s", str(folder), weights=weights, options=_options(checkpoint_dir, resume=False)
    )
    assert resumed is not None and fresh is not None
    assert resumed.timing["resumed"] == 10
    assert resumed.timing["evaluated"] == IMAGES - 10
    assert resumed.metrics == fresh.metrics
    assert resumed.per_class == fresh.per_class


def test_torn_log_line_is_recomputed_not_fatal(tmp_path):
    checkpoint = ResumeLog(tmp_path, {"run": 1})
    checkpoint.open(rank=0)
    checkpoint.append([0, 1], [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], [(2, "x.jpg", "truncated")])
    checkpoint.close()
    log = checkpoint.path / "rank-0.jsonl"
    log.write_text(log.read_text() + '{"indices": [3, 4], "topk": [[1')  # killed mid-write
    progress = ResumeLog(tmp_path, {"run": 1}).load()
    assert progress.done() == {0, 1, 2}
    assert progress.bad == {2: ("x.jpg", "truncated")}
    assert ResumeLog(tmp_path, {"run": 2}).load().done() == set()


def _with_bad_files(folder: Path, tmp_path: Path) -> Path:
    """A copy of the folder with a truncated JPEG and a text file posing as one."""
    import shutil

    copy = tmp_path / "val"
    shutil.copytree(folder, copy)
    victim = sorted(copy.glob("*/*.JPEG"))[7]
    victim.write_bytes(victim.read_bytes()[:200])
    (copy / SYNSETS[1]).mkdir(exist_ok=True)
    (copy / SYNSETS[1] / "ILSVRC2012_val_00009999.JPEG").write_text("not an image")
    return copy


def test_bad_images_are_counted_named_and_excluded(imagenet, checkpoint_dir, tmp_path):
    folder, weights, _ = imagenet
    damaged = _with_bad_files(folder, tmp_path)
    warnings: list[str] = []
    report = evaluate(
        "mixnet_s",
        str(damaged),
        weights=weights,
        options=_options(checkpoint_dir),
        warn=warnings.append,
    )
    assert report is not None
    assert report.metrics.count == IMAGES + 1 - 2
    names = [bad["name"] for bad in report.bad_images]
    assert len(names) == 2
    assert any("ILSVRC2012_val_00009999.JPEG" in name for name in names)
    assert sum("skipped unreadable image" in warning for warning in warnings) == 2
    assert report.headline()["bad_images"] == 2


def test_bad_image_fail_policy_stops_and_keeps_work(imagenet, checkpoint_dir, tmp_path):
    folder, weights, _ = imagenet
    damaged = _with_bad_files(folder, tmp_path)
    with pytest.raises(BadImageError):
        evaluate(
            "mixnet_s",
            str(damaged),
            weights=weights,
            options=_options(checkpoint_dir, on_bad_image="fail"),
        )
    # the same run, now skipping: resumes after the images already done
    report = evaluate("mixnet_s", str(damaged), weights=weights, options=_options(checkpoint_dir))
    assert report is not None
    assert report.timing["resumed"] > 0
    assert len(report.bad_images) == 2


class _OutOfMemoryAbove(torch.nn.Module):
    """Raises CUDA's out-of-memory error for batches larger than ``limit``, like a full GPU."""

    def __init__(self, model: torch.nn.Module, limit: int) -> None:
        super().__init__()
        self.model = model
        self.config = model.config
        self.limit = limit

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if len(images) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.model(images)


def test_out_of_memory_halves_the_batch_and_goes_on(imagenet, checkpoint_dir, monkeypatch):
    import mixbench.measure.accuracy.evaluation as evaluate_module
    from mixbench.resolve import resolve_model

    folder, weights, _ = imagenet

    def resolve_on_small_gpu(*args, **kwargs):
        resolved = resolve_model(*args, **kwargs)
        object.__setattr__(resolved, "model", _OutOfMemoryAbove(resolved.model, limit=2))
        return resolved

    monkeypatch.setattr(evaluate_module, "resolve_model", resolve_on_small_gpu)
    warnings: list[str] = []
    options = _options(checkpoint_dir, batch_size=8, resume=False)
    report = evaluate(
        "mixnet_s", str(folder), weights=weights, options=options, warn=warnings.append
    )
    monkeypatch.undo()
    reference = evaluate("mixnet_s", str(folder), weights=weights, options=options)
    assert report is not None and reference is not None
    assert report.settings["final_batch_size"] == 2
    assert [w for w in warnings if "out of memory" in w] == [
        "out of memory: continuing with batch size 4",
        "out of memory: continuing with batch size 2",
    ]
    assert report.metrics == reference.metrics


def test_synthetic_smoke_run_with_amp(checkpoint_dir):
    report = evaluate(
        "mixnet_s", "synthetic:6", options=_options(checkpoint_dir, amp=True, batch_size=4)
    )
    assert report is not None
    assert report.metrics.count == 6
    assert report.settings["amp_dtype"] == "bfloat16"


def _cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MIXBENCH_DB": str(tmp_path / "results.sqlite"),
        "MIXBENCH_CACHE": str(tmp_path / "cache"),
    }


def test_eval_cli_records_the_run_and_writes_json(imagenet, tmp_path):
    folder, weights, _ = imagenet
    out = tmp_path / "result.json"
    runner = CliRunner()
    env = _cli_env(tmp_path)
    result = runner.invoke(
        cli,
        [
            "eval",
            "mixnet_s",
            "--data",
            str(folder),
            "--weights",
            str(weights),
            "--batch",
            "8",
            "--workers",
            "0",
            "--json",
            str(out),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "top-1" in result.output
    data = json.loads(out.read_text())
    assert data["metrics"]["count"] == IMAGES
    assert data["metrics"]["top1"] == pytest.approx(100 / 3)
    runs = ResultsStore(env["MIXBENCH_DB"]).runs()
    assert len(runs) == 1
    assert runs[0].kind == "eval" and runs[0].model == "mixnet_s"
    assert runs[0].metrics["top1"] == pytest.approx(100 / 3)
    assert runs[0].weights_sha256 == data["weights_sha256"]
    assert runs[0].dataset_fingerprint == data["data"]["fingerprint"]
    assert data["run_id"] == runs[0].id
    listed = runner.invoke(cli, ["runs", "--json"], env=env)
    assert listed.exit_code == 0
    assert json.loads(listed.output)[0]["model"] == "mixnet_s"
    # the checkpoint is gone once the result is recorded
    assert not list((tmp_path / "cache").rglob("*.jsonl"))


def test_eval_cli_flat_folder_is_a_one_line_error(tmp_path):
    flat = tmp_path / "val"
    flat.mkdir()
    for number in range(1, 4):
        synthetic_image(number).save(flat / f"ILSVRC2012_val_{number:08d}.JPEG")
    result = CliRunner().invoke(
        cli, ["eval", "mixnet_s", "--data", str(flat)], env=_cli_env(tmp_path)
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "--labels" in result.output


def test_eval_cli_bad_image_fail_exit_code(imagenet, tmp_path):
    folder, weights, _ = imagenet
    damaged = _with_bad_files(folder, tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "mixnet_s",
            "--data",
            str(damaged),
            "--weights",
            str(weights),
            "--workers",
            "0",
            "--on-bad-image",
            "fail",
        ],
        env=_cli_env(tmp_path),
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "ILSVRC2012_val_" in result.output


def test_torchrun_two_processes_equal_one(imagenet, tmp_path):
    folder, weights, _ = imagenet
    env = _cli_env(tmp_path)
    env.pop("WORLD_SIZE", None)
    args = [
        "eval",
        "mixnet_s",
        "--data",
        str(folder),
        "--weights",
        str(weights),
        "--batch",
        "4",
        "--workers",
        "0",
    ]
    single = tmp_path / "single.json"
    double = tmp_path / "double.json"
    run = subprocess.run(
        [sys.executable, "-m", "mixbench", *args, "--json", str(single), "--no-resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--standalone",
        "-m",
        "mixbench",
    ]
    run = subprocess.run(
        [*torchrun, *args, "--json", str(double), "--no-resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    one, two = json.loads(single.read_text()), json.loads(double.read_text())
    assert two["settings"]["world_size"] == 2
    assert two["metrics"] == one["metrics"]
    assert two["per_class"] == one["per_class"]
    assert two["timing"]["evaluated"] == IMAGES  # every image exactly once
    assert len(ResultsStore(env["MIXBENCH_DB"]).runs()) == 2  # rank 0 records, once per run


def test_hf_dataset_and_flat_folder_give_the_folders_numbers(imagenet, tmp_path):
    """The same images as a saved HF dataset and as a flat folder + val.txt score the same."""
    import datasets

    folder, weights, _ = imagenet
    files = sorted(folder.glob("*/*.JPEG"))
    labels = [SYNSETS.index(path.parent.name) for path in files]
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=SYNSETS)}
    )
    rows = {"image": [{"bytes": p.read_bytes(), "path": p.name} for p in files], "label": labels}
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(tmp_path / "hf")
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in files:
        (flat / path.name).write_bytes(path.read_bytes())
    val_txt = tmp_path / "val.txt"
    val_txt.write_text(
        "".join(f"{p.name} {label}\n" for p, label in zip(files, labels, strict=True))
    )

    env = _cli_env(tmp_path)
    results = {}
    for name, data in (
        ("folder", [str(folder)]),
        ("hf", [f"hf:{tmp_path / 'hf'}"]),
        ("flat", [str(flat), "--labels", str(val_txt)]),
    ):
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(
            cli,
            [
                "eval",
                "mixnet_s",
                "--data",
                *data,
                "--weights",
                str(weights),
                "--workers",
                "0",
                "--batch",
                "8",
                "--real-labels",
                "--json",
                str(out),
            ],
            env=env,
        )
        assert result.exit_code == 0, result.output
        results[name] = json.loads(out.read_text())
    for name in ("hf", "flat"):
        assert results[name]["metrics"] == results["folder"]["metrics"], name
        assert results[name]["per_class"] == results["folder"]["per_class"], name
    assert results["hf"]["data"]["fingerprint"] != results["folder"]["data"]["fingerprint"]


def test_damaged_results_store_stops_the_run_before_it_starts(imagenet, tmp_path):
    folder, weights, _ = imagenet
    env = _cli_env(tmp_path)
    damaged = Path(env["MIXBENCH_DB"])
    damaged.write_bytes(b"\x00garbage" * 100)
    result = CliRunner().invoke(
        cli,
        ["eval", "mixnet_s", "--data", str(folder), "--weights", str(weights), "--workers", "0"],
        env=env,
    )
    assert result.exit_code == 2
    assert str(damaged) in result.output and "hint:" in result.output
    assert "eval ━" not in result.output  # refused before any image was evaluated
    assert damaged.read_bytes() == b"\x00garbage" * 100


def test_kill_then_rerun_resumes_through_the_cli(imagenet, tmp_path):
    """SIGTERM mid-run: exit 130 with the saved progress named; the rerun finishes the job."""
    import signal
    import time

    _, weights, _ = imagenet
    env = _cli_env(tmp_path)
    command = [
        sys.executable,
        "-m",
        "mixbench",
        "eval",
        "mixnet_s",
        "--data",
        "synthetic:160",
        "--weights",
        str(weights),
        "--batch",
        "4",
        "--workers",
        "0",
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    logs = tmp_path / "cache" / "eval"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        lines = sum(len(log.read_text().splitlines()) for log in logs.rglob("rank-*.jsonl"))
        if lines >= 3:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "progress saved in" in stderr and "Traceback" not in stderr

    out = tmp_path / "resumed.json"
    finish = subprocess.run(
        [*command, "--json", str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert finish.returncode == 0, finish.stderr
    assert "resuming:" in finish.stderr
    resumed = json.loads(out.read_text())
    assert resumed["timing"]["resumed"] >= 12
    assert resumed["metrics"]["count"] == 160
