"""The table of data-source forms, and :func:`open_source`, which looks a spec up in it.

Adding a source: a module with its :class:`~mixbench.data.sources.base.EvalSource` and an
opener ``open(spec, **options) -> EvalSource``, then one :class:`SourceForm` row in
:data:`SOURCE_FORMS`. The error hints list the forms from the table, so they follow by themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mixbench.data.sources.base import EvalSource
from mixbench.data.sources.folders import FOLDER_FORM, open_folder_source
from mixbench.data.sources.huggingface import open_hf_source
from mixbench.data.sources.synthetic import SyntheticSource
from mixbench.errors import InputError
from mixbench.io import exists


@dataclass(frozen=True)
class SourceForm:
    """One way to name an evaluation source.

    ``claims`` says whether a spec is in this form; ``None`` marks the one fallback, a path,
    which takes every spec no other form claims. ``options`` are those of :func:`open_source`'s
    keywords (``labels``, ``cache_dir``) the opener takes: a ``labels`` given to a form that does
    not take it is an error (the user meant it to be used), a ``cache_dir`` is then ignored (it
    only says where to cache).
    """

    description: str  # how the hints list this form: "FORM for WHAT"
    claims: Callable[[str], bool] | None
    open: Callable[..., EvalSource]
    options: tuple[str, ...] = ()


def _hf_spec(spec: str) -> bool:
    return spec.startswith("hf:")


def _synthetic_spec(spec: str) -> bool:
    return spec == "synthetic" or spec.startswith("synthetic:")


def _open_path(spec: str, *, labels: str | os.PathLike[str] | None) -> EvalSource:
    """The fallback: ``spec`` as a folder path, once it is known to be one."""
    path = Path(spec).expanduser()
    if not exists(path):
        raise InputError(f"no such data source: {spec}", hint=SOURCE_FORMS_HINT)
    if not path.is_dir():
        raise InputError(f"{spec}: not a directory", hint=SOURCE_FORMS_HINT)
    return open_folder_source(spec, labels=labels)


#: Every form a data source can be named in, in the order the hints list them.
SOURCE_FORMS: tuple[SourceForm, ...] = (
    SourceForm(FOLDER_FORM, claims=None, open=_open_path, options=("labels",)),
    SourceForm(
        "hf:NAME[:SPLIT] for a Hugging Face dataset",
        claims=_hf_spec,
        open=open_hf_source,
        options=("cache_dir",),
    ),
    SourceForm("synthetic[:N]", claims=_synthetic_spec, open=SyntheticSource.from_spec),
)


def _forms_hint(forms: tuple[SourceForm, ...]) -> str:
    descriptions = [form.description for form in forms]
    if len(descriptions) == 1:
        return f"give {descriptions[0]}"
    return f"give {', '.join(descriptions[:-1])}, or {descriptions[-1]}"


#: The hint of every "that is not a data source" error: the forms of :data:`SOURCE_FORMS`.
SOURCE_FORMS_HINT = _forms_hint(SOURCE_FORMS)


def _find_form(spec: str) -> SourceForm:
    """The form ``spec`` is in: the first in the table that claims it, else the fallback."""
    for form in SOURCE_FORMS:
        if form.claims is not None and form.claims(spec):
            return form
    return next(form for form in SOURCE_FORMS if form.claims is None)


def open_source(
    spec: str,
    *,
    labels: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> EvalSource:
    """The evaluation source ``spec`` names; :class:`InputError` with a hint when it cannot be."""
    form = _find_form(spec)
    if labels is not None and "labels" not in form.options:
        raise InputError(
            f"--labels {os.fspath(labels)} does not apply to {spec}",
            hint="--labels is for a flat folder of ILSVRC2012_val_*.JPEG files",
        )
    given = {"labels": labels, "cache_dir": cache_dir}
    return form.open(spec, **{name: given[name] for name in form.options})
