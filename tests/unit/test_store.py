"""The results store: round trips, filters, order, atomic writes, concurrent writers, and files it
must refuse (and leave byte for byte as they were)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import eval_run

import mixbench.store as store_module
from mixbench.cli import cli
from mixbench.errors import InputError
from mixbench.store import (
    APPLICATION_ID,
    ResultsStore,
    RunRecord,
    default_store_path,
    sha256_file,
)

ROOT = Path(__file__).resolve().parents[2]


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file in ``directory`` with its bytes: a refused file must stay exactly as it was,
    and no journal or new file may appear beside it."""
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    return ResultsStore(tmp_path / "results.sqlite")


# ------------------------------------------------------------------------------ round trip


def test_add_then_get_round_trips_every_field(store: ResultsStore) -> None:
    record = eval_run()
    run_id = store.add(record)
    assert run_id == record.id == 1
    store.check()
    assert store.get(run_id) == record
    assert store.get(run_id).to_dict() == record.to_dict()


def test_record_defaults_and_dict_round_trip() -> None:
    record = RunRecord(kind="eval", model="mixnet_s", summary={"top1": 75.0})
    assert record.created.endswith("+00:00") and "T" in record.created
    assert record.id is None and record.details == {} and record.versions == {}
    assert RunRecord.from_dict(record.to_dict()) == record
    with pytest.raises(ValueError, match="unknown run record field"):
        RunRecord.from_dict({**record.to_dict(), "colour": "blue"})


def test_created_is_stored_in_utc(store: ResultsStore) -> None:
    run_id = store.add(eval_run(created="2024-03-01T01:30:00+01:00"))
    assert store.get(run_id).created == "2024-03-01T00:30:00+00:00"
    store.add(eval_run(created="2024-03-01T00:00:00Z"))
    with pytest.raises(ValueError, match="time zone"):
        store.add(eval_run(created="2024-03-01T00:00:00"))


def test_paths_and_tensor_scalars_are_stored_as_json(store: ResultsStore) -> None:
    run_id = store.add(eval_run(summary={"top1": torch.tensor(80.5)}, details={"p": Path("x")}))
    record = store.get(run_id)
    assert record.metrics == {"top1": 80.5} and record.details == {"p": "x"}


def test_unserialisable_record_stores_nothing(store: ResultsStore) -> None:
    with pytest.raises(TypeError, match="'details' is not JSON-serialisable"):
        store.add(eval_run(details={"model": object()}))
    assert not store.path.exists()


def test_record_needs_kind_and_model(store: ResultsStore) -> None:
    with pytest.raises(ValueError, match="kind and a model"):
        store.add(eval_run(model=""))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one store for all examples
)
@given(summary=json_objects, details=json_objects, model=st.text(min_size=1), dataset=st.text())
def test_any_json_round_trips(
    store: ResultsStore, summary: dict, details: dict, model: str, dataset: str
) -> None:
    record = RunRecord(kind="eval", model=model, summary=summary, details=details, dataset=dataset)
    assert store.get(store.add(record)) == record


# ------------------------------------------------------------------------------ queries


def test_filters_limit_and_newest_first(store: ResultsStore) -> None:
    # added out of time order: the order is by creation time, the id breaks ties
    store.add(eval_run("mixnet_s", created="2024-01-02T00:00:00+00:00"))
    store.add(eval_run("mixnet_xl", created="2024-01-03T00:00:00+00:00"))
    store.add(eval_run("mixnet_s", created="2024-01-01T00:00:00+00:00"))
    store.add(eval_run("mixnet_s", kind="throughput", created="2024-01-03T00:00:00+00:00"))
    assert [r.id for r in store.runs()] == [4, 2, 1, 3]
    assert [r.id for r in store.runs(model="mixnet_s")] == [4, 1, 3]
    assert [r.id for r in store.runs(kind="eval")] == [2, 1, 3]
    assert [r.id for r in store.runs(model="mixnet_s", kind="eval")] == [1, 3]
    assert [r.id for r in store.runs(model="mixnet_s", limit=2)] == [4, 1]
    assert store.runs(model="nope") == []
    assert store.runs(limit=0) == []
    with pytest.raises(ValueError):
        store.runs(limit=-1)


