"""The runtime registry and the names users type for implementations.

>>> [i.name for i in parse_implementations("native,ort,native+openvino,timm+nhwc+compile")]
['native', 'ort', 'native+openvino', 'timm+nhwc+compile']

A name is ``GRAPH[+noopt][+MODIFIER...][+RUNTIME][+MODIFIER...]`` in any order after the graph:
``native`` (mixbench's optimised MixNet; ``+noopt`` as built) or ``timm`` (timm's model), and
at most one runtime token (none: PyTorch eager). A standalone runtime's token alone means timm's
graph through it: ``ort`` is ``timm+ort``, ``openvino`` is ``timm+openvino``.
"""

from __future__ import annotations

import difflib

from mixbench.errors import InputError
from mixbench.runtimes.base import LAYOUTS, Implementation, Runtime

_RUNTIMES: dict[str, Runtime] = {}
GRAPHS = ("native", "timm")


def register_runtime(runtime: Runtime) -> Runtime:
    """Make ``runtime`` known to every command (its name and token must be new)."""
    if not _RUNTIMES and runtime not in _builtin():
        _load_builtin()  # the built-in ones first, so a plug-in cannot take their names
    taken = {r.name for r in _RUNTIMES.values()} | {r.token for r in _RUNTIMES.values()}
    if runtime.name in taken or (runtime.token and runtime.token in taken):
        raise ValueError(f"a runtime named {runtime.name!r} is already registered")
    _RUNTIMES[runtime.name] = runtime
    return runtime


def implementation(
    graph: str,
    runtime: str = "pytorch",
    *,
    optimize: bool = True,
    modifiers: tuple[str, ...] | list[str] = (),
) -> Implementation:
    """An :class:`Implementation`, its name spelled as users type it (see the module doc)."""
    chosen = runtime_named(runtime)
    ordered = _ordered(chosen, list(modifiers))
    optimize = optimize or graph != "native"  # optimize means nothing to timm's graph
    layout = [m for m in ordered if m in LAYOUTS]
    others = [m for m in ordered if m not in LAYOUTS]
    if graph == "timm" and chosen.standalone:
        parts = [chosen.token or chosen.name]
    else:
        parts = [graph]
        if graph == "native" and not optimize:
            parts.append("noopt")
        parts += layout
        if chosen.token:
            parts.append(chosen.token)
    name = "+".join([*parts, *others])
    return Implementation(graph, chosen.name, optimize, ordered, name)  # type: ignore[arg-type]


def runtimes() -> list[Runtime]:
    """Every registered runtime, in registration order."""
    _load_builtin()
    return list(_RUNTIMES.values())


def runtime_named(name: str) -> Runtime:
    _load_builtin()
    if name in _RUNTIMES:
        return _RUNTIMES[name]
    for runtime in _RUNTIMES.values():
        if runtime.token == name:
            return runtime
    raise KeyError(name)


def _by_token() -> dict[str, Runtime]:
    return {r.token: r for r in runtimes() if r.token}


def _load_builtin() -> None:
    if not _RUNTIMES:
        from mixbench.runtimes.builtin import BUILTIN

        for runtime in BUILTIN:
            register_runtime(runtime)


def _builtin() -> tuple[Runtime, ...]:
    from mixbench.runtimes.builtin import BUILTIN

    return BUILTIN


def implementation_words() -> list[str]:
    """Every word a name may contain, for did-you-mean and the ``--impl`` help."""
    words = [*GRAPHS, "noopt", *LAYOUTS]
    for runtime in runtimes():
        if runtime.token:
            words.append(runtime.token)
        words += [m for m in runtime.modifiers if m not in words]
    return words


def _unknown(word: str, item: str, text: str) -> InputError:
    close = difflib.get_close_matches(word, implementation_words(), n=2, cutoff=0.6)
    tokens = ", ".join(r.token or "" for r in runtimes() if r.standalone)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return InputError(
        f"--impl: unknown word {word!r} in {item!r}"
        + (f" (of {text!r})" if item != text.strip() else ""),
        hint=f"{hint}a name is native or timm (or {tokens}), with optional "
        f"+{', +'.join(w for w in implementation_words() if w not in GRAPHS)}",
    )


