"""Markdown reports and plots of `verify`: tables, hostile card text, files, the results store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mixbench.errors import InputError
from mixbench.report.verify import (
    _accuracy_points,
    _code_span,
    fmt_figure,
    latest_throughput,
    latest_verify_reports,
    plot_accuracy_vs_throughput,
    plot_published_vs_measured,
    render_from_store,
    render_model,
    render_summary,
    write_markdown_report,
)
from mixbench.store import ResultsStore, RunRecord
from mixbench.verify import Check, VerifyReport

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHECK_COLUMNS = 7
SUMMARY_COLUMNS = 11  # + checks ran, inconclusive
ENVIRONMENT = {
    "python": "3.11.9",
    "torch": "2.4.0",
    "timm": "1.0.9",
    "mixbench": "0.1.0",
    "cuda": "12.4",
    "gpu": "NVIDIA H100",
    "cpu": "not shown",
}
HOSTILE = "evil|name\n| x | y |\n`code` ``more`` <script>alert(1)</script>\n# heading $x^$ \\"


def checks(*, top1: Check | None = None) -> list[Check]:
    return [
        Check(
            "params",
            "parameters",
            "pass",
            published=11_907_224,
            measured=11_907_224,
            delta=0,
            tolerance="exact",
        ),
        Check(
            "flops",
            "FLOPs",
            "info",
            published=909_000_000,
            measured=1_870_000_000,
            delta=961_000_000,
            reason="no counting convention explains the card",
        ),
        Check(
            "file_size",
            "weights file size",
            "fail",
            published=48_000_000,
            measured=47_500_000,
            delta=-500_000,
            tolerance="card rounds to 1,000,000 bytes",
        ),
        top1
        or Check(
            "top1",
            "ImageNet top-1 (%)",
            "skipped",
            published=80.47,
            reason="no evaluation data: pass --data IMAGENET_VAL_DIR",
        ),
        Check(
            "native_vs_timm",
            "native = timm outputs",
            "pass",
            published="timm 1.0.9",
            measured=1.2e-06,
            tolerance="max relative difference ≤ 0.0001",
        ),
    ]


def make_report(
    model: str = "mixnet_xl", check_list: list[Check] | None = None, **fields: object
) -> VerifyReport:
    defaults: dict[str, object] = {
        "environment": dict(ENVIRONMENT),
        "device": "cpu (Test CPU, 2 cores)",
        "git_sha": "abc1234",
        "command": "mixbench verify all",
        "created": "2026-11-22T05:00:00+00:00",
    }
    defaults.update(fields)
    return VerifyReport(
        model=model, checks=check_list if check_list is not None else checks(), **defaults
    )  # type: ignore[arg-type]


def passing(model: str, top1: float = 78.9, speed: float | None = None) -> VerifyReport:
    found = [
        Check(
            "params",
            "parameters",
            "pass",
            published=4_134_606,
            measured=4_134_606,
            delta=0,
            tolerance="exact",
        ),
        Check(
            "top1",
            "ImageNet top-1 (%)",
            "pass",
            published=79.0,
            measured=top1,
            delta=top1 - 79.0,
            tolerance="±0.1 points",
        ),
    ]
    if speed is not None:
        found.append(Check("throughput", "images/s, batch 64, float32", "info", measured=speed))
    return make_report(model, found)


def cells(line: str) -> list[str]:
    """A GFM table row split on its unescaped pipes (a backslash escapes the next character)."""
    assert line.startswith("|") and line.endswith("|"), line
    found, current, escaped = [], "", False
    for char in line[1:-1]:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            current, escaped = current + char, True
        elif char == "|":
            found, current = [*found, current.strip()], ""
        else:
            current += char
    assert not escaped, f"a dangling backslash escapes the closing pipe: {line}"
    return [*found, current.strip()]


def tables(text: str) -> list[list[list[str]]]:
    """Each run of consecutive table lines, as rows of cells."""
    found: list[list[list[str]]] = []
    previous_was_row = False
    for line in text.splitlines():
        is_row = line.startswith("|")
        if is_row:
            if not previous_was_row:
                found.append([])
            found[-1].append(cells(line))
        previous_was_row = is_row
    return found


def table_rows(text: str) -> list[list[str]]:
    """The first table's rows."""
    return tables(text)[0]


def row_for(text: str, first_cell: str) -> list[str]:
    [row] = [row for table in tables(text) for row in table if row[0] == first_cell]
    return row


def code_span_content(span: str) -> str:
    """What CommonMark makes of ``span`` when it is exactly one code span (else it fails)."""
    fence = re.match(r"`+", span)
    assert fence is not None, span
    ticks = fence.group()
    assert span.endswith(ticks) and len(span) > 2 * len(ticks), span
    inner = span[len(ticks) : -len(ticks)]
    # The span must not close early: no backtick run of the fence's length inside it, and the
    # closing fence is not part of a longer run.
    assert all(len(run) != len(ticks) for run in re.findall(r"`+", inner)), span
    assert not inner.endswith("`") and not inner.startswith("`"), span
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]
    return inner


