"""The parent side of a tuning job: start the worker, relay its events, stop it cleanly.

The worker (tune/worker.py) is a child process with a pipe on its stdin (closing it, or
this process dying, tells it to stop) and its events on stdout; its stderr goes to the
job's train.log, whose tail is quoted when it dies. Ctrl-C here: the worker is asked to stop
(SIGINT; a terminal sends it to both anyway), it saves a checkpoint after the step it is
in, and TuneInterrupted says how to resume. A worker that stays silent past
`silence_timeout_s` is treated as hung and killed (its last checkpoint stays).
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from openpick.errors import InvalidInput, OpenpickError

STOP_GRACE_S = 300.0      # a step, then a checkpoint save, after a Ctrl-C
SILENCE_TIMEOUT_S = 3600.0
EXIT_WAIT_S = 120.0


class TuneInterrupted(OpenpickError):
    exit_code = 130


class TuneFailed(OpenpickError):
    exit_code = 4


def _reader(stream, out: queue.SimpleQueue) -> None:
    for line in stream:
        line = line.strip()
        if line:
            try:
                out.put(json.loads(line))
            except json.JSONDecodeError:
                out.put({"event": "noise", "text": line[:200]})
    out.put(None)  # the worker closed its stdout: it exited


def _log_tail(log: Path, lines: int = 8) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])[-600:]


def run_worker(job_path: Path, on_event: Callable[[dict], None], *,
               silence_timeout_s: float = SILENCE_TIMEOUT_S) -> dict:
    """Run the job to its end; returns the worker's "done" event."""
    log = job_path.parent / "train.log"
    with log.open("ab") as err:
        proc = subprocess.Popen([sys.executable, "-m", "openpick.tune.worker", str(job_path)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                text=True, encoding="utf-8")
    events: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_reader, args=(proc.stdout, events), daemon=True).start()
    last: dict = {}
    try:
        last = _pump(events, on_event, silence_timeout_s, proc)
    except KeyboardInterrupt:
        last = _stop(proc, events, on_event) or last
        step = last.get("step")
        raise TuneInterrupted(
            f"stopped{f' at step {step}' if step else ''}; the last checkpoint is kept: "
            "rerun the same command to resume") from None
    finally:
        _reap(proc)
    return _outcome(proc.returncode, last, log)


def _reap(proc) -> None:
    """Let a worker that closed its events finish exiting (torch's teardown takes a moment);
    kill one that does not."""
    try:
        proc.wait(timeout=EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
    if proc.stdin:
        proc.stdin.close()


def _pump(events, on_event, silence_timeout_s: float, proc) -> dict:
    last: dict = {}
    waited = 0.0
    while True:
        try:
            ev = events.get(timeout=1.0)
        except queue.Empty:
            waited += 1.0
            if waited > silence_timeout_s:
                proc.kill()
                raise TuneFailed(f"the tune worker sent nothing for {silence_timeout_s:.0f} s "
                                 "and was stopped; rerun the command to resume") from None
            continue
        waited = 0.0
        if ev is None:
            return last
        on_event(ev)
        if ev.get("event") != "noise":
            last = ev


def _stop(proc, events, on_event) -> dict:
    """Ask the worker to save and stop; wait for it (a second Ctrl-C kills it)."""
    last: dict = {}
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        deadline = STOP_GRACE_S
        while deadline > 0:
            try:
                ev = events.get(timeout=1.0)
            except queue.Empty:
                deadline -= 1.0
                continue
            if ev is None:
                break
            on_event(ev)
            last = ev
    except KeyboardInterrupt:
        proc.kill()
    return last


def _outcome(code: int, last: dict, log: Path) -> dict:
    kind = last.get("event")
    if kind == "error":
        raise InvalidInput(last["message"], path=last.get("path"), line=last.get("line"))
    if kind == "done" and code == 0:
        return last
    if kind == "stopped":
        raise TuneInterrupted(f"stopped at step {last['step']}; the checkpoint is saved: "
                              "rerun the same command to resume")
    why = (f"killed by signal {-code} ({signal.Signals(-code).name})" if code < 0
           else f"exited with status {code}")
    tail = _log_tail(log)
    raise TuneFailed(f"the tune worker {why}; its last checkpoint is kept, so rerunning the "
                     f"command resumes. {log}: {tail}" if tail else
                     f"the tune worker {why}; rerunning the command resumes")

