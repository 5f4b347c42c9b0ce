"""What a check row is: a :class:`CheckGroup` (one function making one or more checks) and a
:class:`CheckSpec` per check it makes, carrying everything about that check — its short
name, the unit of its measured figure, the card field holding the published figure, and the
conditions its measurement is stored under — so nothing about a check lives elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mixbench.index import ModelCard
from mixbench.models import ModelFamily
from mixbench.resolve import ResolvedModel
from mixbench.verify.check import Check
from mixbench.verify.options import VerifyOptions
from mixbench.verify.weights import WeightsAtHand

if TYPE_CHECKING:
    from mixbench.data.sources import EvalSource
    from mixbench.measure.accuracy.evaluation import EvalReport


def no_conditions(_check: Check, _settings: dict[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class CheckSpec:
    """One check's stable facts (its verdict and figures are the :class:`Check` it makes)."""

    name: str  # stable key: what --require takes and the store's metric name
    short: str  # how the coverage line names it when it did not run
    unit: str  # of the measured figure, as stored
    #: the card field its published figure is read from (``None``: the card has none)
    card_field: str | None = None
    #: ``conditions(check, settings)``: what the measured figure holds under, from the check's
    #: structured details and the run's settings (stored beside the figure)
    conditions: Callable[[Check, dict[str, Any]], dict[str, Any]] = no_conditions


@dataclass
class CheckContext:
    """What every check function may read: the card, the model, the options and the inputs."""

    card: ModelCard
    resolved: ResolvedModel
    options: VerifyOptions
    source: EvalSource | None
    weights: WeightsAtHand
    warn: Callable[[str], None] | None = None
    #: the accuracy evaluations run for the checks; the pipeline stores them
    evaluations: list[EvalReport] = field(default_factory=list)


@dataclass(frozen=True)
class CheckGroup:
    """One row of :data:`mixbench.verify.checks.CHECKS`: a function making the checks of
    ``specs``, in that order, and when it runs. A module of this package defines one as
    ``GROUP``; ``order`` places it in the table."""

    key: str  # what the progress bar shows while it runs
    order: int
    specs: tuple[CheckSpec, ...]
    run: Callable[[CheckContext], list[Check]]
    when: Callable[[VerifyOptions], bool] = lambda _options: True
    #: whether its checks compute with the model (a forward pass, real images); a group that
    #: reads only shapes and configs (parameter counts, FLOPs, eval metadata) works on a model
    #: built on the meta device, which allocates nothing
    needs_real_model: Callable[[VerifyOptions, ModelFamily], bool] = lambda _o, _family: False

    @property
    def produces(self) -> tuple[str, ...]:
        """The names of the checks it makes, in table order."""
        return tuple(spec.name for spec in self.specs)