# ------------------------------------------------------------------------------ one model


def test_model_heading_counts_and_table():
    text = render_model(make_report())
    lines = text.splitlines()
    assert lines[0] == r"## mixnet\_xl: FAIL — 4 of 5 checks ran (not run: top-1)"
    assert "2 passed, 1 failed, 1 skipped, 1 info." in lines
    rows = table_rows(text)
    assert rows[0] == ["check", "published", "measured", "Δ", "tolerance", "verdict", "note"]
    assert len(rows) == 2 + 5  # header, separator, one row per check
    assert row_for(text, "parameters")[1:6] == ["11,907,224", "11,907,224", "0", "exact", "pass"]
    assert row_for(text, "weights file size")[5] == "**fail**"
    assert row_for(text, "weights file size")[3] == "-500,000"
    assert row_for(text, "FLOPs")[5] == "info"
    # a tiny difference prints as itself, not as 0
    assert row_for(text, "native = timm outputs")[2] == "1.2e-06"


def test_skipped_shows_its_reason_and_never_counts_as_passed():
    report = make_report(
        check_list=[
            Check(
                "top1",
                "ImageNet top-1 (%)",
                "skipped",
                published=80.47,
                reason="no evaluation data: pass --data DIR",
            ),
            Check("file_size", "weights file size", "skipped", reason="no weights file"),
        ]
    )
    text = render_model(report)
    assert "0 passed, 0 failed, 2 skipped, 0 info: no check ran, so nothing was verified." in text
    top1 = row_for(text, "ImageNet top-1 (%)")
    assert top1[1:3] == ["80.47", "—"]
    assert top1[5:] == ["skipped", "no evaluation data: pass --data DIR"]
    assert all(row[5] != "pass" for row in table_rows(text)[2:])


def test_environment_block():
    text = render_model(make_report(card_source="model_index/mixnet.md", run_id=7))
    assert "- device: cpu (Test CPU, 2 cores)" in text
    assert (
        "- versions: python 3.11.9, torch 2.4.0, timm 1.0.9, mixbench 0.1.0, cuda 12.4, "
        "gpu NVIDIA H100" in text
    )
    assert "not shown" not in text
    assert "- date: 2026-11-22T05:00:00+00:00" in text
    assert "- git sha: `abc1234`" in text
    assert "- command: `mixbench verify all`" in text
    assert "- run: \\#7" in text


def test_heading_level_and_no_checks():
    text = render_model(make_report(check_list=[]), heading_level=4)
    assert text.startswith(r"#### mixnet\_xl: PASS")
    assert "No checks." in text
    with pytest.raises(ValueError, match="heading_level"):
        render_model(make_report(), heading_level=7)