def test_missing_run_id_is_an_input_error(store: ResultsStore) -> None:
    store.add(eval_run())
    with pytest.raises(InputError, match="no run with id 7") as error:
        store.get(7)
    assert str(store.path) in str(error.value) and "mixbench runs" in (error.value.hint or "")


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "not" / "yet" / "results.sqlite")
    assert store.runs() == []
    store.check()  # a store that add() would create is fine
    with pytest.raises(InputError, match="no run with id 1"):
        store.get(1)
    assert list(tmp_path.iterdir()) == []


def test_first_add_creates_parent_directories_and_a_versioned_schema(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "a" / "b" / "results.sqlite")
    store.add(eval_run())
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 1
        assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        columns = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
    assert {"kind", "model", "created", "dataset_fingerprint", "weights_sha256"} <= columns


def test_an_empty_database_is_an_empty_store_and_an_empty_file_is_refused(
    tmp_path: Path,
) -> None:
    """mixbench makes a store whole before it appears, so a 0-byte file is someone else's: it
    was silently replaced once, against the promise that such a file is never overwritten."""
    empty_database = tmp_path / "blank.sqlite"
    sqlite3.connect(empty_database).execute("VACUUM").connection.close()
    store = ResultsStore(empty_database)
    store.check()
    assert store.runs() == []
    store.add(eval_run())
    assert len(store.runs()) == 1
    empty_file = tmp_path / "touched.sqlite"
    empty_file.touch()
    store = ResultsStore(empty_file)
    for attempt in (store.check, store.runs, lambda: store.add(eval_run())):
        with pytest.raises(InputError, match=r"an empty file \(0 bytes\)") as caught:
            attempt()
        assert "left untouched" in (caught.value.hint or "")
    assert empty_file.stat().st_size == 0


# ------------------------------------------------------------------------------ default path


def test_default_path_follows_mixbench_db_then_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIXBENCH_DB", str(tmp_path / "mine.sqlite"))
    assert default_store_path() == tmp_path / "mine.sqlite"
    assert ResultsStore().path == tmp_path / "mine.sqlite"
    monkeypatch.delenv("MIXBENCH_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "mixbench" / "results.sqlite"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/xdg")  # invalid per the XDG spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "mixbench" / "results.sqlite"
    assert default_store_path() == expected
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_store_path() == expected


def test_sha256_file_streams_large_files(tmp_path: Path) -> None:
    data = random.Random(0).randbytes(2_500_000)  # several read chunks
    (tmp_path / "w.bin").write_bytes(data)
    assert sha256_file(tmp_path / "w.bin") == hashlib.sha256(data).hexdigest()
    with pytest.raises(InputError, match=r"missing\.bin: cannot read"):
        sha256_file(tmp_path / "missing.bin")


# ------------------------------------------------------------------------------ refused files


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(8192))


def _full_store(path: Path) -> None:
    store = ResultsStore(path)
    for index in range(40):
        store.add(eval_run(details={"per_class": [index + 0.5] * 100}))
    assert path.stat().st_size > 8 * 4096


