"""The run store: unique results, finished answers never overwritten, lookups by prefix."""

from __future__ import annotations

import sqlite3

import pytest

from openpick.errors import NotFound
from openpick.store.records import CaseResult, Grade, RunInfo
from openpick.store.db import now
from openpick.store.runs import RunStore


def mk_run(store: RunStore, rid="abc123def456", key="k", status="running") -> RunInfo:
    run = RunInfo(id=rid, suite="s", created_at=now(), planned=2, status=status)
    store.create(run, key)
    return run


def res(run_id, case="c1", output="x", error=None, passed=True) -> CaseResult:
    return CaseResult(run_id=run_id, model="m", case_id=case, input="q",
                      output=None if error else output,
                      error=error, grade=None if error else Grade(passed=passed, score=1.0))


def test_results_roundtrip_and_done_keys():
    store = RunStore()
    run = mk_run(store)
    store.save_results([res(run.id), res(run.id, "c2", error="boom")])
    got = store.results(run.id)
    assert [(r.case_id, r.output, r.error) for r in got] == [("c1", "x", None), ("c2", None, "boom")]
    assert store.done_keys(run.id) == {("m", "c1", "default", 0)}


def test_errored_row_is_replaced_finished_row_is_kept():
    store = RunStore()
    run = mk_run(store)
    store.save_results([res(run.id, "c1", output="first"), res(run.id, "c2", error="boom")])
    store.save_results([res(run.id, "c1", output="second"), res(run.id, "c2", output="fixed")])
    got = {r.case_id: r for r in store.results(run.id)}
    assert got["c1"].output == "first"
    assert got["c2"].output == "fixed" and got["c2"].error is None
    assert store.count(run.id) == 2


def test_unique_constraint_holds_at_the_sql_level():
    store = RunStore()
    run = mk_run(store)
    store.save_results([res(run.id)])
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("INSERT INTO case_results (run_id, model, case_id, variant, repeat, "
                           "data, created_at) VALUES (?, 'm', 'c1', 'default', 0, '{}', 'now')",
                           (run.id,))


def test_resolve_by_prefix_last_and_unknown():
    store = RunStore()
    mk_run(store, "aaa111000000")
    mk_run(store, "aab222000000", key="k2")
    assert store.resolve("aaa") == "aaa111000000"
    assert store.resolve("last") == "aab222000000"
    with pytest.raises(NotFound, match="ambiguous"):
        store.resolve("aa")
    with pytest.raises(NotFound, match="runs list"):
        store.resolve("zzz")


def test_find_unfinished_and_list_counts():
    store = RunStore()
    run = mk_run(store)
    assert store.find_unfinished("k").id == run.id
    store.save_results([res(run.id), res(run.id, "c2", passed=False)])
    (row,) = store.list()
    assert (row.done, row.passed, row.errors, row.planned) == (2, 1, 0, 2)
    store.update(run.model_copy(update={"status": "finished", "finished_at": now()}))
    assert store.find_unfinished("k") is None
    store.delete(run.id)
    assert store.list() == []


def test_a_run_held_by_a_live_process_cannot_be_claimed():
    import socket
    import subprocess
    import sys

    from openpick.errors import InvalidInput

    store = RunStore()
    run = mk_run(store)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.conn.execute("UPDATE runs SET owner = ? WHERE id = ?",
                           (f"{socket.gethostname()}:{other.pid}", run.id))
        with pytest.raises(InvalidInput, match="being run by process"):
            store.claim(run)
    finally:
        other.kill()
        other.wait()
    store.claim(run)  # its owner is gone: the run can be continued
