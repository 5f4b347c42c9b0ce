"""Markdown reports and plots for ``mixbench verify`` (``verify.md.j2``, ``verify_summary.md.j2``).

One model renders as a heading, the counts, the checks table and where it ran; several models
(``verify all``, ``mixbench report``) as a summary table with two plots, then each model's
section. Every text that comes from a card, the user or the results store goes through the ``md``
filter (or :func:`_code_span`), so a hostile card cannot add a table cell, a row or a heading.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mixbench.errors import InputError
from mixbench.formatting import fmt_percent
from mixbench.io import write_atomically
from mixbench.report import render_markdown
from mixbench.report.tables import checks_table, deployed_table, fmt_figure
from mixbench.store import ResultsStore, RunRecord
from mixbench.verify import Check, VerifyReport

PUBLISHED_VS_MEASURED = "published-vs-measured"
ACCURACY_VS_THROUGHPUT = "accuracy-vs-throughput"
SUMMARY_FILE = "verify-summary.md"
#: Versions shown in the environment block, in this order, when the run recorded them.
VERSION_KEYS = ("python", "torch", "timm", "mixbench", "cuda", "cudnn", "gpu", "driver")
#: Marks an images/s figure taken from a stored throughput run rather than the verify run.
STORED_MARK = "†"

_VERDICT_COLOURS = {
    "pass": "tab:green",
    "fail": "tab:red",
    "info": "tab:blue",
    "skipped": "tab:gray",
    "inconclusive": "tab:purple",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p")
_PNG_DPI = 120
_PLOT_TEXT_CHARS = 40


# ------------------------------------------------------------------------------ Markdown


def render_model(report: VerifyReport, *, heading_level: int = 2) -> str:
    """One model: heading with the verdict, counts, checks table and environment block."""
    return _render_model(report, heading_level=heading_level)


def render_summary(
    reports: Sequence[VerifyReport],
    *,
    plots: Sequence[str | Path] = (),
    throughput: Mapping[str, float] | None = None,
    plot_notes: Sequence[str] = (),
) -> str:
    """``verify all``: one row per model, totals, the plots, then each model's section.

    ``throughput`` (model → images/s) fills the images/s column for models whose report has
    no throughput check; such figures are marked, as they come from another run.
    """
    shared = _shared_environment(reports)
    sections = [
        _render_model(report, heading_level=3, with_environment=not shared) for report in reports
    ]
    rows = [_summary_row(report, throughput or {}) for report in reports]
    return render_markdown(
        "verify_summary.md.j2",
        rows=rows,
        totals=_totals(reports),
        stored_mark=STORED_MARK if any(row["stored"] for row in rows) else None,
        plots=[_plot_link(plot) for plot in plots],
        plot_notes=list(plot_notes),
        sections=sections,
        environment=_environment_items(reports[0]) if shared else [],
        code=_code_span,
    )


def _render_model(
    report: VerifyReport,
    *,
    heading_level: int,
    plots: Sequence[str | Path] = (),
    with_environment: bool = True,
    plot_notes: Sequence[str] = (),
) -> str:
    if not 1 <= heading_level <= 6:
        raise ValueError(f"heading_level must be 1 to 6, not {heading_level}")
    counts = report.counts()
    return render_markdown(
        "verify.md.j2",
        heading="#" * heading_level,
        model=report.model,
        status=report.status,
        headline=report.headline(),
        tally=report.tally(),
        # A vacuous PASS (every check skipped) must not read like a verified card.
        nothing_ran=counts["pass"] + counts["fail"] == 0,
        warnings=report.warnings,
        table=checks_table(report.model, report.checks).markdown() if report.checks else "",
        deployed=_deployed_section(report),
        plots=[_plot_link(plot) for plot in plots],
        plot_notes=list(plot_notes),
        facts=_fact_items(report),
        environment=_environment_items(report) if with_environment else [],
        code=_code_span,
    )


def _deployed_section(report: VerifyReport) -> dict[str, str] | None:
    found = deployed_table(report.checks)
    if found is None:
        return None
    table, sentence = found
    return {"table": table.markdown(), "sentence": sentence}


def _summary_row(report: VerifyReport, throughput: Mapping[str, float]) -> dict[str, Any]:
    speed, stored = _images_per_second(report, throughput)
    return {
        "model": report.model,
        # the template upper-cases it: NOT BUILT where nothing failed but nothing was built
        "status": report.verdict.lower(),
        "counts": report.counts(),
        "coverage": report.coverage(),
        "params": _published_measured(_find(report, "params"), fmt_figure),
        "top1": _published_measured(_find(report, "top1"), _fmt_percent),
        "images_per_second": "—" if speed is None else f"{speed:,.1f}",
        "stored": stored,
    }


def _published_measured(check: Check | None, fmt: Callable[[Any], str]) -> str:
    if check is None:
        return "—"
    measured = "skipped" if check.status == "skipped" else fmt(check.measured)
    return f"{fmt(check.published)} / {measured}"


def _totals(reports: Sequence[VerifyReport]) -> dict[str, int]:
    totals = {"models": len(reports), "pass_models": 0, "fail_models": 0, "inconclusive_models": 0}
    totals.update(dict.fromkeys(("pass", "fail", "skipped", "info", "inconclusive"), 0))
    totals.update(ran=0, total=0, not_built_models=0)
    for report in reports:
        # a model that was not built and failed nothing is counted as such, never as passed
        outcome = "not_built" if report.verdict == "NOT BUILT" else report.status
        totals[f"{outcome}_models"] += 1
        for status, count in report.counts().items():
            totals[status] += count
        coverage = report.coverage()
        totals["ran"] += coverage["ran"]
        totals["total"] += coverage["total"]
    return totals


def _fact_items(report: VerifyReport) -> list[dict[str, Any]]:
    """What belongs to this model's run alone: shown in its own section, always."""
    items = [
        _item("card", report.card_source),
        _item("weights", report.weights),
        _item("date", report.created),
        _item("run", None if report.run_id is None else f"#{report.run_id}"),
    ]
    return [item for item in items if item is not None]