def _truncated_store(path: Path, keep: int | None = None) -> None:
    _full_store(path)
    data = path.read_bytes()
    path.write_bytes(data[: keep or len(data) // 2])


def _row_id_out_of_order(path: Path) -> None:
    """One row id rewritten (1 → 100) in the first leaf of the runs table: the file still opens
    and an insert (into the last leaf) would succeed, so only a check before writing stops
    the store from adding to a damaged file."""
    _full_store(path)
    data = bytearray(path.read_bytes())
    leaf = 8 * 4096  # page 9: the first leaf of the runs table in this schema
    assert data[leaf] == 0x0D  # a table leaf page
    cell = leaf + int.from_bytes(data[leaf + 8 : leaf + 10], "big")
    while data[cell] & 0x80:  # skip the payload-size varint
        cell += 1
    assert data[cell + 1] == 1
    data[cell + 1] = 100
    path.write_bytes(bytes(data))


def _other_schema(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE songs (title TEXT)")
        connection.execute("INSERT INTO songs VALUES ('x')")
    connection.close()


def _newer_schema(path: Path) -> None:
    ResultsStore(path).add(eval_run())
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()


def _ours_without_runs_table(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute("PRAGMA user_version = 1")
        connection.execute("CREATE TABLE other (x)")
    connection.close()


# name: (make the file, the error message)
DAMAGED = {
    "random bytes": (_random_bytes, "not an SQLite database"),
    "short text file": (lambda p: p.write_text("hello"), "not an SQLite database"),
    "truncated to half": (_truncated_store, "not a readable mixbench"),
    "truncated mid first page": (
        lambda p: _truncated_store(p, 1000),
        "not a readable mixbench",
    ),
    "a row id out of order": (_row_id_out_of_order, "not a readable mixbench"),
    "another schema": (_other_schema, "not a mixbench results store \\(tables: songs\\)"),
    "newer schema": (_newer_schema, "schema 99 is newer"),
    "ours, no runs table": (_ours_without_runs_table, "schema version 1, tables: other"),
}


@pytest.mark.parametrize("make", DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_or_foreign_files_are_refused_and_left_untouched(tmp_path: Path, make: Any) -> None:
    build, message = make
    path = tmp_path / "results.sqlite"
    build(path)
    before = snapshot(tmp_path)
    store = ResultsStore(path)
    for attempt in (store.check, store.runs, lambda: store.add(eval_run())):
        with pytest.raises(InputError, match=message) as error:
            attempt()
        assert str(path) in error.value.message and "\n" not in error.value.message
        assert "move it aside" in (error.value.hint or "") or "upgrade" in (error.value.hint or "")
    assert snapshot(tmp_path) == before


def test_a_run_whose_json_was_damaged_is_named_and_the_others_still_read(
    store: ResultsStore,
) -> None:
    """One hand-edited cell once made the whole store unreadable, without naming the row."""
    first = store.add(eval_run("mixnet_s"))
    second = store.add(eval_run("mixnet_m"))
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE runs SET metrics = '{not json' WHERE id = ?", [first])
    connection.close()
    assert [run.id for run in store.runs()] == [second]
    [(run_id, why)] = store.unreadable
    assert run_id == first and "Expecting" in why
    store.add(eval_run("mixnet_l"))  # the store itself is whole: it still takes runs
    assert len(store.runs()) == 2


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        ResultsStore(tmp_path).check()
    with pytest.raises(InputError, match="is a directory"):
        ResultsStore(tmp_path).runs()
    with pytest.raises(InputError, match="is a directory"):
        ResultsStore(tmp_path).add(eval_run())


# ------------------------------------------------------------------------------ atomicity


def test_a_failure_inside_the_transaction_stores_nothing(
    store: ResultsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add(eval_run("mixnet_s"))
    before = store.path.read_bytes()
    real_insert = store_module._insert_run

    def insert_then_fail(connection: sqlite3.Connection, row: dict[str, Any]) -> int:
        real_insert(connection, row)
        raise RuntimeError("power cut")

    monkeypatch.setattr(store_module, "_insert_run", insert_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        store.add(eval_run("mixnet_xl"))
    assert store.path.read_bytes() == before
    # a store whose very first add fails is a whole, empty store (never a 0-byte file)
    fresh = ResultsStore(store.path.parent / "fresh" / "results.sqlite")
    with pytest.raises(RuntimeError, match="power cut"):
        fresh.add(eval_run())
    assert fresh.path.stat().st_size > 0 and fresh.runs() == []
    assert [p.name for p in fresh.path.parent.iterdir()] == ["results.sqlite"]
    monkeypatch.undo()
    assert [r.model for r in store.runs()] == ["mixnet_s"]
    fresh.add(eval_run())
    assert len(fresh.runs()) == 1


CRASH_MID_ADD = """
import os, sys
import mixbench.store as store_module
from mixbench.store import ResultsStore, RunRecord
real_insert = store_module._insert_run
def insert_then_die(connection, row):
    connection.execute("PRAGMA cache_size = 1")  # spill the half-done pages into the file
    real_insert(connection, row)
    connection.execute("UPDATE runs SET model = 'clobbered'")
    os._exit(9)  # no rollback, no cleanup: as if the machine lost power
store_module._insert_run = insert_then_die
record = RunRecord(kind="eval", model="half-written", summary={}, details={"x": "y" * 200_000})
ResultsStore(sys.argv[1]).add(record)
"""


def test_a_process_killed_mid_add_leaves_the_previous_content(store: ResultsStore) -> None:
    store.add(eval_run("mixnet_s"))
    store.add(eval_run("mixnet_m"))
    before = store.path.read_bytes()
    child = subprocess.run([sys.executable, "-c", CRASH_MID_ADD, str(store.path)], check=False)
    assert child.returncode == 9
    # the crash left a half-written file and its rollback journal ...
    assert store.path.read_bytes() != before
    assert store.path.with_name(store.path.name + "-journal").exists()
    # ... which SQLite rolls back on the next open
    assert [r.model for r in store.runs()] == ["mixnet_m", "mixnet_s"]
    assert store.path.read_bytes() == before
    store.add(eval_run("mixnet_l"))
    assert [r.id for r in store.runs()] == [3, 2, 1]


def _add_many(path: str, worker: int, count: int, start: Any) -> None:
    start.wait()  # both processes begin together, so their writes interleave
    store = ResultsStore(path)
    for index in range(count):
        store.add(RunRecord(kind="eval", model=f"w{worker}", summary={"index": index}))


def test_two_processes_writing_at_once_both_land(tmp_path: Path) -> None:
    path = str(tmp_path / "results.sqlite")
    # fork: quick to start (no re-import of torch in the children); spawn where there is none
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    start = context.Barrier(2)
    workers = [context.Process(target=_add_many, args=(path, w, 25, start)) for w in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    records = ResultsStore(path).runs()
    assert len(records) == 50 and len({r.id for r in records}) == 50
    for model in ("w0", "w1"):
        indices = sorted(r.metrics["index"] for r in records if r.model == model)
        assert indices == list(range(25))


# ------------------------------------------------------------------------------ CLI


def run_cli(*args: str, db: Path | None = None):
    env = {"MIXBENCH_DB": str(db)} if db else None
    return CliRunner().invoke(cli, ["runs", *args], env=env)


def test_cli_runs_table(store: ResultsStore) -> None:
    store.add(eval_run("mixnet_s", created="2024-01-01T00:00:00+00:00"))
    store.add(RunRecord(kind="throughput", model="mixnet_xl", summary={"images_per_s": 1234.5}))
    result = run_cli("--db", str(store.path))
    assert result.exit_code == 0, result.output
    assert f"2 runs in {store.path}" in result.stdout
    for text in ("mixnet_s", "80.47", "95.11", "50,000", "2024-01-01 00:00:00", "0123456789ab"):
        assert text in result.stdout
    assert "images_per_s 1234.5" in result.stdout
    assert result.stdout.index("mixnet_xl") < result.stdout.index("mixnet_s")
    filtered = run_cli("--kind", "eval", db=store.path)  # --db from MIXBENCH_DB
    assert "1 run in" in filtered.stdout and "mixnet_xl" not in filtered.stdout


def test_cli_runs_json(store: ResultsStore) -> None:
    first = eval_run("mixnet_s")
    store.add(first)
    store.add(eval_run("mixnet_m"))
    result = run_cli("--json", "--model", "mixnet_s", "--db", str(store.path))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [first.to_dict()]
    limited = json.loads(run_cli("--json", "--limit", "1", db=store.path).stdout)
    assert [r["model"] for r in limited] == ["mixnet_m"]


def test_cli_runs_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    result = run_cli(db=path)
    assert result.exit_code == 0 and result.stdout.strip() == f"no runs in {path}"
    assert json.loads(run_cli("--json", db=path).stdout) == []
    assert (
        "no runs with model=x kind=eval"
        in run_cli("--model", "x", "--kind", "eval", db=path).stdout
    )
    assert not path.exists()


def test_cli_runs_damaged_store_exits_2_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    _random_bytes(path)
    before = path.read_bytes()
    result = run_cli("--db", str(path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"error: {path}: not a readable mixbench results database")
    assert lines[1].startswith("hint: ") and "--db" in lines[1]
    assert "Traceback" not in result.output
    assert path.read_bytes() == before


def test_cli_runs_rejects_a_bad_limit(tmp_path: Path) -> None:
    result = run_cli("--limit", "-1", db=tmp_path / "r.sqlite")
    assert result.exit_code == 2 and "--limit" in result.output
    assert run_cli("--limit", "0", db=tmp_path / "r.sqlite").exit_code == 0  # 0: every run


def test_store_module_stays_light() -> None:
    """The store is used by quick commands (``mixbench runs``): no torch import."""
    code = "import sys, mixbench.store; print('torch' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert output.strip() == "False"
