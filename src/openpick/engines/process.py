"""Native engines in worker processes, as Ollama runs its runners: a crash costs requests,
never openpick.

`WorkerEngine` stands in for a native engine (llama-cpp, transformers) behind the same
Engine contract. The model lives in a child process (engines/worker.py); requests and their
deltas cross a socketpair, many at once (the worker's engine batches them). When the worker
dies (a signal, the OOM killer, a native abort) every request in flight gets one clear error
naming the model, the signal and the likely cause; requests that had received no text yet
are sent once more to a fresh worker, which the next request starts anyway. A worker that
sends nothing for `timeout_s` while a request waits is hung and is killed. The worker exits
with its parent (see worker.py), so nothing is left behind, even after kill -9.
"""

from __future__ import annotations

import itertools
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from importlib import import_module
from multiprocessing.connection import Connection
from pathlib import Path

from openpick import errors
from openpick.engines.base import (
    ChoiceScore, Delta, Engine, EngineError, Message, ModelIdentity, NativeOptions, Request,
    ScoreRequest,
)

LOAD_TIMEOUT_S = 900.0
STDERR_LINES = 40

CAUSES = {
    signal.SIGSEGV: "a crash in native code (segmentation fault)",
    signal.SIGBUS: "a crash in native code (bus error: a truncated or changed model file?)",
    signal.SIGABRT: "native code aborted (a failed assertion in the library)",
    signal.SIGILL: "an instruction this CPU or its hypervisor does not allow (a library built "
                   "for another CPU, or AMX/AVX-512 kernels the OS has not enabled)",
    signal.SIGFPE: "an arithmetic fault in native code",
    signal.SIGKILL: "killed with SIGKILL: most often the kernel's out-of-memory killer "
                    "(the model needs more memory than is free), or a kill -9",
    signal.SIGTERM: "terminated by a signal from outside",
}


class WorkerCrashed(EngineError):
    """The model's worker process died; the next request starts a fresh one."""


def _oom_kills() -> int | None:
    """The cgroup's count of OOM kills (Linux cgroup v2), to tell OOM from other SIGKILLs."""
    try:
        for line in Path("/sys/fs/cgroup/memory.events").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _proc_status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def rebuild_error(d: dict) -> BaseException:
    """The worker's exception as the parent raises it: the same OpenpickError subclass where
    it is one (ContextOverflow, InvalidInput, ...), else an EngineError with its type."""
    if d.get("user_error"):
        try:
            cls = getattr(import_module(d["module"]), d["type"])
            if isinstance(cls, type) and issubclass(cls, errors.OpenpickError):
                return cls(d["message"], path=d.get("path"), line=d.get("line"))
        except (ImportError, AttributeError, TypeError):
            pass
    return EngineError(f"{d['type']}: {d['message']}")


