"""The real llama.cpp engine in its worker process: killed mid-stream, openpick goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openpick.engines import Request, load_engine
from openpick.engines.process import WorkerCrashed, WorkerEngine

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def test_sigsegv_mid_stream_is_one_error_and_the_next_answer_is_right(smollm2_path):
    engine = load_engine("smollm2-135m")
    try:
        assert isinstance(engine, WorkerEngine) and engine.pid != os.getpid()
        got = []
        with pytest.raises(WorkerCrashed) as info:
            for d in engine.generate(Request.chat("Tell me a long story about a cat.",
                                                  max_tokens=200)):
                got.append(d.text)
                if len(got) == 3:
                    os.kill(engine.pid, signal.SIGSEGV)
        assert "smollm2-135m" in str(info.value) and "SIGSEGV" in str(info.value)
        import openpick.cli.main  # noqa: F401  (cli.ask registers itself on the app)
        from openpick.cli.ask import DEFAULT_SYSTEM

        answer = engine.complete(Request.chat("What is the capital of France? Answer in one sentence.",
                                              system=DEFAULT_SYSTEM, max_tokens=16)).text
        assert "Paris" in answer and engine.restarts == 1
    finally:
        engine.close()


def test_compare_survives_a_killed_worker_and_a_rerun_redoes_only_the_lost_cases(cli, tmp_path):
    from openpick.paths import data_dir

    env = {**os.environ}
    cmd = [sys.executable, "-c", "from openpick.cli.main import main; main()", "compare", "demo",
           "-m", "smollm2-135m", "--json", "--no-cache"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    killed = None
    deadline = time.monotonic() + 120
    db = data_dir() / "openpick.db"
    # kill the worker once a few answers are on disk (mid-run)
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if not db.exists():
            continue
        done = subprocess.run([sys.executable, "-c", (
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
            "print(c.execute('select count(*) from case_results').fetchone()[0])"), str(db)],
            capture_output=True, text=True).stdout.strip()
        if done.isdigit() and int(done) >= 3:
            for child in children(proc.pid):
                os.kill(child, signal.SIGKILL)
                killed = child
    out, err = proc.communicate(timeout=600)
    assert killed is not None, "the run ended before a worker could be killed"
    assert proc.returncode == 0, err
    report = json.loads(out)
    errors = [r for r in report["results"] if r.get("error")]
    assert errors and all("SIGKILL" in r["error"] for r in errors), errors
    ok = [r for r in report["results"] if not r.get("error")]
    assert ok, "the cases before and after the kill must have answers"
    again = cli("compare", "--resume", report["run"]["id"], "--json", timeout=600)
    assert again.returncode == 0, again.stderr
    report2 = json.loads(again.stdout)
    assert not [r for r in report2["results"] if r.get("error")]
    before = {(r["case_id"], r["created_at"]) for r in ok}
    after = {(r["case_id"], r["created_at"]) for r in report2["results"]}
    assert before <= after, "finished answers must be kept, not redone"
