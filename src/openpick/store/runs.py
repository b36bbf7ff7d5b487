"""Comparison runs in the store: the run, its models and options, and every case result.

A result is written the moment the runner has it (one transaction per batch of finished
results, committed before the workers that produced them move on), so a killed run loses
nothing it finished. `(run, model, case, variant, repeat)` is UNIQUE and a stored answer is
only ever replaced when it was an error: resuming cannot duplicate or redo finished work.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterable

from pydantic import BaseModel

from openpick.errors import InvalidInput, NotFound
from openpick.store.records import CaseResult, RunInfo
from openpick.store.db import connect, now, transaction

ResultKey = tuple[str, str, str, int]  # model, case_id, variant, repeat

_UPSERT = (
    "INSERT INTO case_results (run_id, model, case_id, variant, repeat, passed, score, error, "
    "cached, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, model, case_id, variant, repeat) DO UPDATE SET "
    "passed = excluded.passed, score = excluded.score, error = excluded.error, "
    "cached = excluded.cached, data = excluded.data, created_at = excluded.created_at "
    # A finished answer is never overwritten; only an errored one is retried.
    "WHERE case_results.error IS NOT NULL"
)


class RunSummaryRow(BaseModel):
    """One line of `openpick runs list`."""

    id: str
    suite: str
    status: str
    created_at: str
    finished_at: str | None
    models: list[str]
    planned: int
    done: int
    passed: int
    errors: int


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process that last ran a run still lives (on this machine)."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def result_key(r: CaseResult) -> ResultKey:
    return (r.model, r.case_id, r.variant, r.repeat)


class RunStore:
    def __init__(self, conn: sqlite3.Connection | None = None):
        self.conn = conn or connect()

    # -- runs ---------------------------------------------------------------------------
    def create(self, run: RunInfo, key: str) -> None:
        t = now()
        self.conn.execute(
            "INSERT INTO runs (id, key, suite, suite_path, suite_hash, status, planned, info, "
            "owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.id, key, run.suite, run.suite_path, run.suite_hash, run.status, run.planned,
             run.model_dump_json(), this_process(), run.created_at, t))

    def update(self, run: RunInfo) -> None:
        """Rewrite a run's info and status (models' identities, planned count, end time)."""
        self.conn.execute(
            "UPDATE runs SET status = ?, planned = ?, info = ?, suite_hash = ?, updated_at = ?, "
            "finished_at = ?, owner = ? WHERE id = ?",
            (run.status, run.planned, run.model_dump_json(), run.suite_hash, now(),
             run.finished_at, this_process(), run.id))

    def claim(self, run: RunInfo) -> None:
        """Take over a run to continue it; refuses one that a live process is running."""
        with transaction(self.conn):
            row = self.conn.execute("SELECT status, owner FROM runs WHERE id = ?",
                                    (run.id,)).fetchone()
            if row is not None and row["status"] == "running" and owner_alive(row["owner"]):
                pid = row["owner"].rpartition(":")[2]
                raise InvalidInput(f"run {run.id} is being run by process {pid}; wait for it "
                                   "to finish or stop it first")
            self.update(run)

    def find_unfinished(self, key: str) -> RunInfo | None:
        """The latest run with the same key that did not finish (killed, interrupted)."""
        row = self.conn.execute(
            "SELECT info FROM runs WHERE key = ? AND status != 'finished' "
            "ORDER BY created_at DESC LIMIT 1", (key,)).fetchone()
        return None if row is None else RunInfo.model_validate_json(row["info"])

    def resolve(self, ref: str) -> str:
        """A run id from an id, a unique prefix of one, or `last`."""
        if ref in ("last", "latest"):
            row = self.conn.execute("SELECT id FROM runs ORDER BY created_at DESC, rowid DESC "
                                    "LIMIT 1").fetchone()
            if row is None:
                raise NotFound("no runs yet; start one with `openpick compare`")
            return row["id"]
        rows = self.conn.execute("SELECT id FROM runs WHERE id LIKE ? ORDER BY created_at DESC",
                                 (ref.replace("%", "") + "%",)).fetchall()
        if len(rows) == 1 or (rows and rows[0]["id"] == ref):
            return rows[0]["id"]
        if rows:
            raise NotFound(f"run {ref!r} is ambiguous ({', '.join(r['id'] for r in rows[:5])}); "
                           "give more characters")
        raise NotFound(f"no run {ref!r}; list them with `openpick runs list`")

    def get(self, ref: str) -> RunInfo:
        row = self.conn.execute("SELECT info FROM runs WHERE id = ?",
                                (self.resolve(ref),)).fetchone()
        return RunInfo.model_validate_json(row["info"])

    def list(self, limit: int = 20) -> list[RunSummaryRow]:
        rows = self.conn.execute(
            "SELECT r.id, r.suite, r.status, r.created_at, r.finished_at, r.planned, r.info, "
            "COUNT(c.id) AS done, COALESCE(SUM(c.passed = 1), 0) AS passed, "
            "COALESCE(SUM(c.error IS NOT NULL), 0) AS errors "
            "FROM runs r LEFT JOIN case_results c ON c.run_id = r.id "
            "GROUP BY r.id ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?", (limit,)).fetchall()
        out = []
        for r in rows:
            models = [m["name"] for m in json.loads(r["info"]).get("models", [])]
            out.append(RunSummaryRow(
                id=r["id"], suite=r["suite"], status=r["status"], created_at=r["created_at"],
                finished_at=r["finished_at"], models=models, planned=r["planned"],
                done=r["done"], passed=r["passed"], errors=r["errors"]))
        return out

    def measured(self, record_id: str, limit: int = 200) -> list[dict]:
        """A catalog model's pass rate in each of the latest `limit` runs that ran it:
        {run, suite, created_at, model, n, pass_rate} per run and model name."""
        rows = self.conn.execute("SELECT id, suite, created_at, info FROM runs "
                                 "ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
        out = []
        for r in rows:
            for m in json.loads(r["info"]).get("models", []):
                if (m.get("record_id") or "").lower() != record_id.lower():
                    continue
                n, passed = self.conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(passed = 1), 0) FROM case_results "
                    "WHERE run_id = ? AND model = ?", (r["id"], m["name"])).fetchone()
                out.append({"run": r["id"], "suite": r["suite"], "created_at": r["created_at"],
                            "model": m["name"], "n": n, "pass_rate": passed / n if n else None})
        return out

    def delete(self, ref: str) -> None:
        self.conn.execute("DELETE FROM runs WHERE id = ?", (self.resolve(ref),))

    # -- results ------------------------------------------------------------------------
    def save_results(self, results: Iterable[CaseResult],
                     extra: Iterable[tuple[str, tuple]] = ()) -> None:
        """Write results (and any extra statements, e.g. cache rows) in one transaction."""
        rows = [(r.run_id, r.model, r.case_id, r.variant, r.repeat,
                 None if r.grade is None else int(r.grade.passed),
                 None if r.grade is None else r.grade.score, r.error, int(r.cached),
                 r.model_dump_json(), r.created_at or now()) for r in results]
        with transaction(self.conn):
            self.conn.executemany(_UPSERT, rows)
            for sql, params in extra:
                self.conn.execute(sql, params)

    def results(self, ref: str) -> list[CaseResult]:
        run_id = self.resolve(ref)
        rows = self.conn.execute("SELECT data FROM case_results WHERE run_id = ? ORDER BY id",
                                 (run_id,)).fetchall()
        return [CaseResult.model_validate_json(r["data"]) for r in rows]

    def done_keys(self, run_id: str) -> set[ResultKey]:
        """Results that need no rerun: answered without an error."""
        rows = self.conn.execute("SELECT model, case_id, variant, repeat FROM case_results "
                                 "WHERE run_id = ? AND error IS NULL", (run_id,)).fetchall()
        return {(r[0], r[1], r[2], r[3]) for r in rows}

    def count(self, run_id: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM case_results WHERE run_id = ?",
                                 (run_id,)).fetchone()[0]
