"""One model with one set of weights, as every runtime of a run receives it.

Every row of a speed table, and both sides of an agreement check, must run the *same* weights,
or their outputs cannot be compared: the model's own weights when it has them, else weights
drawn from a fixed seed (:func:`mixbench.models.seeded.seeded_weights`, named
``random-seed-N`` in export cache keys). timm's twin gets them through the family's key
mapping. The reference every row is checked against is timm's eager float32 model (our own
unoptimised model for a config timm does not have).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Protocol

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.measure.precision import exact_float32
from mixbench.models.seeded import RANDOM_SEED, seeded_weights
from mixbench.resolve import ResolvedModel


class GraphChoice(Protocol):
    """Which graph a row runs (an :class:`~mixbench.runtimes.base.Implementation`)."""

    @property
    def is_timm(self) -> bool: ...

    @property
    def optimize(self) -> bool: ...


class Subject:
    """``resolved``'s model with the weights every runtime of a run uses.

    >>> subject = Subject(resolve_model("mixnet_s"), image_size=224)  # doctest: +SKIP
    >>> subject.weights_name  # doctest: +SKIP
    'random-seed-0'
    """

    def __init__(
        self, resolved: ResolvedModel, image_size: int | None = None, seed: int = RANDOM_SEED
    ) -> None:
        self.resolved = resolved
        self.image_size = image_size or resolved.preprocessing.image_size
        if resolved.has_weights:
            self.weights: nn.Module = resolved.model.float().eval()
            self.weights_name = "sha256:" + state_dict_sha256(resolved.model)
        else:
            self.weights = seeded_weights(resolved.model, self.image_size, seed)
            self.weights_name = f"random-seed-{seed}"
        self._twin: nn.Module | None = None
        #: (batch, its reference logits): looked up by the batch object itself
        self._reference_logits: list[tuple[torch.Tensor, torch.Tensor]] = []

    @property
    def name(self) -> str:
        return self.resolved.name

    @property
    def config_digest(self) -> str:
        """The architecture, in export cache keys: a YAML config named like a preset but
        built otherwise is another file."""
        import json

        config = getattr(self.resolved.model, "config", None)
        data = config.to_dict() if hasattr(config, "to_dict") else repr(config)
        text = json.dumps([self.resolved.family.name, data], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ timm's twin

    def timm_name(self) -> str | None:
        """timm's name for the model, or ``None`` when timm has no such model."""
        import timm

        name = self.resolved.card.name if self.resolved.card else self.resolved.name
        return name if name in timm.list_models() else None

    def timm_twin(self) -> nn.Module:
        """timm's model holding these weights (float32, CPU, eval); built once."""
        if self._twin is None:
            self._twin = self._make_twin()
        return self._twin

    def _make_twin(self) -> nn.Module:
        to_timm = self.resolved.family.native_to_timm
        if to_timm is None:  # a timm-family model: the model is timm's already
            return self.weights
        name = self.timm_name()
        if name is None:
            raise InputError(
                f"timm has no model named {self.resolved.name!r} to compare with",
                hint="name a model that timm has (`mixbench list`), or use native rows only",
            )
        import timm

        classes = int(self.weights.eval_config.num_classes)  # type: ignore[union-attr]
        twin = timm.create_model(name, pretrained=False, num_classes=classes)
        try:
            twin.load_state_dict(to_timm(self.weights.state_dict(), self.weights))
        except (RuntimeError, KeyError, ValueError) as error:
            first = str(error).strip().splitlines()[0][:160]
            raise InputError(
                f"timm's {name} is not this model's architecture ({first})",
                hint="its native rows are checked against the model as built instead; "
                "timm rows need the architecture timm has",
            ) from None
        return twin.eval()

    # ------------------------------------------------------------------ graphs

    def graph(
        self,
        implementation: GraphChoice,
        *,
        device: torch.device,
        dtype: torch.dtype | None = None,
        channels_last: bool = False,
        **choices: str,
    ) -> tuple[nn.Module, str]:
        """The PyTorch module ``implementation`` runs (or exports), on ``device`` in ``dtype``,
        and its source name for export cache keys (``timm``, ``native``, ``native+noopt``).

        ``choices`` are :func:`mixbench.optimize`'s per-layer choices (``mixconv``,
        ``grouped_pointwise``): each runtime passes the graph form it runs fastest."""
        if implementation.is_timm:
            module = copy.deepcopy(self.timm_twin()).to(device)
            if dtype is not None:
                module = module.to(dtype)
            source = "timm"
        elif implementation.optimize:
            from mixbench.models.optimize import optimize

            module = optimize(
                self.weights,
                device=device,
                dtype=dtype,
                channels_last=channels_last,
                example_input=torch.randn(1, 3, self.image_size, self.image_size),
                **choices,  # type: ignore[arg-type]
            )
            return module, "native"
        else:
            module = copy.deepcopy(self.weights).to(device)
            if dtype is not None:
                module = module.to(dtype)
            source = "native+noopt"
        if channels_last:
            module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return module.eval(), source

    # ------------------------------------------------------------------ the reference

    def reference(self) -> tuple[nn.Module, str]:
        """What every row's outputs are checked against, and its name: timm's model on the
        same weights, or, for an architecture timm does not have, the model as built."""
        if self.resolved.family.native_to_timm is None or self.timm_name() is not None:
            try:
                return self.timm_twin(), "timm (PyTorch eager, float32)"
            except InputError:
                pass  # a config named like timm's model, built otherwise
        return self.weights, "native (PyTorch eager, float32, not optimised)"

    def reference_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The reference's float32 logits of ``images`` (CPU, exact float32), computed once
        per batch."""
        for batch, logits in self._reference_logits:
            if batch is images:
                return logits
        module, _label = self.reference()
        with torch.no_grad(), exact_float32():
            logits = module(images.detach().float().cpu())
        self._reference_logits.append((images, logits))
        return logits

    def images(self, batch: int, seed: int = 0) -> torch.Tensor:
        """A seeded float32 NCHW batch at the run's image size (CPU): every row of a model
        runs and is checked on this one."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(batch, 3, self.image_size, self.image_size, generator=generator)


def state_dict_sha256(model: nn.Module) -> str:
    """sha256 of a state dict's names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
