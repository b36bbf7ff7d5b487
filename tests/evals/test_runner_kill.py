"""`kill -9` in the middle of a run loses nothing that finished, and rerunning finishes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from test_runner_support import items, reset_calls, scripted_pool

from openpick.evals.runner import RunOptions, compare
from openpick.store.db import db_path
from openpick.store.runs import RunStore

HERE = Path(__file__).parent

SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from test_runner_support import items, scripted_pool
from test_runner import Suite
from openpick.evals.runner import compare
compare(Suite(items(40)), ["fake:echo"], pool=scripted_pool(delay=0.05))
"""


def _stored(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM case_results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def test_sigkill_mid_run_loses_nothing_finished():
    db = db_path()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(here=str(HERE))],
                            env={**os.environ}, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _stored(db) < 5:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the run never stored 5 results"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = RunStore()
    (row,) = store.list()
    assert row.status == "running"  # killed: nobody could mark it
    survived = store.results(row.id)
    assert 5 <= len(survived) < 40
    assert all(r.error is None and r.output for r in survived)

    # Rerunning the same command continues that run and asks only for what is missing.
    from test_runner import Suite

    reset_calls()
    info, results = compare(Suite(items(40)), ["fake:echo"], RunOptions(use_cache=False),
                            pool=scripted_pool())
    from test_runner_support import calls

    assert info.id == row.id and info.status == "finished"
    assert calls("fake:echo") == 40 - len(survived)
    assert len(results) == 40 == len({r.case_id for r in results})
    before = {r.case_id: r.created_at for r in survived}
    assert all(r.created_at == before[r.case_id] for r in results if r.case_id in before)


def test_sigint_marks_the_run_interrupted_and_keeps_what_finished():
    db = db_path()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(here=str(HERE))],
                            env={**os.environ}, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _stored(db) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the run never stored 3 results"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "RunInterrupted" in err and "--resume" in err
    store = RunStore()
    (row,) = store.list()
    assert row.status == "interrupted" and 3 <= row.done < 40
