"""The evaluation loop: images → card-exact preprocessing → model → per-image top-k.

It is built not to lose work: an unreadable image is logged and excluded (or stops the run,
``on_bad_image="fail"``) instead of killing it; every batch is appended to a resume log; a
CUDA out-of-memory error halves the batch and goes on. Under torchrun each process takes every
N-th pending image and rank 0 gathers the predictions. Scoring happens elsewhere
(:mod:`mixbench.measure.accuracy.scoring`), on the complete table.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mixbench.data.preprocess import Preprocessing
from mixbench.data.sources import BadImageError, EvalSource
from mixbench.errors import InputError, MixbenchError
from mixbench.measure.accuracy.distributed import Distributed, close_distributed, init_distributed
from mixbench.measure.accuracy.resume_log import (
    LoggedPredictions,
    ResumeLog,
    default_checkpoint_dir,
)
from mixbench.measure.accuracy.scoring import TOP_K
from mixbench.measure.options import EvalOptions, default_workers

#: What a corrupt file can raise while PIL decodes and resizes it.
DECODE_ERRORS = (MixbenchError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)


#: Logits of a normalised float32 batch on the run's device (a runtime session's ``run``).
Predict = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class LoopStatus:
    """What a progress bar shows after each batch (rank 0's view)."""

    done: int
    total: int
    top1: float  # running top-1 in percent over this attempt's images
    images_per_second: float


@dataclass
class EvalOutcome:
    """Every image's predictions (resumed ones included), as rank 0 gathered them."""

    progress: LoggedPredictions
    evaluated: int  # images run through the model by this attempt, all ranks
    resumed: int  # images taken from an earlier attempt's log
    seconds: float
    batch_size: int  # the batch in use at the end (smaller after an out-of-memory halving)
    world_size: int
    checkpoint: ResumeLog | None

    @property
    def images_per_second(self) -> float:
        return self.evaluated / self.seconds if self.seconds > 0 else 0.0


class NonFiniteOutputs(InputError):
    """The model's logits on a batch are NaN or infinite: no score can come of them."""


class EvalInterrupted(MixbenchError):
    """Ctrl-C or SIGTERM during a run; the work done so far is in the resume log."""

    exit_code = 130


class _Images(Dataset[tuple[torch.Tensor | None, int, str]]):
    """The images still to evaluate, resized and cropped to uint8 in the worker processes."""

    def __init__(self, source: EvalSource, preprocessing: Preprocessing, indices: list[int]):
        self.source = source
        self.crop = preprocessing.crop_transform()
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[torch.Tensor | None, int, str]:
        index = self.indices[position]
        try:
            return self.crop(self.source.load(index)), index, ""
        except BadImageError as error:
            return None, index, error.reason
        except DECODE_ERRORS as error:
            return None, index, f"{type(error).__name__}: {error}"


def _collate(
    items: Sequence[tuple[torch.Tensor | None, int, str]],
) -> tuple[torch.Tensor | None, list[int], list[tuple[int, str]]]:
    good = [(image, index) for image, index, _ in items if image is not None]
    images = torch.stack([image for image, _ in good]) if good else None
    bad = [(index, reason) for image, index, reason in items if image is None]
    return images, [index for _, index in good], bad


def image_loader(
    source: EvalSource,
    preprocessing: Preprocessing,
    indices: list[int],
    *,
    batch_size: int,
    workers: int,
    pin_memory: bool = False,
) -> DataLoader[Any]:
    """Batches of ``(uint8 images or None, their indices, [(index, reason) unreadable])``.

    Decoding, resizing and cropping run in ``workers`` processes; normalising is left to
    :meth:`Preprocessing.normalize` on the batch, on the model's device.
    """
    return DataLoader(
        _Images(source, preprocessing, indices),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=pin_memory,
        collate_fn=_collate,
        prefetch_factor=4 if workers else None,
    )


class _Forward:
    """Model forward in the run's numerics, halving the batch on CUDA out-of-memory.

    ``model`` is a PyTorch module (run here: ``channels_last``, autocast under ``amp``) or a
    runtime's predict function, which runs in its own numerics."""

    def __init__(
        self,
        model: nn.Module | Predict,
        preprocessing: Preprocessing,
        device: torch.device,
        options: EvalOptions,
        warn: Callable[[str], None],
    ) -> None:
        self.model = model
        self.preprocessing = preprocessing
        self.device = device
        self.options = options
        self.warn = warn
        self.batch_size = options.batch_size

    def __call__(self, images: torch.Tensor) -> list[list[int]]:
        predictions: list[list[int]] = []
        start = 0
        while start < len(images):
            chunk = images[start : start + self.batch_size]
            try:
                predictions.extend(self._top_k(chunk))
            except torch.cuda.OutOfMemoryError:
                self._halve()
                continue
            start += len(chunk)
        return predictions

    def _halve(self) -> None:
        if self.batch_size == 1:
            raise InputError(
                f"{self.device}: out of memory even at batch size 1",
                hint="free the GPU (other processes?) or evaluate on another device",
            )
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        self.batch_size //= 2
        self.warn(f"out of memory: continuing with batch size {self.batch_size}")

    def _top_k(self, chunk: torch.Tensor) -> list[list[int]]:
        images = self.preprocessing.normalize(chunk.to(self.device, non_blocking=True))
        if not isinstance(self.model, nn.Module):
            with torch.inference_mode():
                logits = self.model(images)
            return _ranked(logits)
        if self.options.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        autocast = (
            torch.autocast(self.device.type, dtype=self.options.amp_dtype)
            if self.options.amp
            else nullcontext()
        )
        with torch.inference_mode(), autocast:
            logits = self.model(images)
        return _ranked(logits)


def _ranked(logits: torch.Tensor) -> list[list[int]]:
    """Each image's top-k classes, by the same call as timm's accuracy() (ties resolve the
    same way); NaN or infinite logits are refused, never ranked."""
    logits = logits.float()
    finite = torch.isfinite(logits).all(dim=1)
    if not bool(finite.all()):
        raise NonFiniteOutputs(
            f"the model's outputs are NaN or infinite for {int((~finite).sum())} of "
            f"{logits.shape[0]} images of a batch",
        )
    k = min(TOP_K, logits.shape[-1])
    return logits.topk(k, dim=1, largest=True, sorted=True).indices.cpu().tolist()


def run_predictions(
    model: nn.Module | Callable[[torch.device], Predict],
    source: EvalSource,
    preprocessing: Preprocessing,
    options: EvalOptions,
    identity: dict[str, Any],
    *,
    on_status: Callable[[LoopStatus], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> EvalOutcome | None:
    """Top-k predictions for every image of ``source``; ``None`` on ranks other than 0.

    ``model``: a PyTorch module, or a function making a runtime's predict function for this
    rank's device (built only once the rank knows its device). ``identity`` names the run for
    resuming (everything that decides its predictions).
    """
    warn = warn or (lambda message: warnings.warn(message, stacklevel=2))
    context = init_distributed(options.device)
    try:
        return _run(model, source, preprocessing, options, identity, context, on_status, warn)
    finally:
        close_distributed(context)


def _run(
    model: nn.Module | Callable[[torch.device], Predict],
    source: EvalSource,
    preprocessing: Preprocessing,
    options: EvalOptions,
    identity: dict[str, Any],
    context: Distributed,
    on_status: Callable[[LoopStatus], None] | None,
    warn: Callable[[str], None],
) -> EvalOutcome | None:
    checkpoint = None
    earlier = LoggedPredictions()
    if options.resume:
        checkpoint = ResumeLog(options.checkpoint_dir or default_checkpoint_dir(), identity)
        earlier = checkpoint.load()
        if earlier.done() and context.is_main:
            warn(f"resuming: {len(earlier.done())} images done earlier ({checkpoint.path})")
    done = earlier.done()
    pending = [index for index in range(len(source)) if index not in done]
    mine = context.shard(pending)

    device = context.device(options.device)
    if isinstance(model, nn.Module):
        model = model.eval().to(device)
        if options.channels_last:
            model = model.to(memory_format=torch.channels_last)
    else:
        model = model(device)
    loader = image_loader(
        source,
        preprocessing,
        mine,
        batch_size=options.batch_size,
        workers=default_workers() if options.workers is None else options.workers,
        pin_memory=device.type == "cuda",
    )
    forward = _Forward(model, preprocessing, device, options, warn)
    local = LoggedPredictions()
    failure: tuple[str, str] | None = None
    hits = 0
    started = time.perf_counter()
    if checkpoint is not None:
        checkpoint.open(context.rank)
    try:
        for images, indices, bad in loader:
            try:
                predictions = forward(images) if images is not None else []
            except NonFiniteOutputs as error:
                first, last = source.name(indices[0]), source.name(indices[-1])
                error.message = f"{error.message} ({first} … {last})"
                error.hint = (
                    "the weights or the precision overflow (try --precision fp32); no score "
                    "is given for such outputs"
                )
                raise
            named = [(index, source.name(index), reason) for index, reason in bad]
            if named and options.on_bad_image == "fail":
                # the good images of the batch are kept; the bad one is retried by a rerun
                local.add_batch(indices, predictions)
                if checkpoint is not None:
                    checkpoint.append(indices, predictions, [])
                failure = named[0][1:]
                break
            local.add_batch(indices, predictions, named)
            if checkpoint is not None:
                checkpoint.append(indices, predictions, named)
            for _, name, reason in named:
                warn(f"skipped unreadable image {name}: {reason}")
            if on_status is not None and context.is_main:
                hits += sum(
                    p[0] == source.label(i) for i, p in zip(indices, predictions, strict=True)
                )
                on_status(_status(local, hits, len(done), len(source), context, started))
    except KeyboardInterrupt:
        count = len(done) + len(local.done())
        where = checkpoint.path if checkpoint is not None else None
        raise EvalInterrupted(
            f"interrupted after {count} of {len(source)} images"
            + (f"; progress saved in {where}" if where else ""),
            hint="run the same command again to resume"
            if where
            else "nothing was saved (--no-resume)",
        ) from None
    finally:
        if checkpoint is not None:
            checkpoint.close()
    seconds = time.perf_counter() - started

    shards = context.gather((local, seconds, forward.batch_size, failure))
    if not context.is_main:
        return None
    for shard, _, _, _ in shards:
        earlier.merge(shard)
    failures = [shard_failure for *_, shard_failure in shards if shard_failure]
    if options.on_bad_image == "fail":
        failures += list(earlier.bad.values())  # skipped by an earlier attempt
    if failures:
        name, reason = failures[0]
        error = BadImageError(name, reason)
        error.hint = (
            "fix or remove the file, or pass --on-bad-image skip to exclude it; the images "
            "before it are saved and a rerun resumes after them"
        )
        raise error
    return EvalOutcome(
        progress=earlier,
        evaluated=sum(len(shard.done()) for shard, *_ in shards),
        resumed=len(done),
        seconds=max(shard_seconds for _, shard_seconds, _, _ in shards),
        batch_size=min(size for _, _, size, _ in shards),
        world_size=context.world_size,
        checkpoint=checkpoint,
    )


def _status(
    local: LoggedPredictions,
    hits: int,
    resumed: int,
    total: int,
    context: Distributed,
    started: float,
) -> LoopStatus:
    evaluated = len(local.predictions)
    elapsed = time.perf_counter() - started
    # rank 0 sees its own shard; the others advance at about the same pace
    done = min(total, resumed + len(local.done()) * context.world_size)
    return LoopStatus(
        done=done,
        total=total,
        top1=100.0 * hits / evaluated if evaluated else 0.0,
        images_per_second=evaluated * context.world_size / elapsed if elapsed > 0 else 0.0,
    )
