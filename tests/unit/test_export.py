"""`export-index`: measured runs out as a model index that `diff` reads back against the cards.

No model runs here: verify and eval runs are built by hand, verify's through its own
``VerifyReport.to_run_record`` so the stored shape is the real one.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mixbench.cli import cli
from mixbench.diff import diff_sources
from mixbench.errors import InputError
from mixbench.export import (
    MeasuredModel,
    export_index,
    measured_models,
    to_model_index_yaml,
)
from mixbench.index import check_index, load_index
from mixbench.index.published import load_source
from mixbench.records import Measurement
from mixbench.store import ResultsStore, RunRecord
from mixbench.verify import Check, VerifyReport

WEIGHTS = "hf-hub:timm/mixnet_s.ft_in1k"
IMAGENET = "/data/imagenet/val"
DAY1, DAY2, DAY3 = (f"2026-01-0{day}T12:00:00+00:00" for day in (1, 2, 3))
# What `mixbench verify mixnet_s --pretrained --data ...` measures (FLOPs: the card's
# convention, thop-2021, at the card's 224×224; the card's figure is of a 224×285 photo).
MIXNET_S = {
    "params": 4_134_606,
    "flops": 250_209_422,
    "file_size": 16_727_982,
    "crop_pct": 0.875,
    "image_size": 224,
    "interpolation": "bicubic",
    "top1": 75.994,
    "top5": 92.786,
}


@pytest.fixture(autouse=True)
def _packaged_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIXBENCH_INDEX", raising=False)  # diff against the packaged cards


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    return ResultsStore(tmp_path / "results.sqlite")


def checks(status: str = "pass", **measured: Any) -> list[Check]:
    """Verify's checks of one model; a value of None makes that check skipped."""
    values = {**MIXNET_S, **measured}
    made = []
    for name, value in values.items():
        if value is None:
            made.append(Check(name, name, "skipped", reason="not measured"))
            continue
        if name == "flops":
            made.append(flops_check("fail", value, "thop_2021"))
            continue
        made.append(Check(name, name, status, measured=value))
    made.append(Check("native_vs_timm", "native = timm", "pass", published="timm", measured=1e-7))
    return made


def flops_check(status: str, measured: int, convention: str, image_size: int = 224) -> Check:
    """verify's FLOPs check: ``measured`` in ``convention`` at the card's size, in details."""
    details = {"image_size": image_size, "measured_convention": convention}
    return Check("flops", "FLOPs", status, measured=measured, details=details)


def verify_run(
    model: str = "mixnet_s",
    check_list: list[Check] | None = None,
    *,
    created: str = DAY1,
    weights: str | None = WEIGHTS,
    data: str | None = IMAGENET,
) -> RunRecord:
    report = VerifyReport(
        model=model,
        checks=check_list if check_list is not None else checks(),
        settings={"data": data, "pretrained": True, "device": "cpu"},
        created=created,
        weights=weights,
    )
    return report.to_run_record()


def eval_run(
    model: str = "mixnet_s",
    top1: float = 75.994,
    top5: float = 92.786,
    *,
    count: int = 50_000,
    created: str = DAY1,
    weights: str | None = WEIGHTS,
    dataset: str = IMAGENET,
) -> RunRecord:
    """The shape of ``EvalReport.to_run_record``."""
    return RunRecord(
        kind="eval",
        model=model,
        summary={"bad_images": 0},
        measurements=[
            Measurement.of("top1", top1, images=count),
            Measurement.of("top5", top5, images=count),
            Measurement.of("images", count),
        ],
        weights=weights,
        dataset=dataset,
        preprocessing={
            "image_size": 224,
            "crop_pct": 0.875,
            "resize_size": 256,
            "interpolation": "bicubic",
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
        },
        created=created,
    )


def exported(store: ResultsStore, tmp_path: Path, **kwargs: Any) -> Path:
    out = tmp_path / "measured.yml"
    export_index(store, out, **kwargs)
    return out


def only(models: list[MeasuredModel]) -> MeasuredModel:
    [model] = models
    return model


# ------------------------------------------------------------------------ round trip