class _Process:
    """One worker process: its socket, a reader thread, the requests waiting on it."""

    def __init__(self, spec: dict, name: str):
        self.name = name
        parent, child = socket.socketpair()
        env = {**os.environ, "OPENPICK_WORKER": "1"}
        self.oom_before = _oom_kills()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openpick.engines.worker", str(child.fileno())],
            pass_fds=[child.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=env)
        child.close()
        self.pid = self.proc.pid
        self.conn = Connection(parent.detach())
        self.send_lock = threading.Lock()
        self.queues: dict[int, queue.SimpleQueue] = {}
        self.ready: queue.SimpleQueue = queue.SimpleQueue()
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.last_seen = time.monotonic()
        self.death: str | None = None  # why it died, once it did
        self.killed_for: str | None = None  # set when openpick killed it on purpose
        self.dead = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True, name="worker-stderr").start()
        threading.Thread(target=self._read, daemon=True, name="worker-reader").start()
        self.send(("load", spec))

    # -- transport ----------------------------------------------------------------------
    def send(self, msg: tuple) -> None:
        try:
            with self.send_lock:
                self.conn.send(msg)
        except (OSError, EOFError, ValueError):
            pass  # the reader sees the death and tells every waiting request

    def _read_stderr(self) -> None:
        echo = os.environ.get("OPENPICK_WORKER_LOG") == "1"
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self.stderr.append(line)
                if echo:
                    sys.stderr.write(f"[worker {self.pid}] {line}\n")

    def _read(self) -> None:
        try:
            while True:
                msg = self.conn.recv()
                self.last_seen = time.monotonic()
                if msg[0] in ("ready", "load_error"):
                    self.ready.put(msg)
                else:
                    q = self.queues.get(msg[1])
                    if q is not None:
                        q.put(msg)
        except (EOFError, OSError):
            pass
        self._died()

    def _died(self) -> None:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.death = self.describe(code)
        self.dead.set()
        self.ready.put(("dead",))
        for q in list(self.queues.values()):
            q.put(("dead",))
        try:
            self.conn.close()
        except OSError:
            pass

    def describe(self, code: int) -> str:
        who = f"{self.name}: its worker process (pid {self.pid})"
        if self.killed_for:
            return f"{who} was stopped by openpick: {self.killed_for}"
        if code < 0:
            sig = signal.Signals(-code)
            cause = CAUSES.get(sig, "killed by a signal")
            oom = _oom_kills()
            if sig == signal.SIGKILL and None not in (oom, self.oom_before) and oom > self.oom_before:
                cause = "killed by the kernel's out-of-memory killer (the model needs more " \
                        "memory than is free)"
            msg = f"{who} died from {sig.name} (signal {-code}): {cause}"
        else:
            msg = f"{who} exited with status {code}"
        native = next((ln for ln in reversed(self.stderr) if ln.strip()), None)
        if native:
            msg += f"; its last words: {native[:200]}"
        return msg

    # -- lifecycle ----------------------------------------------------------------------
    def wait_ready(self, timeout: float) -> dict:
        try:
            msg = self.ready.get(timeout=timeout)
        except queue.Empty:
            self.kill(f"it did not finish loading within {timeout:g}s")
            raise EngineError(f"{self.name}: the model did not load within {timeout:g}s") from None
        if msg[0] == "ready":
            return msg[1]
        if msg[0] == "load_error":
            raise rebuild_error(msg[1])
        raise WorkerCrashed(f"{self.death} (while loading the model)")

    def kill(self, reason: str) -> None:
        if self.proc.poll() is None:
            self.killed_for = reason
            self.proc.kill()

    def alive(self) -> bool:
        return not self.dead.is_set()

    def close(self, timeout: float = 5.0) -> None:
        if self.alive():
            self.send(("close",))
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill("it did not stop when asked")
        self.dead.wait(timeout=timeout + 5)