def _environment_items(report: VerifyReport) -> list[dict[str, Any]]:
    """Where and how it ran: the block the summary shows once when every model shares it."""
    items = [
        _item("device", report.device),
        _item("versions", _versions(report.environment)),
        _item("git sha", report.git_sha, code=True),
        _item("command", report.command, code=True),
    ]
    return [item for item in items if item is not None]


def _item(key: str, text: object, *, code: bool = False) -> dict[str, Any] | None:
    if text is None or str(text).strip() == "":
        return None
    return {"key": key, "text": str(text), "code": code}


def _versions(environment: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{key} {environment[key]}"
        for key in VERSION_KEYS
        if environment.get(key) not in (None, "")
    )


def _shared_environment(reports: Sequence[VerifyReport]) -> bool:
    """True when every report would show the same environment block (so show it once)."""
    blocks = {repr(_environment_items(report)) for report in reports}
    return len(blocks) == 1


def _plot_link(plot: str | Path) -> dict[str, str]:
    name = Path(plot).as_posix()
    # Percent-encoding keeps a space or parenthesis in the file name from ending the link.
    return {"alt": Path(name).stem, "url": quote(name, safe="/")}


def _code_span(text: str) -> str:
    """``text`` as one Markdown code span that no backtick inside it can close early.

    Backslash escapes do not work inside code spans, so the ``md`` filter cannot protect one;
    CommonMark instead closes a span only on a backtick run as long as the opening one, so the
    fence is one backtick longer than the longest run in the text.
    """
    text = " ".join(str(text).split())
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    # One space each side is stripped by the parser; it keeps an edge backtick off the fence.
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fmt_percent(value: object) -> str:
    number = _number(value)
    return fmt_percent(number) if number is not None else fmt_figure(value)


# ------------------------------------------------------------------------------ plots


#: Above this many models a plot names none of them in its legend (an audit has hundreds).
LEGEND_MODELS = 12