def test_hostile_card_text_stays_in_its_cell():
    evil = Check(
        HOSTILE,
        HOSTILE,
        "fail",
        published=HOSTILE,
        measured=HOSTILE,
        delta=None,
        tolerance=HOSTILE,
        reason=HOSTILE,
    )
    report = make_report(
        HOSTILE,
        [*checks(), evil],
        command=f"mixbench verify {HOSTILE}",
        device=HOSTILE,
        git_sha="``",
    )
    for text in (render_model(report), render_summary([report, make_report("b")])):
        # raw HTML only inside the command's code span, where it is literal text
        outside = [line for line in text.splitlines() if not line.startswith("- command: ")]
        assert not [line for line in outside if "<script>" in line]
        headings = [line for line in text.splitlines() if line.startswith("#")]
        assert all(re.match(r"#+ (evil|b:|mixbench verify:|Environment)", h) for h in headings)
        for rows in tables(text):
            assert all(len(row) == len(rows[0]) for row in rows)
    model_text = render_model(report)
    assert len(tables(model_text)) == 1
    assert len(tables(render_summary([report, make_report("b")]))) == 1 + 2
    assert len(table_rows(model_text)[0]) == CHECK_COLUMNS
    assert len(table_rows(model_text)) == 2 + 6
    assert len(table_rows(render_summary([report]))[0]) == SUMMARY_COLUMNS
    assert len(table_rows(render_summary([report]))) == 2 + 1
    [command] = [line for line in model_text.splitlines() if line.startswith("- command: ")]
    assert code_span_content(command.removeprefix("- command: ")) == " ".join(
        f"mixbench verify {HOSTILE}".split()
    )
    [sha] = [line for line in model_text.splitlines() if line.startswith("- git sha: ")]
    assert code_span_content(sha.removeprefix("- git sha: ")) == "``"


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`", "` lead", "trail `", " pad "])
def test_code_spans_hold_any_backticks(text):
    assert code_span_content(_code_span(text)) == " ".join(text.split())


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.2e-06, "1.2e-06"),
        (1.23456e-07, "1.23e-07"),
        (0.0, "0.0"),
        (80.47, "80.47"),
        (4_134_606, "4,134,606"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (None, "—"),
        ("bicubic", "bicubic"),
    ],
)
def test_figures(value, shown):
    assert fmt_figure(value) == shown


# ------------------------------------------------------------------------------ summary


def test_summary_lists_every_model_with_totals():
    reports = [passing("mixnet_s", speed=1234.5), make_report("mixnet_xl"), passing("mixnet_m")]
    text = render_summary(reports, plots=["verify-published-vs-measured.png"])
    assert text.startswith("## mixbench verify: FAIL")
    rows = table_rows(text)
    assert [row[0] for row in rows[2:]] == [r"mixnet\_s", r"mixnet\_xl", r"mixnet\_m"]
    assert row_for(text, r"mixnet\_s")[1:] == [
        "PASS",
        "3 of 3",
        "2",
        "0",
        "0",
        "0",
        "1",
        "4,134,606 / 4,134,606",
        "79.00 / 78.90",
        "1,234.5",
    ]
    assert row_for(text, r"mixnet\_xl")[1:7] == ["**FAIL**", "4 of 5", "2", "1", "0", "1"]
    assert row_for(text, r"mixnet\_xl")[9:] == ["80.47 / skipped", "—"]
    assert (
        "3 models: 2 passed, 1 failed. Checks: 9 of 10 ran; 6 passed, 1 failed, "
        "0 inconclusive, 1 skipped, 2 info" in text
    )
    assert "![verify-published-vs-measured](verify-published-vs-measured.png)" in text
    for level3 in (
        r"### mixnet\_s: PASS — 3 of 3 checks ran",
        r"### mixnet\_xl: FAIL — 4 of 5 checks ran (not run: top-1)",
        r"### mixnet\_m: PASS — 2 of 2 checks ran",
    ):
        assert level3 in text.splitlines()
    # one environment, shown once
    assert text.count("- device: ") == 1
    assert "### Environment (all models)" in text
    assert text.count("- date: ") == 3


def test_summary_repeats_the_environment_when_runs_differ():
    reports = [passing("a"), make_report("b", device="cuda:0 (NVIDIA H100)")]
    text = render_summary(reports)
    assert text.count("- device: ") == 2
    assert "Environment (all models)" not in text
    assert text.startswith("## mixbench verify: FAIL")
    assert render_summary([passing("a")]).startswith("## mixbench verify: PASS")


def test_summary_marks_stored_throughput():
    text = render_summary(
        [passing("a"), passing("b", speed=50.0)], throughput={"a": 99.0, "b": 10.0}
    )
    assert row_for(text, "a")[10] == "99.0 †"
    assert row_for(text, "b")[10] == "50.0"  # the verify run's own figure wins
    assert "† images/s from the newest stored native throughput run" in text


# ------------------------------------------------------------------------------ plots


def test_published_vs_measured_plot(tmp_path):
    reports = [make_report(), passing("mixnet_s"), make_report(HOSTILE)]
    path = plot_published_vs_measured(reports, tmp_path / "pvm.png")
    assert path == tmp_path / "pvm.png"
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_nothing_numeric_means_no_plot(tmp_path):
    text_only = make_report(
        check_list=[
            Check(
                "interpolation", "interpolation", "pass", published="bicubic", measured="bicubic"
            ),
            Check("top1", "ImageNet top-1 (%)", "skipped", published=80.47, reason="no data"),
            Check("params", "parameters", "info", measured=4_134_606),
        ]
    )
    assert plot_published_vs_measured([text_only], tmp_path / "p.png") is None
    assert plot_accuracy_vs_throughput([text_only], tmp_path / "a.png") is None
    assert not list(tmp_path.iterdir())


def test_accuracy_vs_throughput_plot(tmp_path):
    reports = [passing("mixnet_s", speed=900.0), make_report("mixnet_xl"), passing("mixnet_m")]
    path = plot_accuracy_vs_throughput(reports, tmp_path / "a.png", throughput={"mixnet_xl": 300.0})
    assert path is not None and path.read_bytes().startswith(PNG_MAGIC)
    points = _accuracy_points(reports, {"mixnet_xl": 300.0})
    assert [(p["model"], p["x"], p["y"], p["measured"]) for p in points] == [
        ("mixnet_s", 900.0, 78.9, True),
        ("mixnet_xl", 300.0, 80.47, False),  # skipped: the published top-1, hollow
    ]


# ------------------------------------------------------------------------------ files


def test_write_one_model_with_plots_and_job_summary(tmp_path, monkeypatch):
    job = tmp_path / "job-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job))
    path = tmp_path / "out" / "report.md"
    report = passing("mixnet_s", speed=900.0)
    written = write_markdown_report([report], path)
    plots = [
        path.with_name("report-published-vs-measured.png"),
        path.with_name("report-accuracy-vs-throughput.png"),
    ]
    assert written == [path, *plots]
    assert all(plot.read_bytes().startswith(PNG_MAGIC) for plot in plots)
    text = path.read_text()
    assert text.startswith(r"## mixnet\_s: PASS")
    assert "![report-published-vs-measured](report-published-vs-measured.png)" in text
    assert "(report-accuracy-vs-throughput.png)" in text
    write_markdown_report([report, passing("mixnet_m")], path)
    appended = job.read_text().splitlines()
    assert appended.count(r"## mixnet\_s: PASS — 3 of 3 checks ran") == 1  # the first run
    assert appended.count("## mixbench verify: PASS — 5 of 5 checks ran") == 1  # the summary
    assert appended.count(r"### mixnet\_s: PASS — 3 of 3 checks ran") == 1
    assert not [line for line in appended if "![" in line or ".png" in line]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_job_summary_untouched_when_unset_or_declined(tmp_path, monkeypatch):
    job = tmp_path / "job-summary.md"
    job.write_text("before\n")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_markdown_report([passing("a")], tmp_path / "r.md")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job))
    write_markdown_report([passing("a")], tmp_path / "r.md", step_summary=False)
    assert job.read_text() == "before\n"


def test_no_plots_when_nothing_to_plot(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    only_text = make_report(check_list=[Check("file_size", "file size", "skipped", reason="x")])
    written = write_markdown_report([only_text], tmp_path / "r.md")
    assert written == [tmp_path / "r.md"]
    assert "![" not in written[0].read_text()


# ------------------------------------------------------------------------------ store


def add(store: ResultsStore, report: VerifyReport) -> int:
    return store.add(report.to_run_record())


def test_reports_from_the_store_use_the_newest_runs(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    older = make_report("mixnet_s", created="2026-01-01T00:00:00+00:00")  # fails file size
    add(store, older)
    newer_id = add(store, passing("mixnet_s", top1=78.95))
    add(store, make_report("mixnet_m", created="2026-01-02T00:00:00+00:00"))
    for implementation, speed in (("native", 123.4), ("timm", 50.0)):
        store.add(
            RunRecord(
                kind="throughput",
                model="mixnet_s",
                summary={"implementation": implementation, "images_per_second": speed},
                details={"precision": "float32", "batch_size": 64},
            )
        )

    assert latest_throughput(store) == {"mixnet_s": 123.4}
    assert latest_throughput(store, "timm") == {"mixnet_s": 50.0}
    latest = latest_verify_reports(store)
    assert [(r.model, r.status) for r in latest] == [("mixnet_m", "fail"), ("mixnet_s", "pass")]
    assert latest[1].run_id == newer_id
    assert [r.model for r in latest_verify_reports(store, ["mixnet_s"])] == ["mixnet_s"]

    out = tmp_path / "reports" / "nested"
    written = render_from_store(store, out)
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "verify-summary.md",
            "verify-summary-published-vs-measured.png",
            "verify-summary-accuracy-vs-throughput.png",
            "verify-mixnet_m.md",
            "verify-mixnet_s.md",
        ]
    )
    assert all(p.exists() for p in written)
    summary = (out / "verify-summary.md").read_text()
    assert row_for(summary, r"mixnet\_s")[1] == "PASS"
    assert row_for(summary, r"mixnet\_s")[10] == "123.4 †"
    assert row_for(summary, r"mixnet\_m")[1] == "**FAIL**"
    page = (out / "verify-mixnet_s.md").read_text()
    assert page.startswith(r"## mixnet\_s: PASS")
    assert f"- run: \\#{newer_id}" in page
    assert "78.95" in page and "![" not in page


def test_an_empty_store_or_unknown_model_is_an_input_error(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    with pytest.raises(InputError, match="no verify runs") as raised:
        render_from_store(store, tmp_path / "out")
    assert raised.value.hint == "run `mixbench verify MODEL|all` first"
    assert not (tmp_path / "out").exists()
    add(store, passing("a"))
    with pytest.raises(InputError, match="no verify runs for b"):
        render_from_store(store, tmp_path / "out", models=["a", "b"])


def test_model_file_names_are_safe(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    add(store, passing("../evil/name"))
    written = render_from_store(store, tmp_path / "out")
    assert all(Path(p).parent == tmp_path / "out" for p in written)
    assert "verify-_evil_name.md" in [p.name for p in written]


def test_dollar_signs_cannot_start_github_math():
    from mixbench.report import escape_markdown

    assert escape_markdown("$x^2$ | a\nb") == r"\$x^2\$ \| a b"
