"""The tune worker: `python -m openpick.tune.worker JOB.json` trains one model.

It runs in a process of its own, so a native crash or the OOM killer costs this job, never
the openpick command that started it (which reports it, and a rerun resumes from the last
checkpoint). Events go to the parent as JSON lines on the stdout it was started with; the
libraries' own output goes to stderr (the parent sends it to train.log).

Stopping: SIGINT or SIGTERM (Ctrl-C reaches the whole process group) sets a flag the loop
reads after each step: it saves a checkpoint and exits with 130. The worker also stops
that way when its stdin closes, which is how it learns that its parent is gone (even after
kill -9 of the parent), so nothing trains on unattended.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

from openpick.errors import OpenpickError

STOPPED_EXIT = 130


def _events():
    """A private copy of stdout for events; fd 1 then points at stderr, so a library that
    prints cannot break the event stream."""
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def emit(event: dict) -> None:
        with lock:
            out.write(json.dumps(event, default=str) + "\n")
            out.flush()
    return emit


def _watch_parent(stop: threading.Event) -> None:
    def watch():
        try:  # os.read, not sys.stdin: a daemon thread in a buffered read aborts shutdown
            while os.read(0, 64):
                pass
        except OSError:
            pass
        stop.set()
    threading.Thread(target=watch, name="openpick-tune-parent", daemon=True).start()


def main(argv: list[str]) -> int:
    from openpick.tune.config import TuneConfig
    from openpick.tune.train import Trainer

    emit = _events()
    stop = threading.Event()
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: stop.set())
    _watch_parent(stop)
    job_path = Path(argv[0])
    try:
        job = TuneConfig.model_validate_json(job_path.read_text(encoding="utf-8"))
        result = Trainer(job, job_path.parent, emit, stop).run()
    except OpenpickError as e:
        emit({"event": "error", "message": e.message, "path": e.path, "line": e.line,
              "type": type(e).__name__})
        return 1
    return STOPPED_EXIT if result.get("stopped") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
