"""The ``mixbench`` command line: parse arguments, call the Python API, render with rich.

Exit codes: 0 all good, 1 differences found / verification failed, 2 bad input or usage,
3 an internal error (a bug: please report it; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from mixbench import __version__
from mixbench.diff import DiffReport, diff_sources
from mixbench.errors import InputError, MixbenchError
from mixbench.formatting import fmt_count, fmt_delta, fmt_percent, fmt_value
from mixbench.index import ModelCard, check_index, load_index
from mixbench.index.sources import NAMED_SOURCES, load_source
from mixbench.progress import EvalProgress, StepProgress
from mixbench.report import render_markdown
from mixbench.store import ResultsStore, RunRecord

if TYPE_CHECKING:
    from mixbench.evaluate import EvalReport

# Off a terminal (CI logs, pipes) rich would assume 80 columns and squeeze every table.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
EXIT_DIFFERENT = 1
EXIT_INTERNAL = 3


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta["mixbench.debug"] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    envvar="MIXBENCH_DEBUG",
    help="Show Python tracebacks for errors.",
)
index_option = click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    envvar="MIXBENCH_INDEX",
    help="Model-index file or directory (default: the published MixNet cards).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MIXBENCH_DB",
    help="Results database (default: $XDG_DATA_HOME/mixbench/results.sqlite).",
)


class MixbenchGroup(click.Group):
    """Turns project errors into one-line messages and exit codes instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except MixbenchError as error:
            if ctx.meta.get("mixbench.debug"):
                raise
            for line in error.lines():
                click.echo(f"error: {line}", err=True)
            if error.hint:
                click.echo(f"hint: {error.hint}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception as error:
            if ctx.meta.get("mixbench.debug"):
                raise
            click.echo(f"internal error: {type(error).__name__}: {error}", err=True)
            hint = "this is a bug in mixbench; rerun with --debug for the traceback"
            click.echo(f"hint: {hint}", err=True)
            ctx.exit(EXIT_INTERNAL)


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(cls=MixbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mixbench")
@debug_option
def cli() -> None:
    """Benchmark MixNet classifiers and verify their model cards: published vs measured."""


# ---------------------------------------------------------------------------- model cards


def _card_row(card: ModelCard) -> list[str]:
    return [
        card.name,
        card.collection or "—",
        fmt_count(card.params),
        fmt_count(card.flops),
        fmt_percent(card.top1),
        fmt_percent(card.top5),
        fmt_value(card.image_size),
        fmt_value(card.crop_pct),
        card.interpolation or "—",
    ]


def _warn_notes(
    notes: tuple[str, ...] | list[str],
    warnings: tuple[Any, ...] | list[Any] = (),
    *,
    hint: str | None = "fix the key, or pass --strict to treat unknown keys as errors",
) -> None:
    """Notes, then warnings (misspelled keys: never passed over silently) and what to do."""
    for note in notes:
        click.echo(f"note: {note}", err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if warnings and hint:
        click.echo(f"hint: {hint}", err=True)


@cli.command("list")
@index_option
@click.option("--strict", is_flag=True, help="Treat every unknown card key as an error.")
@json_option
@debug_option
def list_cards(index_path: Path | None, strict: bool, as_json: bool) -> None:
    """Every model card with its published figures."""
    index = load_index(index_path, strict=strict)
    if as_json:
        print_json([card.to_dict() for card in index])
        return
    table = Table(title=f"{len(index)} model cards", title_justify="left")
    numeric = ("params", "FLOPs", "top-1", "top-5", "size", "crop")
    for header in ("model", "collection", *numeric, "interp."):
        table.add_column(header, justify="right" if header in numeric else "left")
    for card in index:
        table.add_row(*_card_row(card))
    console.print(table)
    _warn_notes(index.notes, index.warnings)


@cli.command("show")
@click.argument("name")
@index_option
@click.option("--strict", is_flag=True, help="Treat every unknown card key as an error.")
@json_option
@debug_option
def show_card(name: str, index_path: Path | None, strict: bool, as_json: bool) -> None:
    """One model card, normalised (``--json``: numbers as numbers, warnings included)."""
    card = load_index(index_path, strict=strict)[name]
    if as_json:
        print_json(card.to_dict())
        return
    table = Table(title=card.name, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    rows: list[tuple[str, object]] = [
        ("collection", card.collection),
        ("paper", card.paper.title or card.paper.url if card.paper else None),
        ("params", f"{fmt_value(card.params)} ({fmt_count(card.params)})" if card.params else None),
        ("FLOPs", f"{fmt_value(card.flops)} ({fmt_count(card.flops)})" if card.flops else None),
        ("file size", f"{fmt_value(card.file_size)} bytes" if card.file_size else None),
        ("image size", card.image_size),
        ("crop pct", card.crop_pct),
        ("interpolation", card.interpolation),
        ("architecture", ", ".join(card.architecture)),
        ("training data", ", ".join(card.training_data)),
        ("training techniques", ", ".join(card.training_techniques)),
        ("code", card.code_url),
        ("weights", card.weights_url),
    ]
    for result in card.results:
        for metric in result.metrics.values():
            rows.append((f"{metric.published_name} ({result.dataset})", fmt_value(metric.value)))
    rows.append(("source", str(card.source) if card.source else None))
    for label, value in rows:
        if value not in (None, ""):
            table.add_row(label, fmt_value(value))
    console.print(table)
    _warn_notes(card.notes, card.warnings)


@cli.group("index")
def index_group() -> None:
    """Check model-index sources."""


@index_group.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--strict", is_flag=True, help="Treat every unknown key as an error, not only misspellings."
)
@json_option
@debug_option
def index_check(path: Path | None, strict: bool, as_json: bool) -> None:
    """Validate a model-index file or directory: exit 0 when clean, 2 with problems.

    Unknown keys close to a known one (``Paramters``) are warnings; ``--strict`` makes every
    unknown key a problem.
    """
    index, problems = check_index(path, strict=strict)
    shown = str(path) if path else "the packaged index"
    # Under --strict the warnings are among the problems: say each once.
    warnings = () if strict else index.warnings
    if as_json:
        print_json(
            {
                "source": shown,
                "ok": not problems,
                "strict": strict,
                "models": len(index),
                "files": list(index.files),
                "problems": [p.__dict__ for p in problems],
                "warnings": [w.to_dict() for w in index.warnings],
                "notes": list(index.notes),
            }
        )
    else:
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        _warn_notes(index.notes, warnings, hint=None)
        counted = f", {len(warnings)} warning(s)" if warnings else ""
        if problems:
            click.echo(f"{len(problems)} problem(s){counted} in {shown}", err=True)
            fix = "fix the fields named above"
            if strict and index.unknown_keys:
                fix += "; --strict rejects every unknown key (without it, only misspellings warn)"
            click.echo(f"hint: {fix}", err=True)
        else:
            console.print(
                f"[green]ok[/]: {shown}: {len(index)} models in {len(index.collections)} "
                f"collections, {len(index.files)} files{counted}"
            )
        if warnings:
            hint = "fix the key, or pass --strict to treat unknown keys as errors"
            click.echo(f"hint: {hint}", err=True)
    if problems:
        sys.exit(2)


# ---------------------------------------------------------------------------- diff


def _diff_table(report: DiffReport, rows: list[Any]) -> Table:
    table = Table(title=f"{report.label_a} vs {report.label_b}", title_justify="left")
    for header, justify in (
        ("model", "left"),
        ("field", "left"),
        (report.label_a, "right"),
        (report.label_b, "right"),
        ("Δ", "right"),
        ("verdict", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        model = row.model_a if row.model_a == row.model_b else f"{row.model_a} ({row.model_b})"
        verdict = "[green]agrees[/]" if row.agree else "[red]differs[/]"
        values = (fmt_value(row.a), fmt_value(row.b), fmt_delta(row.delta))
        table.add_row(model, row.field, *values, verdict)
    return table


@cli.command("diff")
@click.argument("source_a", metavar="A")
@click.argument("source_b", metavar="B")
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Allowed |Δ| in percentage points for accuracies.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "md", "json"]),
    default="table",
    show_default=True,
    help="md: a Markdown table for CI comments.",
)
@click.option("--all", "show_all", is_flag=True, help="List agreeing fields too.")
@click.option(
    "--dataset",
    metavar="NAME",
    help="The dataset a results CSV is on (imagenet, imagenet-real, ...); needed unless the "
    "file is named results-<dataset>.csv.",
)
@index_option
@json_option
@debug_option
def diff(
    source_a: str,
    source_b: str,
    tolerance: float,
    fmt: str,
    show_all: bool,
    dataset: str | None,
    index_path: Path | None,
    as_json: bool,
) -> None:
    """Compare two sources model by model, field by field; exit 1 when any field differs.

    A and B are model-index files or directories, timm results CSVs, or one of:
    index, timm:imagenet, timm:imagenet-real, timm:imagenetv2. Fields only one side has are
    listed as not compared; exit 2 when nothing at all could be compared.
    """
    a = load_source(source_a, index_path=index_path, dataset=dataset)
    b = load_source(source_b, index_path=index_path, dataset=dataset)
    if dataset is not None and not (a.used_dataset or b.used_dataset):
        raise InputError(
            f"--dataset {dataset}: neither {a.label} nor {b.label} is a results CSV file",
            hint="drop --dataset: model indexes and the timm:* tables name their datasets",
        )
    report = diff_sources(
        a.cards,
        b.cards,
        tolerance=tolerance,
        label_a=a.label,
        label_b=b.label,
        notes=[*a.notes, *b.notes],
    )
    rows = report.comparisons if show_all else report.differences
    if as_json or fmt == "json":
        print_json(report.to_dict())
    elif fmt == "md":
        click.echo(render_markdown("diff.md.j2", report=report, rows=rows), nl=False)
    else:
        if rows:
            console.print(_diff_table(report, rows))
        if report.pairs:
            not_compared = report.not_compared()
            verdict = (
                "[red]nothing compared[/]"  # never "0 differ": that would read as agreement
                if report.compared_nothing
                else f"{len(report.comparisons)} fields compared, "
                f"[{'red' if report.differences else 'green'}]{len(report.differences)} differ[/]"
                + (f" (tolerance ±{tolerance:g} points)" if tolerance else "")
            )
            console.print(
                f"{len(report.pairs)} models matched, {verdict}"
                + (f"; {len(report.one_sided)} not compared:" if not_compared else "")
            )
            for line in not_compared:
                click.echo(f"  one side only: {line}")
        if report.only_a:
            click.echo(f"only in {report.label_a}: {', '.join(report.only_a)}")
        if report.only_b:
            listed = ", ".join(report.only_b) if len(report.only_b) <= 20 else "--json lists them"
            click.echo(f"{len(report.only_b)} models only in {report.label_b}: {listed}")
        _warn_notes(report.notes, report.warnings, hint="fix the keys named above")
    if not report.pairs:
        named = ", ".join(NAMED_SOURCES)
        raise InputError(
            f"nothing to compare: no model is in both {a.label} and {b.label}",
            hint="models match by name (a timm tag such as .ra_in1k is dropped when the other "
            f"side has none); named sources: {named}",
        )
    if report.compared_nothing:
        raise InputError(
            f"nothing to compare: the {len(report.pairs)} models in both {a.label} and "
            f"{b.label} share no field",
            hint="the fields each side has are listed above; for a results CSV, check --dataset",
        )
    if not report.ok:
        sys.exit(EXIT_DIFFERENT)


# ---------------------------------------------------------------------------- models

model_help = "A model name (mixnet_s ... tf_mixnet_l, or timm's name.tag) or a YAML config path."


@cli.command("predict")
@click.argument("model_spec", metavar="MODEL")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
@click.option("--top", "top_k", type=click.IntRange(min=1), default=5, show_default=True)
@index_option
@json_option
@debug_option
def predict(
    model_spec: str,
    images: tuple[Path, ...],
    weights: Path | None,
    pretrained: bool,
    top_k: int,
    index_path: Path | None,
    as_json: bool,
) -> None:
    """Top-k ImageNet classes for IMAGE..., with the card's preprocessing."""
    from mixbench.predict import predict_images
    from mixbench.resolve import resolve_model

    resolved = resolve_model(
        model_spec, weights=weights, pretrained=pretrained, index_path=index_path
    )
    if not resolved.has_weights:
        click.echo(
            "warning: no weights given, the model is randomly initialised "
            "(pass --weights FILE or --pretrained)",
            err=True,
        )
    predictions = predict_images(resolved.model, images, resolved.preprocessing, top_k=top_k)
    if as_json:
        print_json(
            {
                "model": resolved.name,
                "weights": resolved.weights,
                "preprocessing": resolved.preprocessing.__dict__,
                "predictions": [p.to_dict() for p in predictions],
            }
        )
        return
    for prediction in predictions:
        table = Table(title=prediction.image, title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("class")
        table.add_column("probability", justify="right")
        for rank, score in enumerate(prediction.top, start=1):
            table.add_row(str(rank), f"{score.name} ({score.label})", f"{score.probability:.4f}")
        console.print(table)


@cli.command("flops")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@click.option("--image-size", type=click.IntRange(min=32), help="Default: the card's image size.")
@index_option
@json_option
@debug_option
def flops(
    model_specs: tuple[str, ...], image_size: int | None, index_path: Path | None, as_json: bool
) -> None:
    """The card's FLOPs against every named counting convention, integer for integer.

    Per model: the convention and input (H×W) that reproduce the published number, what that
    convention counts at the card's own size, fvcore MACs and FLOPs (= 2 × MACs) there, and
    the verdict: pass (reproduced at the card's size), fail (only at another input), info
    (nothing reproduces it). Default: every model of the index.
    """
    from mixbench.measure.complexity import CONVENTIONS, explain_flops, size_text
    from mixbench.resolve import resolve_model

    index = load_index(index_path)
    specs = model_specs or tuple(card.name for card in index)
    findings = []
    for spec in specs:
        resolved = resolve_model(spec, index=index)
        card = resolved.card
        size = image_size or (card.image_size if card else None)
        findings.append(
            explain_flops(
                resolved.model,
                resolved.name,
                image_size=size or resolved.preprocessing.image_size,
                published=card.flops if card else None,
            )
        )
    if as_json:
        print_json([finding.to_dict() for finding in findings])
        return
    table = Table(title="FLOPs: what the card's figure counts", title_justify="left")
    headers = (
        "model",
        "S",
        "card FLOPs",
        "reproduced by",
        "at H×W",
        "same rule at S×S",
        "fvcore MACs",
        "fvcore FLOPs",
        "verdict",
    )
    for header in headers:
        left = header in ("model", "reproduced by", "at H×W", "verdict")
        table.add_column(header, justify="left" if left else "right")
    for finding in findings:
        verdict = finding.verdict
        convention = CONVENTIONS.get(verdict.convention or "")
        style = _VERDICT_STYLE[verdict.status]
        table.add_row(
            finding.model,
            str(finding.image_size),
            fmt_value(finding.published),
            convention.label if convention else ("no convention" if finding.published else "—"),
            size_text(verdict.input_size) if verdict.input_size else "—",
            fmt_value(verdict.count_at_card_size),
            fmt_value(finding.fvcore.macs),
            fmt_value(finding.fvcore.flops),
            f"[{style}]{verdict.status}[/]",
        )
    console.print(table)
    for finding in findings:
        if finding.verdict.status != "pass":
            console.print(f"{finding.model}: {finding.verdict.reason}", highlight=False)
    used = {f.verdict.convention for f in findings if f.verdict.convention}
    for key in (key for key in CONVENTIONS if key in used):
        console.print(f"{CONVENTIONS[key].label}: {CONVENTIONS[key].description}.", highlight=False)


# ---------------------------------------------------------------------------- evaluation


def _raise_interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm_as_on_ctrl_c() -> None:
    """``kill`` stops a run the way Ctrl-C does: progress saved, one line saying so."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)


def _is_main_rank() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _eval_table(report: EvalReport) -> Table:
    table = Table(title=f"{report.model} on {report.data['spec']}", title_justify="left")
    for header in ("images", "top-1", "top-5"):
        table.add_column(header, justify="right")
    row = [
        fmt_count(report.metrics.count),
        fmt_percent(report.metrics.top1),
        fmt_percent(report.metrics.top5),
    ]
    if report.real is not None:
        table.add_column("ReaL top-1", justify="right")
        table.add_column("ReaL top-5", justify="right")
        row += [fmt_percent(report.real.top1), fmt_percent(report.real.top5)]
    table.add_column("unreadable", justify="right")
    table.add_column("images/s", justify="right")
    table.add_column("run", justify="right")
    row += [
        str(len(report.bad_images)),
        f"{report.timing['images_per_second']:.1f}",
        str(report.run_id) if report.run_id is not None else "—",
    ]
    table.add_row(*row)
    return table


def _write_json_file(path: Path, data: object) -> None:
    """Whole or not at all: a reader never sees a half-written result."""
    text = json.dumps(data, indent=2, default=str)
    if str(path) == "-":
        click.echo(text)
        return
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text + "\n")
    partial.replace(path)


def _check_writable(path: Path | None) -> None:
    if path is not None and str(path) != "-" and not path.parent.is_dir():
        raise InputError(
            f"--json {path}: the folder {path.parent} does not exist",
            hint="create it first, or pass another path",
        )


@cli.command("eval")
@click.argument("model_spec", metavar="MODEL")
@click.option(
    "--data",
    required=True,
    help="ImageNet-val folder (synset folders, or flat with --labels), hf:NAME[:SPLIT] or "
    "synthetic[:N].",
)
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="Ground truth for a flat val folder: val.txt, LOC_val_solution.csv or TF's synset labels.",
)
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
@click.option("--batch", "batch_size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--workers", type=click.IntRange(min=0), help="DataLoader processes (default: min(4, cores))."
)
@click.option("--device", help="cpu, cuda or cuda:N (default: cuda when present).")
@click.option("--amp", is_flag=True, help="Mixed precision (float16 on GPU, bfloat16 on CPU).")
@click.option("--channels-last", is_flag=True, help="NHWC memory layout.")
@click.option("--real-labels", is_flag=True, help="Also score against ImageNet-ReaL labels.")
@click.option(
    "--on-bad-image",
    type=click.Choice(["skip", "fail"]),
    default="skip",
    show_default=True,
    help="Unreadable images: exclude them with a warning, or stop the run.",
)
@click.option(
    "--checkpoint-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where interrupted runs keep their progress (default: ~/.cache/mixbench/eval).",
)
@click.option("--no-resume", is_flag=True, help="Start afresh and keep no resume log.")
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Hugging Face datasets cache (hf:)."
)
@click.option(
    "--json",
    "json_out",
    metavar="OUT",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Write the full result (per-class breakdown included) as JSON to OUT, '-' for stdout.",
)
@db_option
@index_option
@debug_option
def eval_command(
    model_spec: str,
    data: str,
    labels: Path | None,
    weights: Path | None,
    pretrained: bool,
    batch_size: int,
    workers: int | None,
    device: str | None,
    amp: bool,
    channels_last: bool,
    real_labels: bool,
    on_bad_image: str,
    checkpoint_dir: Path | None,
    no_resume: bool,
    cache_dir: Path | None,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """ImageNet top-1/top-5 of MODEL on --data, with its card's exact preprocessing.

    Several processes or GPUs: torchrun --nproc-per-node N -m mixbench eval ...
    """
    from mixbench.evaluate import EvalOptions, evaluate
    from mixbench.measure.device import pick_device

    _check_writable(json_out)
    _stop_on_sigterm_as_on_ctrl_c()
    main_rank = _is_main_rank()
    options = EvalOptions(
        batch_size=batch_size,
        workers=workers,
        device=pick_device(device),
        amp=amp,
        channels_last=channels_last,
        on_bad_image=on_bad_image,  # type: ignore[arg-type]
        resume=not no_resume,
        checkpoint_dir=checkpoint_dir,
    )
    if weights is None and not pretrained and main_rank:
        click.echo(
            "warning: no weights given, the model is randomly initialised "
            "(pass --weights FILE or --pretrained)",
            err=True,
        )
    with EvalProgress(enabled=main_rank) as progress:
        report = evaluate(
            model_spec,
            data,
            weights=weights,
            pretrained=pretrained,
            labels=labels,
            real_labels=real_labels,
            options=options,
            index_path=index_path,
            cache_dir=cache_dir,
            on_status=progress.update,
            warn=progress.warn,
            store=ResultsStore(db_path) if main_rank else None,
            command=shlex.join(["mixbench", *sys.argv[1:]]),
        )
    if report is None:  # a torchrun rank other than 0: rank 0 reports for all
        return
    if json_out is not None:
        _write_json_file(json_out, report.to_dict())
    if json_out is None or str(json_out) != "-":
        console.print(_eval_table(report))


# ---------------------------------------------------------------------------- speed

speed_options = [
    click.option("--device", help="cpu, cuda or cuda:N (default: cuda when present)."),
    click.option("--amp", is_flag=True, help="Autocast (float16 on GPU, bfloat16 on CPU)."),
    click.option(
        "--dtype",
        type=click.Choice(["float16", "bfloat16", "float32"]),
        help="With --amp: the autocast dtype. Without: cast model and input (pure precision).",
    ),
    click.option("--channels-last", is_flag=True, help="NHWC layout (unless +nchw/+nhwc)."),
    click.option("--compile", "compile_", is_flag=True, help="torch.compile every impl."),
    click.option(
        "--impl",
        "implementations",
        default="native,timm",
        show_default=True,
        help="Comma list of native|timm, each with optional +compile +graphs +nhwc +nchw +noopt.",
    ),
    click.option(
        "--optimize/--no-optimize",
        default=True,
        show_default=True,
        help="Run native through mixbench.optimize (BN folded, MixConv merged ...).",
    ),
    click.option("--image-size", type=click.IntRange(min=32), help="Default: the card's."),
    click.option("--warmup-seconds", type=click.FloatRange(min=0), default=1.0, show_default=True),
    click.option(
        "--json",
        "json_out",
        metavar="OUT",
        type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
        help="Write the full result as JSON to OUT, '-' for stdout.",
    ),
    db_option,
    index_option,
    debug_option,
]


def _with_speed_options(command: Any) -> Any:
    for option in reversed(speed_options):
        command = option(command)
    return command


def _speed_settings(
    *,
    device: str | None,
    batch_size: int | None,
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    optimize: bool,
    image_size: int | None,
    cuda_graphs: bool = False,
    timing: Any,
) -> Any:
    from mixbench.benchmark import SpeedSettings
    from mixbench.measure.device import pick_device

    return SpeedSettings(
        device=pick_device(device),
        batch_size=batch_size,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        image_size=image_size,
        compile=compile_,
        cuda_graphs=cuda_graphs,
        optimize=optimize,
        timing=timing,
    )


def _ratio_text(ratios: list[Any], model: str, implementation: str) -> str:
    return ", ".join(
        f"{r.ratio:.2f}× {r.baseline}"
        for r in ratios
        if r.model == model and r.implementation == implementation
    )


def _throughput_table(report: Any) -> Table:
    from mixbench.formatting import fmt_bytes

    settings = report.settings
    table = Table(
        title=f"throughput, batch {settings['batch_size']}, {settings['precision']}, "
        f"on {report.device}",
        title_justify="left",
        caption=_bandwidth_caption(report),
        caption_justify="left",
    )
    for header in ("model", "impl", "layout"):
        table.add_column(header)
    for header in ("img/s", "min–max", "ms/batch", "peak mem", "traffic/img", "% bw", "speed-up"):
        table.add_column(header, justify="right")
    ratios = report.ratios()
    for result in report.results:
        metrics = result.metrics(report.peak_bandwidth)
        fraction = metrics["bandwidth_fraction"]
        table.add_row(
            result.model,
            result.implementation,
            result.layout,
            f"{metrics['images_per_second']:.1f}",
            f"{metrics['images_per_second_min']:.1f}–{metrics['images_per_second_max']:.1f}",
            f"{metrics['ms_per_batch']:.2f}",
            fmt_bytes(metrics["peak_memory_bytes"]),
            fmt_bytes(metrics["bytes_per_image"]),
            "—" if fraction is None else f"{100 * fraction:.1f}",
            _ratio_text(ratios, result.model, result.implementation) or "—",
        )
    return table


def _bandwidth_caption(report: Any) -> str | None:
    from mixbench.formatting import fmt_bytes

    if report.bandwidth is None:
        return None
    trials = report.settings["timing"]["trials"]
    return (
        f"median of {trials} interleaved trials; % bw: traffic/img × img/s over "
        f"{fmt_bytes(report.bandwidth.peak)}/s ({report.bandwidth.source})"
    )


_ENVIRONMENT_LINE = (
    ("gpu", "GPU"),
    ("driver", "driver"),
    ("cpu", "CPU"),
    ("torch", "torch"),
    ("timm", "timm"),
    ("cuda", "CUDA"),
    ("cudnn", "cuDNN"),
)


def _environment_line(environment: dict[str, str]) -> str:
    """What a speed figure depends on, in one line under its table."""
    return " · ".join(
        f"{label} {environment[key]}" for key, label in _ENVIRONMENT_LINE if key in environment
    )


def _emit(report: Any, json_out: Path | None, table: Table) -> None:
    if json_out is not None:
        _write_json_file(json_out, report.to_dict())
    if json_out is None or str(json_out) != "-":
        console.print(table)
        console.print(_environment_line(report.environment))


@cli.command("throughput")
@click.argument("model_specs", metavar="[MODEL]...", nargs=-1)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    help="Images per batch (default: 256 on GPU, 16 on CPU).",
)
@click.option("--trials", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--trial-seconds", type=click.FloatRange(min=0.01), default=1.0, show_default=True)
@_with_speed_options
def throughput_command(
    model_specs: tuple[str, ...],
    batch_size: int | None,
    trials: int,
    trial_seconds: float,
    device: str | None,
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    implementations: str,
    optimize: bool,
    image_size: int | None,
    warmup_seconds: float,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """Images/s of each MODEL (default: every card) per implementation, side by side.

    Implementations are timed interleaved, trial by trial, in one process; the speed-up column
    compares each native implementation with each timm one.
    """
    from mixbench.benchmark import throughput
    from mixbench.measure.speed import TimingOptions

    _check_writable(json_out)
    _stop_on_sigterm_as_on_ctrl_c()
    settings = _speed_settings(
        device=device,
        batch_size=batch_size,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        compile_=compile_,
        optimize=optimize,
        image_size=image_size,
        timing=TimingOptions(
            trials=trials, trial_seconds=trial_seconds, warmup_seconds=warmup_seconds
        ),
    )
    with StepProgress("throughput") as progress:
        report = throughput(
            list(model_specs) or None,
            settings,
            implementations,
            index_path=index_path,
            on_step=progress.update,
            store=ResultsStore(db_path),
            command=shlex.join(["mixbench", *sys.argv[1:]]),
        )
    _emit(report, json_out, _throughput_table(report))


def _latency_table(report: Any) -> Table:
    settings = report.settings
    table = Table(
        title=f"latency, batch {settings['batch_size']}, {settings['precision']}, "
        f"on {report.device}",
        title_justify="left",
    )
    for header in ("model", "impl", "layout"):
        table.add_column(header)
    for header in ("p50 ms", "p90 ms", "p99 ms", "mean ms", "calls", "speed-up (p50)"):
        table.add_column(header, justify="right")
    ratios = report.ratios()
    for result in report.results:
        stats = result.stats
        table.add_row(
            result.model,
            result.implementation,
            result.layout,
            f"{stats.p50:.3f}",
            f"{stats.p90:.3f}",
            f"{stats.p99:.3f}",
            f"{stats.mean:.3f}",
            str(len(stats.samples_ms)),
            _ratio_text(ratios, result.model, result.implementation) or "—",
        )
    return table


@cli.command("latency")
@click.argument("model_spec", metavar="MODEL")
@click.option("--batch", "batch_size", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Timed calls per implementation.",
)
@click.option("--cuda-graphs", is_flag=True, help="Replay CUDA graphs (every impl; CUDA only).")
@_with_speed_options
def latency_command(
    model_spec: str,
    batch_size: int,
    iterations: int,
    cuda_graphs: bool,
    device: str | None,
    amp: bool,
    dtype: str | None,
    channels_last: bool,
    compile_: bool,
    implementations: str,
    optimize: bool,
    image_size: int | None,
    warmup_seconds: float,
    json_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """p50/p90/p99 milliseconds per call of MODEL, per implementation, after warm-up.

    Each call is timed from the call until the device is done (launch overhead included).
    """
    from mixbench.benchmark import latency
    from mixbench.measure.speed import TimingOptions

    _check_writable(json_out)
    _stop_on_sigterm_as_on_ctrl_c()
    settings = _speed_settings(
        device=device,
        batch_size=batch_size,
        amp=amp,
        dtype=dtype,
        channels_last=channels_last,
        compile_=compile_,
        optimize=optimize,
        image_size=image_size,
        cuda_graphs=cuda_graphs,
        timing=TimingOptions(latency_iterations=iterations, warmup_seconds=warmup_seconds),
    )
    with StepProgress("latency") as progress:
        report = latency(
            model_spec,
            settings,
            implementations,
            index_path=index_path,
            on_step=progress.update,
            store=ResultsStore(db_path),
            command=shlex.join(["mixbench", *sys.argv[1:]]),
        )
    _emit(report, json_out, _latency_table(report))


# ---------------------------------------------------------------------------- verify

_VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "skipped": "yellow",
    "info": "cyan",
    "inconclusive": "magenta",
}


def _fmt_check_value(value: object) -> str:
    if isinstance(value, float) and not value.is_integer() and abs(value) < 1e-2:
        return f"{value:.2e}"
    return fmt_value(value)


def _verify_table(report: Any) -> Table:
    counts = report.counts()
    tally = ", ".join(
        f"{counts[status]} {word}"
        for status, word in (
            ("pass", "passed"),
            ("fail", "failed"),
            ("inconclusive", "inconclusive"),
            ("skipped", "skipped"),
            ("info", "info"),
        )
        if counts[status] or status != "inconclusive"
    )
    table = Table(
        title=f"{report.model}: {report.headline()}\n{tally}",
        title_justify="left",
    )
    for header in ("check", "published", "measured", "Δ", "tolerance", "verdict", "note"):
        justify = "right" if header in ("published", "measured", "Δ") else "left"
        table.add_column(header, justify=justify)
    for check in report.checks:
        style = _VERDICT_STYLE[check.status]
        table.add_row(
            check.label,
            _fmt_check_value(check.published),
            _fmt_check_value(check.measured),
            fmt_delta(check.delta),
            check.tolerance or "",
            f"[{style}]{check.status}[/]",
            check.reason or "",
        )
    return table


def _make_report_folder(path: Path | None) -> None:
    """Fail before the measurements, not after, when the report cannot be written."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"--report {path}: cannot create the folder {path.parent}: {error.strerror or error}",
            hint="pass a path in a folder you can write to",
        ) from error


@cli.command("verify")
@click.argument("model_specs", metavar="MODEL|all", nargs=-1, required=True)
@click.option("--data", help="ImageNet-val folder, hf:NAME[:SPLIT] (enables top-1/top-5).")
@click.option("--labels", type=click.Path(path_type=Path), help="Labels for a flat val folder.")
@click.option("--weights", type=click.Path(path_type=Path), help="Local checkpoint file.")
@click.option("--pretrained", is_flag=True, help="The card's published weights (Hugging Face).")
@click.option("--device", help="cpu, cuda or cuda:N (default: cuda when present).")
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    help="Images per batch for accuracy and speed (default: 64).",
)
@click.option("--workers", type=click.IntRange(min=0), help="DataLoader processes.")
@click.option("--amp", is_flag=True, help="Mixed precision for evaluation and speed.")
@click.option("--throughput", "with_speed", is_flag=True, help="Also measure speed (info).")
@click.option(
    "--require",
    metavar="CHECK,...",
    help="Checks that must pass: a required check that is skipped, inconclusive or info fails "
    "(e.g. top1,top5,file_size).",
)
@click.option("--strict", is_flag=True, help="Treat every unknown card key as an error.")
@click.option(
    "--tolerance",
    default="top1=0.1,top5=0.1",
    show_default=True,
    help="Accuracy tolerance in percentage points, per metric.",
)
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Hugging Face datasets cache (hf:)."
)
@click.option(
    "--json",
    "json_out",
    metavar="OUT",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Write the reports as JSON to OUT, '-' for stdout.",
)
@click.option(
    "--report",
    "report_out",
    metavar="OUT.md",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a Markdown report (plots beside it); also to $GITHUB_STEP_SUMMARY when set.",
)
@db_option
@index_option
@debug_option
def verify_command(
    model_specs: tuple[str, ...],
    data: str | None,
    labels: Path | None,
    weights: Path | None,
    pretrained: bool,
    device: str | None,
    batch_size: int | None,
    workers: int | None,
    amp: bool,
    with_speed: bool,
    require: str | None,
    strict: bool,
    tolerance: str,
    cache_dir: Path | None,
    json_out: Path | None,
    report_out: Path | None,
    db_path: Path | None,
    index_path: Path | None,
) -> None:
    """Check MODEL's card (or every card: all) against measurements.

    Each check ends pass, fail, inconclusive, skipped (with what to pass) or info; the headline
    says how many ran. Exit 0 when no check failed, 1 when any failed, 2 for bad input.
    """
    from mixbench.measure.device import pick_device
    from mixbench.report.verify import append_step_summary, write_markdown_report
    from mixbench.verify import (
        VerifyOptions,
        open_evaluation_data,
        parse_require,
        parse_tolerance,
        validate_options,
        verify,
    )

    _check_writable(json_out)
    _make_report_folder(report_out)
    _stop_on_sigterm_as_on_ctrl_c()
    if batch_size is not None and data is None and not with_speed:
        raise InputError(
            "--batch is for the accuracy and speed checks: pass --data or --throughput",
            hint="drop --batch, or add what it is for",
        )
    options = VerifyOptions(
        data=data,
        labels=str(labels) if labels else None,
        weights=str(weights) if weights else None,
        pretrained=pretrained,
        device=pick_device(device),
        batch_size=batch_size or 64,
        workers=workers,
        amp=amp,
        throughput=with_speed,
        tolerance=parse_tolerance(tolerance),
        cache_dir=str(cache_dir) if cache_dir else None,
        require=parse_require(require),
        strict=strict,
    )
    validate_options(options)
    index = load_index(index_path, strict=strict)
    names = [card.name for card in index] if "all" in model_specs else list(model_specs)
    if len(names) > 1 and weights is not None:
        raise InputError(
            "--weights names one file, but several models are verified",
            hint="verify one model with --weights, or use --pretrained for all",
        )
    store = ResultsStore(db_path)
    store.check()
    source = open_evaluation_data(options)  # a bad --data is refused before any model runs
    command = shlex.join(["mixbench", *sys.argv[1:]])
    groups = 7 if with_speed else 6
    reports: list[Any] = []
    try:
        with StepProgress("verify") as progress:
            for number, name in enumerate(names):
                started = [0]

                def on_check(
                    group: str, check: object, n: int = number, s: list[int] = started
                ) -> None:
                    if check is None:
                        s[0] += 1
                        done, total = n * groups + s[0], len(names) * groups
                        progress.update(f"{names[n]}: {group}", done, total)

                report = verify(
                    name,
                    options,
                    index=index,
                    store=store,
                    command=command,
                    on_check=on_check,
                    warn=progress.warn,
                    source=source,
                )
                reports.append(report)
                for warning in report.warnings:
                    progress.warn(f"{report.model}: card: {warning}")
                if json_out is None or str(json_out) != "-":
                    console.print(_verify_table(report))
    finally:
        # also when a later model fails or Ctrl-C stops the run: the finished ones are written
        if reports:
            if json_out is not None:
                _write_json_file(json_out, [r.to_dict() for r in reports])
            if report_out is not None:
                write_markdown_report(reports, report_out)
            else:
                append_step_summary(reports)
    failed = [r.model for r in reports if r.status == "fail"]
    if json_out is None or str(json_out) != "-":
        console.print(_verify_summary_line(reports))
    if failed:
        sys.exit(EXIT_DIFFERENT)


