"""Comparisons started from the browser: background jobs over the same runner as the CLI.

A job is one `evals.runner.compare()` call with the same options `openpick compare` records
(so a run started here resumes with `openpick compare --resume` and the other way round),
writing to the same RunStore and borrowing models from the server's pool. Jobs run on one
thread of the server process, one at a time, in the order they were asked for; the browser
only watches. Closing the tab does not stop a job, and nothing but the runner writes results.

Progress is the runner's `Progress` protocol: each committed result bumps the job's counts
(per model: done of total, passed, failed, errors) and its version; watchers (the SSE
endpoint) poll the version. The ETA of the model being run is its time so far per result
times what is left; models still waiting are estimated at the rate seen so far.

Stopping a job, and the server's exit, set the runner's interrupt flag: the runner keeps
what finished, marks the run `interrupted` and raises `RunInterrupted`. A run the server
never got to mark (kill -9, a crash) stays `running` in the store with no job behind it;
either way `resume_spec` rebuilds the job from the stored run and the runner resumes it,
answering only what is missing or errored.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpick.engines.pool import ModelPool
from openpick.errors import InvalidInput, NotFound, OpenpickError
from openpick.evals.runner import RunInterrupted, RunOptions, compare, interrupt_requested
from openpick.store.records import CaseResult, RunInfo

log = logging.getLogger("openpick.server.jobs")

MAX_QUEUED = 8
FINISHED_KEPT = 20  # finished jobs remembered for late watchers
ACTIVE = ("queued", "running")


@dataclass
class JobSpec:
    """What to run: a suite the server may load (a bundled or benchmark name, or a file it
    wrote itself), runner model names, options; `resume` continues a stored run."""

    suite: str
    models: list[str]
    options: RunOptions = field(default_factory=RunOptions)
    label: str = ""                 # what the page calls the suite
    resume: str | None = None
    per_model: int = 0              # results each model owes (until the runner says)


@dataclass
class ModelProgress:
    name: str
    total: int = 0
    done: int = 0                   # stored results, those of earlier sessions included
    passed: int = 0
    failed: int = 0
    errors: int = 0
    fresh: int = 0                  # results of this job
    started: float | None = None    # when this job began running the model (monotonic)
    finished: float | None = None

    def per_result_s(self) -> float | None:
        if self.started is None or not self.fresh:
            return None
        end = self.finished or time.monotonic()
        return (end - self.started) / self.fresh

    def eta_s(self) -> float | None:
        if self.done >= self.total:
            return 0.0
        rate = self.per_result_s()
        return None if rate is None else rate * (self.total - self.done)

    def to_dict(self) -> dict[str, Any]:
        state = ("done" if self.total and self.done >= self.total else
                 "running" if self.started is not None else "waiting")
        eta = self.eta_s()
        return {"model": self.name, "total": self.total, "done": self.done,
                "passed": self.passed, "failed": self.failed, "errors": self.errors,
                "state": state, "eta_s": None if eta is None else round(eta, 1)}


class Job:
    def __init__(self, spec: JobSpec):
        self.id = uuid.uuid4().hex[:12]
        self.spec = spec
        self.status = "queued"      # queued, running, finished, interrupted, failed, cancelled
        self.run_id: str | None = spec.resume
        self.error: str | None = None
        self.models = {m: ModelProgress(m, total=spec.per_model) for m in spec.models}
        self.created = time.time()
        self.stop_requested = False
        self.version = 0
        self._lock = threading.Lock()

    def changed(self, **updates: Any) -> None:
        with self._lock:
            for k, v in updates.items():
                setattr(self, k, v)
            self.version += 1

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def eta_s(self) -> float | None:
        """The running model's ETA plus the waiting ones' at the rate seen so far."""
        rates = [r for m in self.models.values() if (r := m.per_result_s()) is not None]
        if not rates:
            return None
        rate = sum(rates) / len(rates)
        total = 0.0
        for m in self.models.values():
            eta = m.eta_s()
            total += eta if eta is not None else rate * (m.total - m.done)
        return round(total, 1)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            models = [m.to_dict() for m in self.models.values()]
            return {"id": self.id, "status": self.status, "run_id": self.run_id,
                    "suite": self.spec.label or self.spec.suite, "error": self.error,
                    "resume": self.spec.resume is not None, "version": self.version,
                    "models": models,
                    "done": sum(m["done"] for m in models),
                    "total": sum(m["total"] for m in models),
                    "eta_s": self.eta_s() if self.status == "running" else None,
                    "results_url": f"/ui/results/{self.run_id}" if self.run_id else None}


class JobProgress:
    """The runner's Progress protocol, feeding one job."""

    def __init__(self, job: Job, prior: list[CaseResult] | None = None):
        self.job = job
        self.prior = prior or []

    def start(self, run: RunInfo, totals: dict[str, tuple[int, int]]) -> None:
        job = self.job
        if job.stop_requested:  # asked while the run was being prepared (run() cleared it)
            interrupt_requested.set()
        with job._lock:
            job.run_id = run.id
            job.models = {name: ModelProgress(name, total=total, done=done)
                          for name, (total, done) in totals.items()}
            for r in self.prior:  # what an earlier session stored (errors are redone)
                m = job.models.get(r.model)
                if m is not None and not r.error:
                    m.passed += bool(r.passed)
                    m.failed += not r.passed
            self._next_model()
            job.version += 1

    def _next_model(self) -> None:
        now = time.monotonic()
        for m in self.job.models.values():
            if m.done < m.total:
                if m.started is None:
                    m.started = now
                return

    def advance(self, result: CaseResult) -> None:
        job = self.job
        if job.stop_requested:
            interrupt_requested.set()
        with job._lock:
            m = job.models.get(result.model)
            if m is None:
                return
            m.done += 1
            m.fresh += 1
            if result.error:
                m.errors += 1
            elif result.passed:
                m.passed += 1
            else:
                m.failed += 1
            if m.done >= m.total:
                m.finished = time.monotonic()
                self._next_model()
            job.version += 1

    def finish(self) -> None:
        self.job.changed()


