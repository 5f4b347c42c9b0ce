"""Every check verify makes: each module of this package defines one :class:`CheckGroup` as
``GROUP``, found here, so adding a check is one module (or one function and one spec in the
module of its group) and nothing else.

>>> from mixbench.verify.checks import CHECK_NAMES
>>> CHECK_NAMES[:3]
('params', 'flops', 'file_size')
"""

from __future__ import annotations

import importlib
import pkgutil

from mixbench.verify.checks.base import CheckContext, CheckGroup, CheckSpec


def _discover() -> tuple[CheckGroup, ...]:
    groups = []
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        group = getattr(importlib.import_module(f"{__name__}.{module.name}"), "GROUP", None)
        if not isinstance(group, CheckGroup):
            raise TypeError(f"{__name__}.{module.name} defines no GROUP: a CheckGroup")
        groups.append(group)
    return tuple(sorted(groups, key=lambda group: group.order))


#: Every check group, in table order.
CHECKS: tuple[CheckGroup, ...] = _discover()
#: Every check by its stable key, in table order (``--require`` takes these).
CHECK_NAMES = tuple(name for group in CHECKS for name in group.produces)
_SPECS = {spec.name: spec for group in CHECKS for spec in group.specs}


def spec_of(name: str) -> CheckSpec | None:
    """The spec of check ``name`` (``None`` for a name no group makes, e.g. an old run's)."""
    return _SPECS.get(name)


__all__ = ["CHECKS", "CHECK_NAMES", "CheckContext", "CheckGroup", "CheckSpec", "spec_of"]