def test_round_trip_reads_back_the_same_numbers(store: ResultsStore, tmp_path: Path) -> None:
    run_id = store.add(verify_run())
    store.add(RunRecord(kind="throughput", model="mixnet_s", summary={"images_per_second": 9.0}))
    out = exported(store, tmp_path)
    index, problems = check_index(out)
    assert problems == []
    card = index["mixnet_s"]
    for name in ("params", "flops", "file_size", "crop_pct", "image_size", "interpolation"):
        assert getattr(card, name) == MIXNET_S[name], name
    assert (card.top1, card.top5) == (75.994, 92.786)
    [result] = card.results
    assert (result.task, result.dataset) == ("Image Classification", "ImageNet")
    assert card.extra["Measured"]["Runs"]["params"] == run_id
    [source_card] = load_source(out).cards
    assert source_card.params == 4_134_606


def test_measured_model_names_each_figures_run(store: ResultsStore) -> None:
    run_id = store.add(verify_run())
    model = only(measured_models(store))
    assert model == MeasuredModel.of(
        "mixnet_s",
        **MIXNET_S,
        images=None,  # no eval run stored beside the verify run
        flops_convention="thop_2021",
        flops_input="224x224",
        sources=dict.fromkeys(MIXNET_S, run_id),
    )


def test_yaml_writes_the_cards_forms() -> None:
    text = to_model_index_yaml([MeasuredModel.of("m", crop_pct=0.875, image_size=224, top1=80.0)])
    assert text.startswith("# ")
    assert "measured" in text.lower().split("models:")[0]
    assert "2 × MACs" in text and "fvcore" in text
    assert "Crop Pct: '0.875'" in text
    assert "Image Size: '224'" in text
    assert "Top 1 Accuracy: 80.00%" in text
    assert "Top 5" not in text and "Parameters" not in text  # only what was measured
    data = yaml.safe_load(text)
    assert data["Models"][0]["Results"][0]["Metrics"] == {"Top 1 Accuracy": "80.00%"}


def test_a_model_without_accuracy_has_no_results() -> None:
    text = to_model_index_yaml([MeasuredModel.of("m", params=5)])
    assert "Results" not in text and "Parameters: 5" in text


# ------------------------------------------------------------------------ diff against the cards


def test_diff_holds_the_published_cards_against_the_measured(
    store: ResultsStore, tmp_path: Path
) -> None:
    store.add(verify_run(check_list=checks(top1=76.5)))
    measured = load_source(exported(store, tmp_path)).cards
    report = diff_sources(list(load_index()), measured)
    assert report.pairs == [("mixnet_s", "mixnet_s")]
    by_field = {c.field: c for c in report.comparisons}
    # 4.13M published, 4,134,606 measured: equal at the card's rounding
    assert by_field["params"].agree and by_field["params"].b == 4_134_606
    for name in ("file size", "image size", "crop pct", "interpolation", "top5 (ImageNet)"):
        assert by_field[name].agree, name
    top1 = by_field["top1 (ImageNet)"]
    assert not top1.agree and top1.delta == pytest.approx(0.51)
    # the card's FLOPs are of a 224×285 photo: at its 224×224 the same rule counts less
    flops = by_field["FLOPs"]
    assert not flops.agree and flops.b == 250_209_422
    assert "mixnet_l" in report.only_a


@pytest.mark.parametrize(("top1", "exit_code"), [(75.994, 0), (77.0, 1)], ids=["agree", "differ"])
def test_mixbench_diff_reads_the_export(
    store: ResultsStore, tmp_path: Path, top1: float, exit_code: int
) -> None:
    store.add(verify_run(check_list=checks(top1=top1, flops=None)))
    out = exported(store, tmp_path)
    result = CliRunner().invoke(cli, ["diff", "index", str(out)])
    assert result.exit_code == exit_code, result.output
    assert "1 models matched" in result.output
    if exit_code:
        assert "mixnet_s" in result.output and "top1" in result.output


# ------------------------------------------------------------------------ which runs count


def test_the_newest_run_wins(store: ResultsStore) -> None:
    newer = store.add(verify_run(check_list=checks(params=4_134_607), created=DAY2))
    store.add(verify_run(created=DAY1))  # added later, but older
    model = only(measured_models(store))
    assert model.params == 4_134_607 and model.sources["params"] == newer


def test_the_newest_eval_wins(store: ResultsStore) -> None:
    store.add(verify_run(check_list=checks(top1=None, top5=None)))
    store.add(eval_run(top1=70.0, created=DAY3))
    store.add(eval_run(top1=60.0, created=DAY2))
    assert only(measured_models(store)).top1 == 70.0


