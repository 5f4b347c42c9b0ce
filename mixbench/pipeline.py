"""The one place side effects happen: run a stage, store each finished run, report progress.

Measuring functions (:func:`mixbench.evaluate.evaluate`, :func:`mixbench.benchmark.throughput`,
:func:`mixbench.benchmark.latency`, :func:`mixbench.verify.verify`) compute and return typed
reports; they never touch the results store. A :class:`Pipeline` checks the store before any
work (a damaged database is reported up front, not after an hour of measuring), stores every
run the moment it is complete (so an interrupted ``verify all`` or ``throughput`` keeps what
finished), and turns every stage's progress into one kind of :class:`ProgressEvent`.

>>> from mixbench.pipeline import Pipeline
>>> from mixbench.store import ResultsStore
>>> pipeline = Pipeline(ResultsStore(), command="mixbench verify all")  # doctest: +SKIP
>>> reports = pipeline.verify(["all"])  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixbench.errors import InputError
from mixbench.events import OnProgress, ProgressEvent, StepCounter
from mixbench.store import ResultsStore

if TYPE_CHECKING:
    from mixbench.index import ModelIndex
    from mixbench.measure.accuracy.evaluation import EvalReport
    from mixbench.measure.speed.run import LatencyReport, SpeedSettings, ThroughputReport
    from mixbench.verify import VerifyOptions, VerifyReport

__all__ = ["Pipeline", "ProgressEvent"]


class Pipeline:
    """Runs stages against one results store (``None``: store nothing)."""

    def __init__(
        self,
        store: ResultsStore | None = None,
        *,
        command: str | None = None,
        on_progress: OnProgress | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.command = command
        self.on_progress = on_progress
        self.warn = warn
        #: names the runs this pipeline stores together (``mixbench report`` renders the newest
        #: invocation's verify runs)
        self.invocation = uuid.uuid4().hex[:12]
        #: what could not be stored after it was measured (the store went read-only, full or
        #: locked during the run): the results are still returned and shown, and the CLI
        #: says this after them (exit 2), never losing them silently
        self.unsaved: list[str] = []

    @classmethod
    def of_command(
        cls, db_path: Path | None, progress: Any, *, command: str | None, store: bool = True
    ) -> Pipeline:
        """The pipeline of a command: storing into ``db_path`` (``None``: the default store;
        not on a torchrun rank other than 0: ``store=False``), ``command`` recorded, progress
        and warnings shown on ``progress`` (a :class:`mixbench.progress.StepProgress`)."""
        return cls(
            ResultsStore(db_path) if store else None,
            command=command,
            on_progress=progress.update,
            warn=progress.warn,
        )

    # ------------------------------------------------------------------ stages

    def evaluate(self, model: str, data: Any, **options: Any) -> EvalReport | None:
        """:func:`mixbench.evaluate.evaluate`, stored; ``None`` on torchrun ranks other than 0."""
        from mixbench.measure.accuracy.evaluation import evaluate

        self._check_store()
        report = evaluate(model, data, on_progress=self.on_progress, warn=self.warn, **options)
        if report is not None:
            self.save_evaluation(report)
        return report

    def throughput(
        self,
        models: Sequence[str] | None,
        settings: SpeedSettings,
        implementations: str = "native,timm",
        **options: Any,
    ) -> ThroughputReport:
        """:func:`mixbench.benchmark.throughput`; each model's rows are stored as it finishes."""
        from mixbench.measure.speed.run import throughput

        self._check_store()

        def store_model(report: ThroughputReport, name: str) -> None:
            records = report.to_run_records(self.command, model=name)
            report.run_ids += self._add(records)

        return throughput(
            models,
            settings,
            implementations,
            on_progress=self.on_progress,
            on_model=store_model,
            **options,
        )

    def latency(
        self,
        model: str,
        settings: SpeedSettings,
        implementations: str = "native,timm",
        **options: Any,
    ) -> LatencyReport:
        """:func:`mixbench.benchmark.latency`, stored."""
        from mixbench.measure.speed.run import latency

        self._check_store()
        report = latency(model, settings, implementations, on_progress=self.on_progress, **options)
        report.run_ids = self._add(report.to_run_records(self.command))
        return report

    def verify(
        self,
        specs: Sequence[str],
        options: VerifyOptions | None = None,
        *,
        index_path: str | None = None,
        on_report: Callable[[VerifyReport], None] | None = None,
        on_start: Callable[[Sequence[str]], None] | None = None,
    ) -> list[VerifyReport]:
        """Verify each model (``["all"]``: every card), storing each report, and the accuracy
        runs behind it, as soon as that model is done; ``on_report`` sees each one then.

        ``on_start`` sees the model names before the first one runs (the CLI picks its layout
        by how many there are). A card whose model cannot be built is a report like any other
        (every check skipped, :attr:`~mixbench.verify.VerifyReport.not_built` says why)."""
        from mixbench.index import load_index
        from mixbench.verify import (
            VerifyOptions,
            enabled_checks,
            open_evaluation_data,
            validate_options,
            verify,
            verify_targets,
        )

        options = options or VerifyOptions()
        validate_options(options)
        index = load_index(index_path, strict=options.strict)
        self._say_index(index)
        names = verify_targets(specs, options, index)
        self._check_store()
        source = open_evaluation_data(options)  # a bad --data is refused before any model runs
        steps = StepCounter("verify", len(names) * len(enabled_checks(options)), self.on_progress)
        if on_start is not None:
            on_start(names)
        reports: list[VerifyReport] = []
        for name in names:
            report = verify(
                name,
                options,
                index=index,
                progress=steps,
                warn=self.warn,
                source=source,
                command=self.command,
                keep_resume_logs=True,
            )
            for evaluation in report.evaluations:
                self.save_evaluation(evaluation)
            stored = self._add([report.to_run_record()], f"verify of {report.model}")
            report.run_id = stored[0] if stored else None
            reports.append(report)
            if on_report is not None:
                on_report(report)
        return reports

    def _say_index(self, index: ModelIndex) -> None:
        """An index that did not load whole is said before the work: each model left out
        (with its problem's file:line) and the headline, never a silent gap in ``all``."""
        if index.complete or self.warn is None:
            return
        for left in index.left_out:
            self.warn(f"index: left out: {left}")
        for problem in index.problems_outside_models():
            self.warn(f"index: not read: {problem}")
        self.warn(f"index: {index.headline()}")

    # ------------------------------------------------------------------ storing

    def save_evaluation(self, report: EvalReport) -> None:
        """Store an eval run (after the eager float32 run it was paired with, if any), then
        drop its resume log: it is safe now. If it cannot be stored, the log stays (a rerun
        resumes it and stores it) and the failure is kept in :attr:`unsaved`."""
        if report.reference is not None and report.reference.run_id is None:
            self.save_evaluation(report.reference)
        if self.store is not None:
            ids = self._add([report.to_run_record(self.command)], f"eval of {report.model}")
            if not ids:
                return
            report.run_id = ids[0]
        report.finish()

    def raise_if_unsaved(self) -> None:
        """After the results were shown: an error naming what the store did not take."""
        if self.unsaved:
            raise InputError(
                f"{len(self.unsaved)} result(s) measured and shown but not stored: "
                + "; ".join(self.unsaved),
                hint="the store refused them (see above); rerun with --db on a writable disk "
                "to record them",
            )

    def _check_store(self) -> None:
        if self.store is not None:
            self.store.check()

    def _add(self, records: Sequence[Any], what: str | None = None) -> list[int]:
        """Store ``records``; a store that fails now (after the work) is noted in
        :attr:`unsaved`, not raised: the results go on to be shown and written."""
        if self.store is None:
            return []
        ids = []
        for record in records:
            record.details = {**record.details, "invocation": self.invocation}
            try:
                ids.append(self.store.add(record))
            except InputError as error:
                self.unsaved.append(
                    f"{what or f'{record.kind} of {record.model}'}: {error.message}"
                )
                if self.warn is not None:
                    self.warn(f"not stored: {error.message}")
                return ids
        return ids