class CompareJobs:
    """The server's comparison queue: one worker thread, one job at a time."""

    def __init__(self, pool: ModelPool | None = None):
        self.pool = pool
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._current: Job | None = None
        self._closed = False
        atexit.register(self.shutdown)

    # -- asking ---------------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> Job:
        with self._cond:
            if self._closed:
                raise InvalidInput("the server is shutting down; start the comparison again "
                                   "once it is back")
            if sum(j.active for j in self._jobs.values()) >= MAX_QUEUED:
                raise InvalidInput(f"{MAX_QUEUED} comparisons are already waiting; let one "
                                   "finish first")
            if spec.resume and any(j.active and j.run_id == spec.resume
                                   for j in self._jobs.values()):
                raise InvalidInput(f"run {spec.resume} is already being resumed")
            job = Job(spec)
            self._jobs[job.id] = job
            self._queue.append(job)
            self._forget_old()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, daemon=True,
                                                name="openpick-compare")
                self._thread.start()
            self._cond.notify_all()
        return job

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no comparison job {job_id[:40]!r} (jobs are kept while the "
                           "server runs; finished runs are on the Results page)")
        return job

    def jobs(self) -> list[Job]:
        """Newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def running_runs(self) -> set[str]:
        return {j.run_id for j in self._jobs.values() if j.active and j.run_id}

    def stop(self, job_id: str) -> Job:
        """A waiting job is dropped; the running one stops after the results in flight
        (they are kept) and its run becomes `interrupted`, to resume later."""
        job = self.get(job_id)
        with self._cond:
            if job.status == "queued":
                self._queue.remove(job)
                job.changed(status="cancelled")
            elif job.status == "running":
                job.stop_requested = True
                interrupt_requested.set()
                job.changed()
        return job

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the running job cleanly (its run is marked interrupted) and refuse more."""
        with self._cond:
            self._closed = True
            for job in list(self._queue):
                job.changed(status="cancelled")
            self._queue.clear()
            current = self._current
            self._cond.notify_all()
        if current is not None:
            current.stop_requested = True
            interrupt_requested.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- running --------------------------------------------------------------------------
    def _forget_old(self) -> None:
        done = [j for j in self.jobs() if not j.active]
        for j in done[FINISHED_KEPT:]:
            self._jobs.pop(j.id, None)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait(5.0)
                if self._closed:
                    return
                job = self._current = self._queue.popleft()
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._current = None

    def _run(self, job: Job) -> None:
        job.changed(status="running")
        try:
            suite, options, prior = self._load(job.spec)
            run, _ = compare(suite, job.spec.models, options, resume=job.spec.resume,
                             progress=JobProgress(job, prior), pool=self.pool)
        except RunInterrupted as e:
            job.changed(status="interrupted", run_id=e.run.id,
                        error=f"stopped with {e.done} of {e.run.planned} results stored")
        except OpenpickError as e:
            job.changed(status="failed", error=str(e))
        except Exception as e:  # noqa: BLE001 - a bug must not kill the queue
            log.exception("comparison job %s crashed", job.id)
            job.changed(status="failed", error=f"{type(e).__name__}: {e}")
        else:
            job.changed(status="finished" if run.status == "finished" else run.status,
                        run_id=run.id)
        finally:
            interrupt_requested.clear()

    @staticmethod
    def _load(spec: JobSpec):
        from openpick.evals.suite import load_suite
        from openpick.store.runs import RunStore

        suite = load_suite(spec.suite)
        if spec.options.limit is not None:
            suite = suite.head(spec.options.limit)
        options = spec.options.model_copy(update={"suite_notes": suite.notes})
        prior = RunStore().results(spec.resume) if spec.resume else []
        return suite, options, prior


def resume_spec(run: RunInfo, allowed_suite: Any, allowed_models: set[str]) -> JobSpec:
    """The job that continues a stored run, with the options it was started with.
    `allowed_suite(run)` says whether this server may load the run's suite again (a
    request never names a file: the path comes from the store, and only suites the
    server itself provides or wrote qualify); every model must be one it offers."""
    if run.status == "finished":
        raise InvalidInput(f"run {run.id} is finished; there is nothing to resume")
    source = allowed_suite(run)
    if source is None:
        raise InvalidInput(f"run {run.id} was started from a suite file this page cannot "
                           f"load; resume it with `openpick compare --resume {run.id}`")
    names = [m.name for m in run.models]
    missing = [n for n in names if n not in allowed_models]
    if missing:
        raise InvalidInput(f"run {run.id} compares {', '.join(missing)}, which this server "
                           f"does not offer; resume it with `openpick compare --resume "
                           f"{run.id}`")
    options = RunOptions.model_validate(
        {k: v for k, v in run.options.items() if k in RunOptions.model_fields})
    return JobSpec(suite=str(source), models=names, options=options, label=run.suite,
                   resume=run.id, per_model=run.planned // max(1, len(names)))


def under(path: str | None, folder: Path) -> bool:
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False
