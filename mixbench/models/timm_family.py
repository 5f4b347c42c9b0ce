"""The second model family: any model timm can build, as the reference backend of a card.

A name that is not a native preset (:mod:`~mixbench.models.mixnet` ships the seven MixNets)
but that timm knows, ``resnet50``, ``resnet50.a1_in1k`` or a deprecated card name such as
``gluon_resnet50_v1b``, resolves to ``timm.create_model(name)``: timm's own modules, its
``pretrained_cfg`` as the eval defaults. It is registered after MixNet, and claims names only
through ``from_name``, so a native preset always wins (the registry's lookup order).

>>> from mixbench.models import create_model
>>> model = create_model("resnet18")  # doctest: +SKIP
>>> model.eval_config.interpolation, model.eval_config.crop_pct  # doctest: +SKIP
('bilinear', 0.875)
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from torch import nn

from mixbench.errors import InputError, ModelBuildError
from mixbench.models.base import EvalConfig
from mixbench.models.registry import ModelFamily, register_family


@dataclass(frozen=True)
class TimmConfig:
    """A timm model by name: what :func:`timm.create_model` is called with, and its defaults.

    ``name`` is as given (``resnet50.a1_in1k``); ``architecture`` the model timm builds for it
    (a deprecated name is resolved to today's: ``gluon_resnet50_v1b`` → ``resnet50`` with the
    ``gluon_in1k`` tag); ``eval`` comes from that tag's ``pretrained_cfg``.
    """

    name: str
    architecture: str
    tag: str | None
    eval: EvalConfig
    classifier: str = "fc"
    overrides: dict[str, Any] = field(default_factory=dict)
    #: what timm's deprecation table maps ``name`` to (``None``: not a deprecated name); the
    #: audit reports the entries whose model is not the card's
    deprecated_for: str | None = None
    #: how the weights tag (and so ``eval``) was chosen: "name" (given with the name),
    #: "deprecated" (timm's deprecation table), "card weights" (the tag whose file a card's
    #: weights URL names), "default" (timm's default weights for the name)
    tag_source: str = "default"

    @property
    def tag_origin(self) -> str:
        """The tag's origin in words, for reasons: "timm's default weights for resnet18"."""
        return {
            "name": "the tag given",
            "deprecated": f"what timm's deprecation table maps {self.name} to",
            "card weights": "the tag whose file the card's weights URL names",
        }.get(self.tag_source, f"timm's default weights for {self.architecture}")

    @property
    def source(self) -> str:
        return f"timm:{self.name}"

    @property
    def num_classes(self) -> int:
        return int(self.overrides.get("num_classes", self.eval.num_classes))

    @property
    def timm_name(self) -> str:
        """What ``timm.create_model`` is given (today's name, with the tag)."""
        return f"{self.architecture}.{self.tag}" if self.tag else self.architecture

    def with_overrides(self, **overrides: Any) -> TimmConfig:
        return replace(self, overrides={**self.overrides, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": "timm",
            "name": self.name,
            "timm_name": self.timm_name,
            "deprecated_for": self.deprecated_for,
            "tag_source": self.tag_source,
            "eval": self.eval.as_dict(),
            "overrides": dict(self.overrides),
        }


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """timm warns once per deprecated name; the config records the mapping instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@functools.cache
def _deprecated() -> dict[str, str]:
    """timm's deprecated names → today's ``architecture.tag``."""
    from timm.models import get_deprecated_models

    return {old: new for old, new in get_deprecated_models().items() if new}


def timm_config(name: str) -> TimmConfig | None:
    """The config of a name timm can build (``None`` if timm knows no such model)."""
    import timm
    from timm.models import get_pretrained_cfg

    deprecated_for = _deprecated().get(name)
    resolved = deprecated_for or name
    architecture, _, tag = resolved.partition(".")
    if not timm.is_model(architecture):
        return None
    with _quietly():
        try:
            # the tag's own cfg, never the default tag's in its place
            cfg = get_pretrained_cfg(resolved if tag else architecture)
        except RuntimeError:  # timm's answer to a tag the architecture does not publish
            cfg = None
    if cfg is None:
        if tag:  # a tag timm does not publish: say so rather than build another model's
            raise InputError(
                f"timm has no pretrained tag {tag!r} for {architecture}",
                hint=f"`python -c \"import timm; print(timm.list_pretrained('{architecture}*'))\"`",
            )
        return TimmConfig(
            name,
            architecture,
            None,
            EvalConfig(),
            deprecated_for=deprecated_for,
            tag_source=_tag_source(name, deprecated_for),
        )
    return TimmConfig(
        name=name,
        architecture=architecture,
        tag=tag or cfg.tag or None,
        eval=_eval_config(cfg.to_dict()),
        classifier=_classifier_name(cfg.to_dict()),
        deprecated_for=deprecated_for,
        tag_source=_tag_source(name, deprecated_for),
    )


def _tag_source(name: str, deprecated_for: str | None) -> str:
    if deprecated_for:
        return "deprecated"
    return "name" if "." in name else "default"


def _classifier_name(cfg: dict[str, Any]) -> str:
    head = cfg.get("classifier") or "fc"
    return head[0] if isinstance(head, (list, tuple)) else str(head)


def _eval_config(cfg: dict[str, Any]) -> EvalConfig:
    defaults = EvalConfig()
    input_size = tuple(int(v) for v in cfg.get("input_size") or defaults.input_size)
    return EvalConfig(
        input_size=input_size,  # type: ignore[arg-type]
        crop_pct=float(cfg.get("crop_pct") or defaults.crop_pct),
        interpolation=str(cfg.get("interpolation") or defaults.interpolation),
        mean=tuple(float(v) for v in cfg.get("mean") or defaults.mean),
        std=tuple(float(v) for v in cfg.get("std") or defaults.std),
        num_classes=int(cfg.get("num_classes") or defaults.num_classes),
        hf_hub_id=cfg.get("hf_hub_id") or None,
    )


def build_timm(
    config: TimmConfig, *, features_only: bool = False, out_indices: Any = None
) -> nn.Module:
    """``timm.create_model`` (no weights: the factory loads them) with mixbench's attributes:
    ``config`` and ``eval_config``, as a native model has.

    Built on the current default device: under ``torch.device("meta")`` nothing is allocated,
    which is how the card audit counts 261 models in minutes.
    """
    import timm

    kwargs = dict(config.overrides)
    if features_only:
        kwargs["features_only"] = True
        if out_indices is not None:
            kwargs["out_indices"] = out_indices
    try:
        with _quietly():
            model = timm.create_model(config.timm_name, pretrained=False, **kwargs)
    except (TypeError, ValueError, RuntimeError, KeyError, AssertionError) as error:
        raise ModelBuildError(
            f"timm cannot build {config.name}: {type(error).__name__}: {error}",
            hint="check the model name (`timm.list_models()`) and the overrides",
        ) from None
    model.config = config  # type: ignore[assignment]
    model.eval_config = replace(config.eval, num_classes=config.num_classes)  # type: ignore[assignment]
    return model


def _describe(config: TimmConfig) -> dict[str, Any]:
    keep = ("timm_name", "deprecated_for", "tag_source")
    return {key: value for key, value in config.to_dict().items() if key in keep}


TIMM = register_family(
    ModelFamily(
        name="timm",
        build=build_timm,
        from_name=timm_config,
        classifier="fc",
        weights_tag=lambda name, url: tag_for_weights(name, url),
        mark_card_tag=lambda config: replace(config, tag_source="card weights"),
        describe=_describe,
        eval_defaults_origin=lambda config: (
            f"against timm's pretrained_cfg for {config.timm_name} ({config.tag_origin})"
        ),
        no_native_reason="the card runs on timm's own model (no native implementation to compare)",
    )
)


def tag_for_weights(name: str, weights_url: str | None) -> str | None:
    """The ``architecture.tag`` of the timm weights a card's weights URL names, by file name
    (timm keeps the original URL of many weights in their ``pretrained_cfg``), else by the
    name before the torch.hub hash when one tag alone has it (torchvision re-saved
    ``resnet18-5c106cde.pth`` as ``resnet18-f37072fd.pth``); ``None`` when nothing matches,
    or ``name`` already says which weights (a tag, or a deprecated name)."""
    import timm
    from timm.models import get_pretrained_cfg

    if not weights_url or "." in name or name in _deprecated():
        return None
    wanted = _file_name(weights_url)
    files: dict[str, str] = {}
    with _quietly():
        for tagged in timm.list_pretrained(f"{name}.*"):
            cfg = get_pretrained_cfg(tagged)
            if cfg is not None and cfg.url:
                files[str(tagged)] = _file_name(cfg.url)
    exact = [tagged for tagged, file in files.items() if file == wanted]
    if exact:
        return exact[0]
    same_stem = [tagged for tagged, file in files.items() if _stem(file) == _stem(wanted)]
    return same_stem[0] if len(same_stem) == 1 else None


def _file_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _stem(file_name: str) -> str:
    """``resnet18-5c106cde.pth`` → ``resnet18`` (torch.hub's ``name-<hash>.ext``)."""
    base = file_name.split(".", 1)[0]
    return base.rsplit("-", 1)[0] if "-" in base else base