def plot_published_vs_measured(reports: Sequence[VerifyReport], path: Path) -> Path | None:
    """measured / published − 1 (%) per check, one marker per model, coloured by verdict;
    None (and no file) when no check has two numeric figures.

    Each check gets its own row and its own scale: a FLOPs figure 22 % off must not flatten
    a parameter count 0.1 % off into the zero line.
    """
    points = _relative_points(reports)
    if not points:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    checks = list(dict.fromkeys(point["check"] for point in points))
    labels = {point["check"]: point["label"] for point in reversed(points)}  # first one wins
    models = list(dict.fromkeys(point["model"] for point in points))
    figure = Figure(figsize=(7.5, 1.0 + 1.0 * len(checks)))
    FigureCanvasAgg(figure)
    rows = figure.subplots(len(checks), 1, squeeze=False, gridspec_kw={"hspace": 1.1})[:, 0]
    spread = 0.5 / len(models)  # models side by side within a row: equal values stay visible
    for axes, check in zip(rows, checks, strict=True):
        mine = [point for point in points if point["check"] == check]
        for number, model in enumerate(models):
            theirs = [point for point in mine if point["model"] == model]
            offset = (number - (len(models) - 1) / 2) * spread
            axes.scatter(
                [point["percent"] for point in theirs],
                [offset] * len(theirs),
                marker=_MARKERS[number % len(_MARKERS)],
                c=[_VERDICT_COLOURS.get(point["status"], "black") for point in theirs],
                edgecolors="black",
                linewidths=0.4,
                zorder=3,
            )
        axes.axvline(0, color="black", linewidth=0.8, zorder=2)
        axes.set_yticks([0], [_plain(labels[check])])
        axes.set_ylim(-0.5, 0.5)
        axes.grid(axis="x", alpha=0.3)
        axes.tick_params(axis="x", labelsize=7)
    rows[-1].set_xlabel("measured / published − 1 (%), each check on its own scale")
    rows[0].set_title("Published vs measured")
    statuses = list(dict.fromkeys(point["status"] for point in points))
    handles = [
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            color=_VERDICT_COLOURS.get(status, "black"),
            label=_plain(status),
        )
        for status in statuses
    ]
    if len(models) <= LEGEND_MODELS:
        handles += [
            Line2D(
                [],
                [],
                linestyle="",
                marker=_MARKERS[number % len(_MARKERS)],
                markerfacecolor="white",
                markeredgecolor="black",
                label=_plain(model),
            )
            for number, model in enumerate(models)
        ]
    else:  # hundreds of names would be a legend taller than the plot: the count is said
        rows[0].set_title(f"Published vs measured: {len(models)} models, one marker each")
    rows[0].legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8
    )
    return _save(figure, path)