def _verify_summary_line(reports: list[Any]) -> str:
    """``7 model(s) verified: FAIL: mixnet_s — 49 of 70 checks ran (not run: ...)``."""
    failed = [r.model for r in reports if r.status == "fail"]
    unsure = [r.model for r in reports if r.status == "inconclusive"]
    if failed:
        verdict = f"FAIL: {', '.join(failed)}"
    elif unsure:
        verdict = f"INCONCLUSIVE: {', '.join(unsure)}"
    else:
        verdict = "PASS"
    coverages = [r.coverage() for r in reports]
    ran = sum(c["ran"] for c in coverages)
    total = sum(c["total"] for c in coverages)
    not_run = list(dict.fromkeys(label for c in coverages for label in c["not_run_labels"]))
    text = f"{len(reports)} model(s) verified: {verdict} — {ran} of {total} checks ran"
    return text + (f" (not run: {', '.join(not_run)})" if not_run else "")


@cli.command("report")
@click.argument("models", metavar="[MODEL]...", nargs=-1)
@db_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports"),
    show_default=True,
    help="Folder for verify-summary.md, one verify-MODEL.md per model, and the plots.",
)
@debug_option
def report_command(models: tuple[str, ...], db_path: Path | None, out: Path) -> None:
    """Render the newest verify run of each model in the results store as Markdown + plots."""
    from mixbench.report.verify import render_from_store

    written = render_from_store(ResultsStore(db_path), out, models=list(models) or None)
    for path in written:
        console.print(f"wrote {path}")