def test_skipped_checks_export_nothing(store: ResultsStore, tmp_path: Path) -> None:
    skipped = checks(file_size=None, top1=None, top5=None)
    # verify's skipped preprocessing checks still carry the model's own value: not a measurement
    skipped[4] = Check("image_size", "image size", "skipped", measured=224, reason="no card size")
    store.add(verify_run(check_list=skipped))
    model = only(measured_models(store))
    assert (model.file_size, model.image_size, model.top1, model.top5) == (None,) * 4
    body = exported(store, tmp_path).read_text().split("\nModels:", 1)[1]  # past the header
    for absent in ("File Size", "Image Size", "Results", "Accuracy"):
        assert absent not in body, absent


def test_eval_runs_without_weights_are_not_model_accuracy(store: ResultsStore) -> None:
    store.add(verify_run(check_list=checks(top1=None, top5=None)))
    store.add(eval_run(top1=0.1, top5=0.5, weights=None, created=DAY2))
    store.add(eval_run(top1=0.2, top5=0.6, dataset="synthetic:64", created=DAY2))
    model = only(measured_models(store))
    assert (model.top1, model.top5, model.images) == (None, None, None)


def test_an_eval_run_supplies_accuracy_verify_did_not_measure(store: ResultsStore) -> None:
    verify_id = store.add(verify_run(check_list=checks(top1=None, top5=None), created=DAY2))
    eval_id = store.add(eval_run(top1=75.5, top5=92.5, count=10_000, created=DAY1))
    model = only(measured_models(store))
    assert (model.top1, model.top5, model.images) == (75.5, 92.5, 10_000)
    assert model.sources["top1"] == model.sources["images"] == eval_id
    assert model.sources["params"] == verify_id


def test_verify_accuracy_beats_a_newer_eval_and_finds_its_image_count(
    store: ResultsStore,
) -> None:
    behind = store.add(eval_run(created=DAY1))  # the eval verify ran: identical scores
    store.add(verify_run(created=DAY1.replace("12:00:00", "12:05:00")))
    store.add(eval_run(top1=10.0, top5=20.0, count=500, created=DAY3))
    model = only(measured_models(store))
    assert (model.top1, model.images, model.sources["images"]) == (75.994, 50_000, behind)


def test_an_eval_alone_exports_its_accuracy_and_preprocessing(store: ResultsStore) -> None:
    store.add(eval_run(model="mixnet_m", top1=77.25, top5=93.4))
    model = only(measured_models(store))
    assert (model.name, model.top1, model.crop_pct, model.image_size) == (
        "mixnet_m",
        77.25,
        0.875,
        224,
    )
    assert model.params is None


def test_flops_are_exported_in_the_convention_of_the_cards_figure(
    store: ResultsStore, tmp_path: Path
) -> None:
    def with_flops(check: Check) -> list[Check]:
        made = checks()
        made[1] = check
        return made

    store.add(verify_run("a", with_flops(flops_check("pass", 160_000_000, "fvcore_macs"))))
    store.add(verify_run("b", with_flops(flops_check("fail", 250_000_000, "thop_2021"))))
    store.add(verify_run("c", with_flops(flops_check("info", 500_000_000, "fvcore_flops", 260))))
    # stored by an older mixbench: a reason but no details, so no known convention
    old = Check("flops", "FLOPs", "pass", measured=160_000_000, reason="counted as MACs (fvcore)")
    store.add(verify_run("d", with_flops(old)))
    found = {m.name: (m.flops, m.flops_convention, m.flops_input) for m in measured_models(store)}
    assert found == {
        "a": (160_000_000, "fvcore_macs", "224x224"),
        "b": (250_000_000, "thop_2021", "224x224"),
        "c": (500_000_000, "fvcore_flops", "260x260"),
        "d": (None, None, None),
    }
    entries = {
        e["Name"]: e for e in yaml.safe_load(exported(store, tmp_path).read_text())["Models"]
    }
    assert entries["b"]["Metadata"]["FLOPs"] == 250_000_000
    assert entries["b"]["Measured"]["FLOPs Convention"] == "thop_2021"
    assert entries["b"]["Measured"]["FLOPs Input"] == "224x224"
    assert (
        "FLOPs" not in entries["d"]["Metadata"]
        and "FLOPs Convention" not in entries["d"]["Measured"]
    )