class WorkerEngine(Engine):
    """A native engine run in a worker process; the same contract as the engine itself."""

    name = "worker"  # replaced per instance by the real engine's name

    def __init__(self, engine_cls: type[Engine], target: str, options=None, *,
                 display_name: str | None = None, record_id: str | None = None):
        opts = engine_cls.parse_options(options)
        assert isinstance(opts, NativeOptions), "only native engines run in workers"
        super().__init__(target, opts, display_name=display_name, record_id=record_id)
        self.name = engine_cls.name  # identity and errors name the real engine
        self.can_score = engine_cls.can_score
        self.engine_cls = engine_cls
        self._spec = {"engine": f"{engine_cls.__module__}:{engine_cls.__qualname__}",
                      "target": target, "options": self._worker_options(engine_cls, opts),
                      "display_name": self.display_name, "record_id": record_id}
        self._ids = itertools.count(1)
        self._proc: _Process | None = None
        self._info: dict = {}
        self._start_lock = threading.Lock()
        self._closed = False
        self.restarts = 0
        self._live()  # load now: load errors surface where they did in-process

    @staticmethod
    def _worker_options(engine_cls: type[Engine], opts: NativeOptions) -> dict:
        return engine_cls.worker_options({**opts.model_dump(), "isolate": False})

    @property
    def pid(self) -> int | None:
        p = self._proc
        return p.pid if p is not None and p.alive() else None

    def _live(self) -> _Process:
        """The running worker, starting one (and loading the model) when there is none."""
        with self._start_lock:
            if self._closed:
                raise EngineError(f"{self.display_name}: the model was closed")
            p = self._proc
            if p is not None and p.alive():
                return p
            if p is not None:
                self.restarts += 1
            p = _Process(self._spec, self.display_name)
            try:
                self._info = p.wait_ready(LOAD_TIMEOUT_S)
            except BaseException:
                p.kill("loading failed")
                raise
            self._proc = p
            return p

    # -- generation -----------------------------------------------------------------------
    def generate(self, request: Request) -> Iterator[Delta]:
        body = request.model_dump()
        for attempt in (1, 2):
            proc, rid, q = self._send("gen", body)
            sent_text = False
            finished = False
            try:
                while True:
                    msg = self._next(proc, q)
                    kind = msg[0]
                    if kind == "delta":
                        delta = Delta.model_validate(msg[2])
                        sent_text = sent_text or bool(delta.text)
                        yield delta
                    elif kind == "end":
                        finished = True
                        return
                    elif kind == "error":
                        finished = True
                        raise rebuild_error(msg[2])
                    else:  # the worker died
                        finished = True
                        if sent_text or attempt == 2 or proc.killed_for:
                            raise WorkerCrashed(self._crash_message(proc))
                        break  # nothing shown yet: once more, on a fresh worker
            finally:
                proc.queues.pop(rid, None)
                if not finished:
                    proc.send(("cancel", rid))  # the caller stopped reading

    def loglikelihood(self, context: str | list[Message],
                      continuations: list[str]) -> list[ChoiceScore]:
        """Scored in the worker; a worker that dies while scoring is replaced and asked once
        more (nothing was handed out yet), as a generation that showed no text is."""
        if not self.engine_cls.can_score:
            return super().loglikelihood(context, continuations)
        body = ScoreRequest(context=context, continuations=continuations).model_dump()
        for attempt in (1, 2):
            proc, rid, q = self._send("score", body)
            try:
                msg = self._next(proc, q)
            finally:
                proc.queues.pop(rid, None)
            if msg[0] == "scores":
                return [ChoiceScore.model_validate(c) for c in msg[2]]
            if msg[0] == "error":
                raise rebuild_error(msg[2])
            if attempt == 2 or proc.killed_for:
                raise WorkerCrashed(self._crash_message(proc))
        raise AssertionError("unreachable")

    def _send(self, kind: str, body: dict) -> tuple[_Process, int, queue.SimpleQueue]:
        """Send a request to the live worker: (that worker, request id, its answers' queue)."""
        proc = self._live()
        rid = next(self._ids)
        q: queue.SimpleQueue = queue.SimpleQueue()
        proc.queues[rid] = q
        proc.send((kind, rid, body))
        return proc, rid, q

    def _next(self, proc: _Process, q: queue.SimpleQueue) -> tuple:
        timeout = self.options.timeout_s
        while True:
            try:
                return q.get(timeout=min(1.0, timeout))
            except queue.Empty:
                if proc.dead.is_set():
                    return ("dead",)
                if time.monotonic() - proc.last_seen > timeout:
                    proc.kill(f"it sent nothing for {timeout:g}s while a request waited "
                              "(hung); raise -o timeout_s=SECONDS if the model is just slow")

    def _crash_message(self, proc: _Process) -> str:
        msg = f"{proc.death}. The next request starts a fresh worker"
        hint = self.engine_cls.crash_hint(self._spec["options"], proc.death or "")
        return f"{msg}; {hint}" if hint else msg

    # -- facts ----------------------------------------------------------------------------
    def identity(self) -> ModelIdentity:
        return ModelIdentity.model_validate(self._info["identity"])

    def estimated_bytes(self) -> int:
        return int(self._info.get("estimated_bytes", 0))

    def max_parallel(self) -> int:
        return int(self._info.get("max_parallel", 1))

    def memory_bytes(self) -> int:
        pid = self.pid
        if pid is None:
            return 0
        rss = _proc_status_kb(pid, "VmRSS")
        return self.estimated_bytes() if rss is None else rss

    def peak_memory_bytes(self) -> int | None:
        pid = self.pid
        return None if pid is None else _proc_status_kb(pid, "VmHWM")

    def close(self) -> None:
        with self._start_lock:
            self._closed = True
            p, self._proc = self._proc, None
        if p is not None:
            p.close()


def in_worker() -> bool:
    return os.environ.get("OPENPICK_WORKER") == "1"


def wrap(engine_cls: type[Engine], target: str, options, **kw) -> Engine:
    """The engine, in a worker process when it is native and `isolate` is on (the default)."""
    if issubclass(engine_cls.Options, NativeOptions) and not in_worker():
        opts = engine_cls.parse_options(options)
        if opts.isolate:
            return WorkerEngine(engine_cls, target, opts, **kw)
        options = opts
    return engine_cls(target, options, **kw)