@cli.command("export-index")
@click.argument("models", metavar="[MODEL]...", nargs=-1)
@db_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="Model-index YAML file to write ('-': stdout).",
)
@debug_option
def export_index_command(models: tuple[str, ...], db_path: Path | None, out: Path) -> None:
    """Measured results from the results store as model-index YAML.

    Then: mixbench diff index measured.yml  (published vs measured, field by field)
    """
    from mixbench.export import export_index

    to_stdout = str(out) == "-"
    text = export_index(
        ResultsStore(db_path), None if to_stdout else out, models=list(models) or None
    )
    if to_stdout:
        click.echo(text, nl=False)
    else:
        console.print(f"wrote {out}")


# ---------------------------------------------------------------------------- results store

# Headline metrics get a column each when any listed run has them; the rest share one column.
_METRIC_COLUMNS = {"top1": "top-1", "top5": "top-5", "count": "images"}


def _fmt_metric(key: str, value: object) -> str:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return fmt_percent(value) if is_number and key.startswith("top") else fmt_value(value)


def _other_metrics(record: RunRecord) -> str:
    shown = _METRIC_COLUMNS.keys()
    return ", ".join(
        f"{key} {fmt_value(value)}"
        for key, value in record.metrics.items()
        if key not in shown and isinstance(value, (int, float, str))
    )