def plot_accuracy_vs_throughput(
    reports: Sequence[VerifyReport],
    path: Path,
    *,
    throughput: Mapping[str, float] | None = None,
) -> Path | None:
    """Top-1 against images/s, one labelled point per model; a published top-1 stands in
    (hollow marker) where none was measured. None when no model has both figures."""
    points = _accuracy_points(reports, throughput or {})
    if not points:
        return None
    figure, axes = _figure(7.0, 4.5)
    for measured, label, style in (
        (True, "measured top-1", {"color": "tab:blue"}),
        (False, "published top-1 (not measured)", {"facecolors": "none", "edgecolors": "tab:blue"}),
    ):
        chosen = [point for point in points if point["measured"] is measured]
        if chosen:
            axes.scatter(
                [p["x"] for p in chosen], [p["y"] for p in chosen], label=label, zorder=3, **style
            )
    many = len(points) > LEGEND_MODELS
    for point in [] if many else points:  # hundreds of labels would hide the points
        axes.annotate(
            _plain(point["model"]),
            (point["x"], point["y"]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=8,
        )
    # what the images/s are of: the implementation, batch and precision the verify runs timed
    timed = sorted({c.label for r in reports for c in r.checks if c.name == "throughput" and c.ran})
    axes.set_xlabel(
        f"native (optimised) {_plain(timed[0])}" if len(timed) == 1 else "images/s, native"
    )
    axes.set_ylabel("ImageNet top-1 (%)")
    # one model is one point: say so, rather than let it pass for a comparison
    alone = " (one model: nothing to compare it with)" if len(points) == 1 else ""
    count = f": {len(points)} models, unlabelled" if many else ""
    axes.set_title(f"Accuracy vs throughput{alone}{count}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _save(figure, path)


def _relative_points(reports: Sequence[VerifyReport]) -> list[dict[str, Any]]:
    points = []
    for report in reports:
        for check in report.checks:
            published, measured = _number(check.published), _number(check.measured)
            if published is None or measured is None or published == 0:
                continue  # no ratio: a text figure, a missing one, or division by zero
            points.append(
                {
                    "check": check.name,
                    "label": check.label,
                    "model": report.model,
                    "percent": 100 * (measured / published - 1),
                    "status": str(check.status),
                }
            )
    return points


def _accuracy_points(
    reports: Sequence[VerifyReport], throughput: Mapping[str, float]
) -> list[dict[str, Any]]:
    points = []
    for report in reports:
        speed, _ = _images_per_second(report, throughput)
        top1 = _find(report, "top1")
        if speed is None or top1 is None:
            continue
        measured, published = _number(top1.measured), _number(top1.published)
        accuracy = measured if measured is not None else published
        if accuracy is not None:
            points.append(
                {"model": report.model, "x": speed, "y": accuracy, "measured": measured is not None}
            )
    return points


def _images_per_second(
    report: VerifyReport, throughput: Mapping[str, float]
) -> tuple[float | None, bool]:
    """The verify run's own figure, else the stored one; and whether it is the stored one."""
    check = _find(report, "throughput")
    own = _number(check.measured) if check is not None else None
    if own is not None:
        return own, False
    stored = _number(throughput.get(report.model))
    return stored, stored is not None


def _figure(width: float, height: float) -> tuple[Any, Any]:
    # Figure + Agg canvas rather than pyplot: no global backend switch, no figure registry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure: Any, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_PNG_DPI, bbox_inches="tight")
    path = Path(path)
    write_atomically(path, buffer.getvalue())
    return path


def _plain(text: object) -> str:
    """Card text as literal matplotlib text: one line, not so long it swamps the plot, and
    ``$`` cannot start mathtext."""
    line = " ".join(str(text).split())
    if len(line) > _PLOT_TEXT_CHARS:
        line = line[: _PLOT_TEXT_CHARS - 1] + "…"
    return line.replace("$", r"\$")


# ------------------------------------------------------------------------------ files


def write_markdown_report(
    reports: Sequence[VerifyReport], path: Path, *, step_summary: bool = True
) -> list[Path]:
    """The report at ``path`` (plots beside it); appended to ``$GITHUB_STEP_SUMMARY`` too
    when that is set. Returns the files written (the job summary is not one of ours)."""
    path = Path(path)
    written, text = _write_report(reports, path, summary=len(reports) != 1)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary and summary_file:
        _append(Path(summary_file), text)
    return written


def write_markdown(reports: Sequence[VerifyReport], path: Path | None) -> None:
    """``verify --report``: the report at ``path`` (plots beside it) and in
    ``$GITHUB_STEP_SUMMARY``; without a path, in ``$GITHUB_STEP_SUMMARY`` alone when set."""
    if path is not None:
        write_markdown_report(reports, path)
    else:
        append_step_summary(reports)


def append_step_summary(reports: Sequence[VerifyReport]) -> bool:
    """Append the reports (text only) to ``$GITHUB_STEP_SUMMARY`` when it is set; whether it was."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_file or not reports:
        return False
    if len(reports) == 1:
        text = _render_model(reports[0], heading_level=2, plots=())
    else:
        text = render_summary(reports)
    _append(Path(summary_file), text)
    return True


def latest_verify_reports(
    store: ResultsStore, models: Sequence[str] | None = None
) -> list[VerifyReport]:
    """The newest verify run of each model (of ``models`` only, when given), by model name.
    Without ``models``: the models the newest verify command verified (the newest runs that
    share its command line), not every model ever verified into the store."""
    if models is not None:  # one small query per model instead of reading every run
        records = [r for model in models for r in store.runs(kind="verify", model=model, limit=1)]
    else:
        records = _newest_command(store.runs(kind="verify"))
    newest: dict[str, VerifyReport] = {}
    for record in records:
        if record.model not in newest:  # newest first: the first seen is the latest
            newest[record.model] = _from_record(store, record)
    return [newest[model] for model in sorted(newest)]


def _newest_command(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs of the newest verify command: those stored by its invocation (runs stored
    before invocations were recorded: those up to the first of another command line)."""
    if not records:
        return []

    def invocation(record: RunRecord) -> object:
        return record.details.get("invocation") or ("command", record.command)

    newest = invocation(records[0])
    found = []
    for record in records:
        if invocation(record) != newest:
            break
        found.append(record)
    return found


def latest_throughput(store: ResultsStore, implementation: str = "native") -> dict[str, float]:
    """Model → images/s of ``implementation``'s newest stored throughput run."""
    speeds: dict[str, float] = {}
    for record in store.runs(kind="throughput"):
        if record.model in speeds or record.metrics.get("implementation") != implementation:
            continue
        speed = _number(record.metrics.get("images_per_second"))
        if speed is not None:
            speeds[record.model] = speed
    return speeds


def render_from_store(
    store: ResultsStore, out: Path, *, models: Sequence[str] | None = None
) -> list[Path]:
    """``mixbench report``: ``out/verify-summary.md`` (with the plots) over the newest verify
    run of each model, and ``out/verify-<model>.md`` for each. Returns the files written."""
    reports = latest_verify_reports(store, models)
    missing = sorted(set(models or ()) - {report.model for report in reports})
    if not reports or missing:
        which = f" for {', '.join(missing)}" if missing and reports else ""
        raise InputError(
            f"{store.path}: no verify runs{which}", hint="run `mixbench verify MODEL|all` first"
        )
    out = Path(out)
    _make_directory(out)
    written, _ = _write_report(
        reports, out / SUMMARY_FILE, summary=True, throughput=latest_throughput(store)
    )
    names: set[str] = set()
    for report in reports:
        page = out / _model_file_name(report, names)
        write_atomically(page, render_model(report).encode())
        written.append(page)
    return written


def rendered_json(out: Path, written: Sequence[Path], reports: Sequence[VerifyReport]) -> dict:
    """``report --json``: the files written and the runs rendered (model, run id, status,
    time)."""
    runs = [
        {"model": r.model, "run_id": r.run_id, "status": r.status, "created": r.created}
        for r in reports
    ]
    return {"out": str(out), "written": [str(path) for path in written], "runs": runs}


#: What a page says of a plot it could not draw.
PLOT_NOT_DRAWN = {
    PUBLISHED_VS_MEASURED: "Published vs measured: not drawn: no check measured a figure the "
    "card publishes.",
    ACCURACY_VS_THROUGHPUT: "Accuracy vs throughput: not drawn: no model has both a top-1 and "
    "images/s (pass --throughput to verify, or store a throughput run of the model).",
}


def _write_report(
    reports: Sequence[VerifyReport],
    path: Path,
    *,
    summary: bool,
    throughput: Mapping[str, float] | None = None,
) -> tuple[list[Path], str]:
    """Write the plots and the page; returns the files and the page's text without images."""
    _make_directory(path.parent)
    drawn = {
        PUBLISHED_VS_MEASURED: plot_published_vs_measured(
            reports, _plot_path(path, PUBLISHED_VS_MEASURED)
        ),
        ACCURACY_VS_THROUGHPUT: plot_accuracy_vs_throughput(
            reports, _plot_path(path, ACCURACY_VS_THROUGHPUT), throughput=throughput
        ),
    }
    plots = [plot for plot in drawn.values() if plot is not None]
    # a plot left out is said, never silently missing
    notes = [PLOT_NOT_DRAWN[kind] for kind, plot in drawn.items() if plot is None]
    names = [plot.name for plot in plots]  # beside the page: the bare name resolves

    def render(links: Sequence[str]) -> str:
        if summary:
            return render_summary(reports, plots=links, throughput=throughput, plot_notes=notes)
        return _render_model(reports[0], heading_level=2, plots=links, plot_notes=notes)

    write_atomically(path, render(names).encode())
    return [path, *plots], render(())


def _plot_path(page: Path, kind: str) -> Path:
    return page.with_name(f"{page.stem}-{kind}.png")


def _model_file_name(report: VerifyReport, taken: set[str]) -> str:
    """``verify-<model>.md`` with a name safe as a file name; a clash gets the run id."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", report.model).lstrip(".") or "model"
    name = f"verify-{safe}.md"
    if name in taken:
        name = f"verify-{safe}-{report.run_id if report.run_id is not None else len(taken)}.md"
    taken.add(name)
    return name


def _append(path: Path, text: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as stream:
            # A blank line first, so this report never continues the previous one's table.
            stream.write(("\n" if stream.tell() else "") + text)
    except OSError as error:
        raise InputError(
            f"{path}: cannot append the job summary: {error.strerror or error}",
            hint="check GITHUB_STEP_SUMMARY, or unset it",
        ) from error


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{directory}: cannot create: {error.strerror or error}") from error


def _from_record(store: ResultsStore, record: RunRecord) -> VerifyReport:
    try:
        return VerifyReport.from_run_record(record)
    except (TypeError, ValueError, AttributeError) as error:  # details edited or damaged
        raise InputError(
            f"{store.path}: run {record.id} is not a readable verify run ({error})",
            hint="`mixbench runs` lists the stored runs",
        ) from error


# ------------------------------------------------------------------------------ helpers


def _find(report: VerifyReport, name: str) -> Check | None:
    return next((check for check in report.checks if check.name == name), None)


def _number(value: object) -> float | None:
    """A finite int or float as a float; anything else (text, bool, NaN) is None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
