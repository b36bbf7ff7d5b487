"""The worker process: one loaded native model, spoken to over a socket by engines/process.py.

Started as `python -m openpick.engines.worker FD`, where FD is this end of a socketpair.
Messages are tuples of plain values (multiprocessing.connection framing):

    parent → worker   ("load", {"engine": "module:Class", "target", "options", "display_name",
                                "record_id"})
                      ("gen", rid, request_dict)   ("cancel", rid)   ("close",)
                      ("score", rid, score_request_dict)
    worker → parent   ("ready", info) | ("load_error", error_dict)
                      ("delta", rid, delta_dict)   ("end", rid)   ("error", rid, error_dict)
                      ("scores", rid, [choice_score_dict, ...])

Each "gen" and "score" runs on its own thread, so an engine that batches (llama-cpp, transformers) sees
concurrent requests. The worker's life is tied to the parent's: it exits when the socket
closes (the parent exited or was killed, even by kill -9) or when its parent process changes.
SIGINT is ignored: Ctrl-C belongs to the parent, which decides what stops.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from importlib import import_module
from multiprocessing.connection import Connection

from openpick.engines.base import Engine, Request, ScoreRequest
from openpick.errors import OpenpickError


def error_dict(e: BaseException) -> dict:
    kind = type(e)
    return {"type": kind.__name__, "module": kind.__module__, "message": getattr(e, "message", None)
            or str(e) or kind.__name__, "path": getattr(e, "path", None),
            "line": getattr(e, "line", None), "user_error": isinstance(e, OpenpickError)}


class Worker:
    def __init__(self, conn: Connection):
        self.conn = conn
        self.send_lock = threading.Lock()
        self.cancels: dict[int, threading.Event] = {}
        self.engine: Engine | None = None

    def send(self, msg: tuple) -> None:
        with self.send_lock:
            self.conn.send(msg)

    def load(self, spec: dict) -> None:
        module, _, attr = spec["engine"].partition(":")
        cls = getattr(import_module(module), attr)
        self.engine = cls(spec["target"], spec["options"], display_name=spec["display_name"],
                          record_id=spec["record_id"])
        e = self.engine
        self.send(("ready", {"identity": e.identity().model_dump(), "pid": os.getpid(),
                             "estimated_bytes": e.estimated_bytes(),
                             "max_parallel": e.max_parallel()}))

    def generate(self, rid: int, request: dict, cancel: threading.Event) -> None:
        def stream() -> None:
            gen = self.engine.generate(Request.model_validate(request))
            try:
                for delta in gen:
                    if cancel.is_set():
                        break
                    self.send(("delta", rid, delta.model_dump(exclude_none=True)))
            finally:
                gen.close()  # frees the engine's slot now when the parent cancelled
            self.send(("end", rid))

        try:
            self._answer(rid, stream)
        finally:
            self.cancels.pop(rid, None)

    def score(self, rid: int, body: dict) -> None:
        def scores() -> None:
            req = ScoreRequest.model_validate(body)
            out = self.engine.loglikelihood(req.context, req.continuations)
            self.send(("scores", rid, [c.model_dump() for c in out]))

        self._answer(rid, scores)

    def _answer(self, rid: int, work) -> None:
        """Run one request's work; its failure goes back to it, a lost parent ends us."""
        try:
            work()
        except (EOFError, OSError, BrokenPipeError):
            os._exit(0)  # the parent is gone
        except BaseException as e:  # noqa: BLE001 - every failure goes back to its request
            try:
                self.send(("error", rid, error_dict(e)))
            except (EOFError, OSError):
                os._exit(0)

    def serve(self) -> None:
        while True:
            msg = self.conn.recv()
            kind = msg[0]
            if kind == "gen":
                rid = msg[1]
                cancel = self.cancels[rid] = threading.Event()
                threading.Thread(target=self.generate, args=(rid, msg[2], cancel),
                                 daemon=True, name=f"request-{rid}").start()
            elif kind == "score":
                threading.Thread(target=self.score, args=(msg[1], msg[2]), daemon=True,
                                 name=f"score-{msg[1]}").start()
            elif kind == "cancel":
                ev = self.cancels.get(msg[1])
                if ev is not None:
                    ev.set()
            elif kind == "close":
                return


def _watch_parent(ppid: int) -> None:
    # The socket's EOF is the main signal; this catches a parent that died while the socket
    # lives on (held open by a grandchild that inherited it, say).
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(0)


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.dup2(2, 1)  # native libraries that print to stdout must not reach the parent's stdout
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    conn = Connection(int(argv[1]))
    worker = Worker(conn)
    try:
        msg = conn.recv()
        try:
            worker.load(msg[1])
        except BaseException as e:  # noqa: BLE001 - load errors go back as one message
            conn.send(("load_error", error_dict(e)))
            return
        worker.serve()
    except (EOFError, OSError):
        pass
    finally:
        if worker.engine is not None:
            try:
                worker.engine.close()
            except Exception:  # noqa: BLE001 - exiting anyway
                pass
    # Skip interpreter teardown: native libraries' atexit and thread cleanup can hang.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