@cli.command("runs")
@db_option
@click.option("--model", help="Only runs of this model.")
@click.option("--kind", help="Only runs of this kind (eval, throughput, latency, verify).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N runs, newest first.")
@json_option
@debug_option
def list_runs(
    db_path: Path | None, model: str | None, kind: str | None, limit: int | None, as_json: bool
) -> None:
    """The measurement runs recorded in the results store, newest first."""
    store = ResultsStore(db_path)
    records = store.runs(model=model, kind=kind, limit=limit)
    if as_json:
        print_json([record.to_dict() for record in records])
        return
    if not records:
        filters = " ".join(f"{k}={v}" for k, v in (("model", model), ("kind", kind)) if v)
        console.print(f"no runs{' with ' + filters if filters else ''} in {store.path}")
        return
    metric_columns = [key for key in _METRIC_COLUMNS if any(key in r.metrics for r in records)]
    others = [_other_metrics(record) for record in records]
    noun = "run" if len(records) == 1 else "runs"
    table = Table(title=f"{len(records)} {noun} in {store.path}", title_justify="left")
    for header in ("id", "created (UTC)", "kind", "model", "dataset"):
        table.add_column(header, justify="right" if header == "id" else "left")
    for key in metric_columns:
        table.add_column(_METRIC_COLUMNS[key], justify="right")
    if any(others):
        table.add_column("metrics")
    table.add_column("device")
    table.add_column("weights")
    for record, other in zip(records, others, strict=True):
        metrics = [_fmt_metric(key, record.metrics.get(key)) for key in metric_columns]
        table.add_row(
            str(record.id),
            record.created[:19].replace("T", " "),
            record.kind,
            record.model,
            record.dataset or "—",
            *metrics,
            *([other or "—"] if any(others) else []),
            record.device or "—",
            record.weights_sha256[:12] if record.weights_sha256 else record.weights or "—",
        )
    console.print(table)


def main() -> None:
    cli(prog_name="mixbench")