def parse_implementation(item: str, text: str | None = None) -> Implementation:
    """One name (``native+ort``) → its :class:`Implementation`; unknown words, two runtimes or
    a modifier of another runtime are bad input, with the words that would do."""
    text = text or item
    words = [word.strip() for word in item.split("+")]
    if not words or not words[0]:
        raise InputError(f"--impl: an empty name in {text!r}", hint="e.g. --impl native,timm")
    tokens = _by_token()
    first, rest = words[0], words[1:]
    if first in GRAPHS:
        graph = first
    elif first in tokens and tokens[first].standalone:
        graph, rest = "timm", [first, *rest]
    else:
        raise _unknown(first, item, text)
    chosen = [word for word in rest if word in tokens]
    if len(chosen) > 1:
        raise InputError(
            f"--impl {item!r}: one runtime per name ({' and '.join(chosen)} given)",
            hint="list them as separate names: --impl " + ",".join(f"{graph}+{w}" for w in chosen),
        )
    runtime = tokens[chosen[0]] if chosen else runtime_named("pytorch")
    modifiers: list[str] = []
    optimize = True
    for word in rest:
        if word in tokens:
            continue
        if word == "noopt":
            if graph != "native":
                raise InputError(f"--impl {item!r}: +noopt applies to native only")
            optimize = False
        elif (word in LAYOUTS and runtime.layouts) or word in runtime.modifiers:
            modifiers.append(word)
        else:
            owners = [
                r for r in runtimes() if word in r.modifiers or (word in LAYOUTS and r.layouts)
            ]
            if not owners:
                raise _unknown(word, item, text)
            raise InputError(
                f"--impl {item!r}: +{word} is a modifier of {owners[0].label}, "
                f"not of {runtime.label}",
                hint=_modifier_hint(runtime, item),
            )
    if "nhwc" in modifiers and "nchw" in modifiers:
        raise InputError(f"--impl {item!r}: +nhwc and +nchw contradict each other")
    return implementation(graph, runtime.name, optimize=optimize, modifiers=modifiers)


def _modifier_hint(runtime: Runtime, item: str) -> str:
    own = [*(LAYOUTS if runtime.layouts else ()), *runtime.modifiers]
    if not own:
        return f"{runtime.label} takes no modifiers: drop it from {item!r}"
    return f"{runtime.label} takes +{', +'.join(own)}"


def _ordered(runtime: Runtime, modifiers: list[str]) -> tuple[str, ...]:
    order = [*LAYOUTS, *runtime.modifiers]
    return tuple(sorted(dict.fromkeys(modifiers), key=order.index))


def parse_implementations(
    text: str, *, compile: bool = False, cuda_graphs: bool = False, optimize: bool = True
) -> list[Implementation]:
    """``"native,timm+compile"`` → implementations. The flags apply to every PyTorch row:
    ``compile`` (``--compile``) compiles eager rows, ``cuda_graphs`` adds ``+graphs``,
    ``optimize=False`` (``--no-optimize``) runs native as built."""
    found: list[Implementation] = []
    for item in (part.strip() for part in text.split(",")):
        implementation = parse_implementation(item, text)
        implementation = _with_flags(implementation, compile, cuda_graphs, optimize)
        if implementation.name in {known.name for known in found}:
            raise InputError(f"--impl: {implementation.name} is listed twice")
        found.append(implementation)
    if not found:
        raise InputError("--impl names no implementation", hint="e.g. --impl native,timm")
    return found


def _with_flags(
    made: Implementation, compile: bool, cuda_graphs: bool, optimize: bool
) -> Implementation:
    runtime = made.runtime
    modifiers = list(made.modifiers)
    if compile and runtime == "pytorch":
        runtime = "compile"
    if cuda_graphs and "graphs" in runtime_named(runtime).modifiers and "graphs" not in modifiers:
        modifiers.append("graphs")
    return implementation(
        made.graph, runtime, optimize=made.optimize and optimize, modifiers=modifiers
    )


def runs_timm_graph(implementation: str) -> bool:
    """Whether a row named ``implementation`` runs timm's own graph (eager, compiled, or
    through another runtime): the baselines mixbench's paths are ranked against."""
    try:
        return parse_implementation(implementation).is_timm
    except InputError:
        return implementation.split("+")[0] == "timm"
