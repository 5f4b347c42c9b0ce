"""Model families: one registration per architecture, found by preset, YAML document or name.

In the spirit of timm's model registry: an architecture is defined once (its config, its
modules) and registered once, with a :class:`ModelFamily` record saying how to recognise and
parse its configs, how to build it, where its presets are and how its checkpoints' keys map.
:func:`~mixbench.models.factory.create_model`, :func:`~mixbench.models.factory.load_config`,
:func:`~mixbench.models.factory.list_presets` and :func:`~mixbench.models.optimize.optimize`
find families here; none of them names one.

What a name or path resolves to (:func:`~mixbench.models.factory.load_config`), in order:

1. a preset of any family, by name, or by timm's ``name.tag`` spelling of its own weights;
2. a YAML file: the first family whose ``recognizes`` accepts the parsed document (a document
   none recognises goes to the first family that parses documents, whose parser says what is
   wrong with it);
3. a name a family's ``from_name`` claims: families that build what they do not ship as
   presets (e.g. any ``timm.create_model`` name) come last, so native presets win.

Adding a family: its architecture module defines the config type and the modules and calls
:func:`register_family` once at its bottom (see the end of :mod:`~mixbench.models.mixnet`);
``mixbench/models/__init__.py`` imports that module; its presets go in their own folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from mixbench.errors import InputError
from mixbench.models.base import EvalConfig
from mixbench.models.weights import KeyMap

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; only annotations use it
    from importlib.resources.abc import Traversable


class FamilyConfig(Protocol):
    """What the factory reads of any family's config (:class:`MixNetConfig` is one)."""

    @property
    def name(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def eval(self) -> EvalConfig: ...
    @property
    def num_classes(self) -> int: ...
    def with_overrides(self, **overrides: Any) -> FamilyConfig: ...


@dataclass(frozen=True)
class ModelFamily:
    """One architecture family, as the factory, the weights loading and ``optimize`` see it.

    Attributes:
        name: the family's registry key (``"mixnet"``).
        build: ``build(config, *, features_only, out_indices) -> nn.Module``; the classifier,
            or with ``features_only`` the feature extractor returning the maps ``out_indices``
            selects.
        parse: ``parse(document, *, source) -> config`` for a parsed YAML document, raising
            :class:`InputError` naming ``source``; ``None``: the family has no YAML configs.
        recognizes: whether a parsed YAML document describes this family (lenient: never
            raises); ``None``: it recognises none.
        preset_dir: the folder of the family's ``<name>.yaml`` presets (read with ``parse``);
            ``None``: no presets.
        from_name: a config for a name the family claims, else ``None``; asked only after
            presets and YAML paths (a timm family would claim every name timm knows).
        timm_to_native: maps a checkpoint in timm's layout to the family's, leaving the
            family's own layout alone; ``None``: checkpoints load as stored.
        native_to_timm: ``native_to_timm(state_dict, model_or_config)``, the inverse, for
            comparisons against timm; ``None`` when there is nothing to map.
        classifier: the module name of the classification head (timm's
            ``pretrained_cfg["classifier"]``): a checkpoint head of another size is dropped.
        head_prefixes: checkpoint key prefixes a ``features_only`` model has no use for.
        conv_norm_pairs: ``(conv, norm)`` attribute names of a module where the norm directly
            follows the conv, for every module of a built model; what ``optimize`` folds.
        weights_tag: ``weights_tag(name, weights_url)``: the name to build so that the weights
            are those a card's URL names (timm: ``resnet18`` → ``resnet18.tv_in1k``), or
            ``None``; ``None``: the family's names carry no weights tags.
        mark_card_tag: ``mark_card_tag(config) -> config``: the config built for a
            ``weights_tag`` name, marked as chosen by the card's weights (for reasons).
        describe: ``describe(config) -> dict``: what identifies a built config beyond its name
            (timm: ``timm_name``, the deprecation target, how the tag was chosen).
        eval_defaults_origin: ``eval_defaults_origin(config) -> str``: where the eval defaults a
            card is held to come from, in words.
        no_native_reason: why the family has no native = timm comparison (``None``: the
            generic reason, when ``native_to_timm`` is ``None``).
    """

    name: str
    build: Callable[..., nn.Module]
    parse: Callable[..., FamilyConfig] | None = None
    recognizes: Callable[[Any], bool] | None = None
    preset_dir: Traversable | None = None
    from_name: Callable[[str], FamilyConfig | None] | None = None
    timm_to_native: KeyMap | None = None
    native_to_timm: Callable[[Mapping[str, torch.Tensor], Any], dict[str, torch.Tensor]] | None = (
        None
    )
    classifier: str = "classifier"
    head_prefixes: tuple[str, ...] = ()
    conv_norm_pairs: Callable[[nn.Module], Iterable[tuple[str, str]]] | None = None
    weights_tag: Callable[[str, str | None], str | None] | None = None
    mark_card_tag: Callable[[Any], Any] | None = None
    describe: Callable[[Any], dict[str, Any]] | None = None
    eval_defaults_origin: Callable[[Any], str] | None = None
    no_native_reason: str | None = None

    def presets(self) -> list[str]:
        """Names of the family's presets, sorted (``[]`` without a preset folder)."""
        if self.preset_dir is None:
            return []
        return sorted(
            entry.name[: -len(".yaml")]
            for entry in self.preset_dir.iterdir()
            if entry.name.endswith(".yaml")
        )

    def preset_text(self, name: str) -> str:
        """The YAML text of preset ``name`` (one of :meth:`presets`)."""
        if self.preset_dir is None:
            raise KeyError(f"model family {self.name!r} has no presets")
        return self.preset_dir.joinpath(f"{name}.yaml").read_text(encoding="utf-8")


_FAMILIES: dict[str, ModelFamily] = {}


def register_family(family: ModelFamily) -> ModelFamily:
    """Add ``family`` to the registry (returned, so a module can keep it as a constant).

    Raises ValueError for a name already registered, presets or a recogniser without a
    parser, or a preset another family ships.
    """
    if family.name in _FAMILIES:
        raise ValueError(f"model family {family.name!r} is already registered")
    if family.parse is None and (family.preset_dir is not None or family.recognizes is not None):
        raise ValueError(f"model family {family.name!r}: presets and YAML need a parse function")
    shipped = {preset: other.name for other in _FAMILIES.values() for preset in other.presets()}
    clashes = sorted(set(family.presets()) & set(shipped))
    if clashes:
        raise ValueError(
            f"model family {family.name!r}: presets {', '.join(clashes)} are already "
            f"shipped by {', '.join(sorted({shipped[name] for name in clashes}))}"
        )
    _FAMILIES[family.name] = family
    return family


def families() -> tuple[ModelFamily, ...]:
    """Every registered family, in registration order."""
    return tuple(_FAMILIES.values())


def get_family(name: str) -> ModelFamily:
    """The family registered as ``name``; KeyError naming the known ones otherwise."""
    try:
        return _FAMILIES[name]
    except KeyError:
        raise KeyError(f"no model family {name!r} (registered: {', '.join(_FAMILIES)})") from None


def family_for_preset(name: str) -> ModelFamily | None:
    """The family shipping preset ``name``, if any."""
    return next((family for family in _FAMILIES.values() if name in family.presets()), None)


def family_for_document(document: Any) -> ModelFamily:
    """The family to parse a YAML document with: the first that recognises it, else the first
    that parses documents at all (its parser then says what is wrong)."""
    readers = [family for family in _FAMILIES.values() if family.parse is not None]
    for family in readers:
        if family.recognizes is not None and family.recognizes(document):
            return family
    if not readers:
        raise InputError(
            "no registered model family reads YAML configs",
            hint="use a model name instead of a YAML file",
        )
    return readers[0]


def family_for_name(name: str) -> tuple[ModelFamily, FamilyConfig] | None:
    """The first family whose ``from_name`` claims ``name``, with the config it gives."""
    for family in _FAMILIES.values():
        if family.from_name is not None:
            config = family.from_name(name)
            if config is not None:
                return family, config
    return None