def test_models_filter(store: ResultsStore) -> None:
    store.add(verify_run("mixnet_s"))
    store.add(verify_run("mixnet_m"))
    assert [m.name for m in measured_models(store, ["mixnet_m"])] == ["mixnet_m"]
    assert [m.name for m in measured_models(store)] == ["mixnet_m", "mixnet_s"]
    with pytest.raises(InputError, match="for mixnet_q"):
        export_index(store, models=["mixnet_m", "mixnet_q"])


# ------------------------------------------------------------------------ errors and files


def test_an_empty_store_is_an_input_error(store: ResultsStore, tmp_path: Path) -> None:
    out = tmp_path / "measured.yml"
    with pytest.raises(InputError, match="no verify or eval runs to export") as error:
        export_index(store, out)
    assert str(store.path) in error.value.message
    assert "mixbench verify" in (error.value.hint or "")
    assert not out.exists() and not store.path.exists()


def test_a_store_of_random_weight_evals_has_nothing_to_export(store: ResultsStore) -> None:
    store.add(eval_run(weights=None))
    with pytest.raises(InputError, match="no verify or eval runs") as error:
        export_index(store)
    assert "trained weights" in (error.value.hint or "")


def test_hostile_names_survive_the_round_trip(store: ResultsStore, tmp_path: Path) -> None:
    names = ["it's: #1", 'say "hi"', "- dash", "[x]: {y}", "null", "123", "a # b", "é:ü"]
    for name in names:
        store.add(verify_run(name))
    out = exported(store, tmp_path)
    yaml.safe_load(out.read_text())
    index, problems = check_index(out)
    assert problems == []
    assert sorted(index.cards) == sorted(names)
    assert all(card.params == 4_134_606 for card in index)


def test_a_hostile_source_label_stays_in_its_comment() -> None:
    text = to_model_index_yaml(
        [MeasuredModel.of("m", params=1)], source="x\n- Name: injected\u2028y"
    )
    data = yaml.safe_load(text)
    assert [model["Name"] for model in data["Models"]] == ["m"]


def test_the_file_is_replaced_whole(store: ResultsStore, tmp_path: Path) -> None:
    store.add(verify_run())
    out = tmp_path / "measured.yml"
    out.write_text("old")
    out.chmod(0o640)
    text = export_index(store, out)
    assert out.read_text() == text
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["measured.yml", "results.sqlite"]


def test_unwritable_or_markdown_outputs_are_input_errors(
    store: ResultsStore, tmp_path: Path
) -> None:
    store.add(verify_run())
    with pytest.raises(InputError, match="cannot write"):
        export_index(store, tmp_path / "missing" / "measured.yml")
    with pytest.raises(InputError, match="YAML"):
        export_index(store, tmp_path / "measured.md")


def test_an_evaluation_through_a_deployed_path_is_not_the_models_accuracy(
    store: ResultsStore,
) -> None:
    """``eval --impl native+openvino --precision bf16`` measures that path; the card's
    accuracy is the model as built, so only that run is exported."""
    as_built = eval_run(top1=75.994, created=DAY1)
    deployed = eval_run(top1=75.2, created=DAY2)
    deployed.details = {"settings": {"implementation": "native+openvino", "precision": "bf16"}}
    store.add(as_built)
    deployed_id = store.add(deployed)  # the newer run
    model = only(measured_models(store))
    assert model.top1 == 75.994 and model.sources["top1"] != deployed_id
    lowered = eval_run(top1=75.1, created=DAY3)  # the model as built, but in bf16
    lowered.details = {"settings": {"implementation": "native+noopt", "precision": "bf16"}}
    store.add(lowered)
    assert only(measured_models(store)).top1 == 75.994


def test_an_eval_run_stored_before_measurements_were_kept_exports_alike(
    store: ResultsStore, tmp_path: Path
) -> None:
    """Older stores hold an evaluation's figures in its flat metrics (``count``, not
    ``images``): the export reads them the same."""
    old = eval_run()
    old.summary = {"top1": 75.994, "top5": 92.786, "count": 50_000, "bad_images": 0}
    old.measurements = []
    store.add(old)
    model = only(measured_models(store))
    assert (model.top1, model.top5, model.images) == (75.994, 92.786, 50_000)
