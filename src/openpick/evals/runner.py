"""The runner: every model answers every case of a suite (× variants × repeats), each answer
is graded and committed to the store the moment it exists.

How it works, and what it trades off:

- Models run one after another. Within a model, worker threads take cases from a queue,
  as many as the loaded engine is worth sending at once (`Engine.max_parallel`): its batch
  slots for llama.cpp and transformers, which decode the concurrent cases together in one
  batch, and the server's limit for OpenAI-compatible servers; `concurrency` caps it. Models are borrowed from a `ModelPool`, so they load
  lazily and stay within its memory budget; a model whose cases are all cached never loads.
- The main thread is the only writer. It commits every result it has received in one
  transaction, then releases the workers that produced them: a worker does not start its
  next case before its last answer is on disk (WAL, synchronous=NORMAL), so `kill -9` loses
  at most the requests in flight. Under load several results share a commit.
- A result key (model, case, variant, repeat) is UNIQUE per run; resuming plans only keys
  that have no answer or an errored one, and the store never overwrites a finished answer.
- The same suite (by content hash), models and options find the same unfinished run, so
  rerunning an interrupted command resumes it.
- A multiple-choice case (`choices:`) is scored, not generated: the engine's
  `loglikelihood` rates each choice and the likeliest one is the answer (evals/choices.py).
  Its Result holds every choice's score, so it caches like an answer; a suite with choice
  cases refuses, before anything runs, a model whose engine cannot score.
- An engine error or a timeout is recorded on its case and the run goes on. Errors are
  never cached; cached answers keep the timings they were measured with.
- Ctrl-C (KeyboardInterrupt in the main thread) stops workers between tokens, keeps what
  finished, marks the run `interrupted` and raises `RunInterrupted`.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import resource
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from openpick.engines import registry
from openpick.engines.base import (
    Engine, EngineError, Request, Result, ScoreRequest, Timings, Usage,
)
from openpick.engines.pool import ModelPool
from openpick.engines.spec import ModelSpec, parse_spec
from openpick.errors import InvalidInput, OpenpickError
from openpick.evals import choices
from openpick.evals.cache import ResponseCache, cache_key
from openpick.evals.facts import CatalogResolver, ModelResolver, case_cost
from openpick.evals.suite import Suite, SuiteItem, items_hash, load_suite
from openpick.store.records import AssertionResult, CaseResult, Grade, ModelInfo, RunInfo
from openpick.store.db import now
from openpick.store.runs import ResultKey, RunStore, new_run_id

# Set by a signal handler (the CLI's) as well as raising KeyboardInterrupt: a native library
# can swallow the exception (llama.cpp calls Python back while loading a model), never the
# flag, which the run checks between results and models.
interrupt_requested = threading.Event()


class RunInterrupted(OpenpickError):
    """The user stopped a run; what finished is stored and the run can be resumed."""

    exit_code = 130

    def __init__(self, run: RunInfo, done: int):
        self.run = run
        self.done = done
        super().__init__(f"run {run.id} interrupted with {done} of {run.planned} results "
                         f"stored; resume it with `openpick compare --resume {run.id}`")


class RunOptions(BaseModel):
    """Options that change what a run produces (part of its identity) and how it runs."""

    repeats: int = Field(1, ge=1)
    seed: int = 0                       # a case's own seed wins; repeat r uses seed + r
    use_cache: bool = True              # --no-cache; repeats > 1 always bypass the cache
    concurrency: int | None = Field(None, ge=1)  # cap on cases in flight; None = the engine's
    timeout_s: float | None = Field(None, gt=0)  # per case, on top of the engine's own
    engine_options: dict[str, dict[str, Any]] = Field(default_factory=dict)  # model → options
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)  # model → (in, out)
    machine_usd_per_hour: float | None = Field(None, ge=0)
    judge: str | None = None            # model spec that grades `judge` assertions
    # What `compare` records besides (the CLI and the browser's jobs alike): the case limit
    # (the suite's hash is of the cases that ran; the limit lets a resume load the same ones)
    # and the suite's notes (what its numbers compare with), which the reports show.
    limit: int | None = Field(None, ge=1)
    suite_notes: str | None = None

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run (concurrency, cache and prices do not)."""
        return {"repeats": self.repeats, "seed": self.seed, "timeout_s": self.timeout_s,
                "engine_options": self.engine_options, "judge": self.judge}


class Progress(Protocol):
    def start(self, run: RunInfo, totals: dict[str, tuple[int, int]]) -> None: ...
    def advance(self, result: CaseResult) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, run, totals):
        pass

    def advance(self, result):
        pass

    def finish(self):
        pass


# A grader takes a suite item, the output and the context (case, result, cost, judge).
Grader = Callable[[SuiteItem, str, dict[str, Any]], Grade]


def default_grader(item: SuiteItem, output: str, context: dict[str, Any]) -> Grade:
    """Grade with the suite's assertions (openpick.evals.assertions)."""
    return item.grade(output, item.context(context.get("result"),
                                           cost_usd=context.get("cost_usd"),
                                           judge=context.get("judge")))


def error_grade(reason: str) -> Grade:
    return Grade(passed=False, score=0.0, assertions=[
        AssertionResult(type="grading", passed=False, score=0.0, reason=reason)])


# An answer the engine cut at max_tokens (finish_reason "length") is graded as it stands,
# but its grade says so: a note of weight 0 after the checks (it changes neither score nor
# pass/fail), which the reports show as a "truncated" badge. A judge is told in its prompt.
TRUNCATED = "truncated"


def note_truncation(grade: Grade, finish_reason: str | None) -> Grade:
    """The grade with a "truncated" note appended when the answer was cut at max_tokens."""
    if finish_reason != "length":
        return grade
    note = AssertionResult(type=TRUNCATED, passed=True, score=1.0, weight=0.0,
                           reason="the answer was cut at max_tokens (finish_reason length): "
                                  "the checks graded the cut text",
                           detail={"finish_reason": "length"})
    return grade.model_copy(update={"assertions": [*grade.assertions, note]})


# -- models ------------------------------------------------------------------------------
@dataclass
class _Model:
    info: ModelInfo
    spec: ModelSpec
    options: dict[str, Any]
    concurrency: int
    local: bool
    ident: dict[str, Any] | None = None  # identity for the cache key; None until known


def _identity_before_load(spec: ModelSpec) -> dict[str, Any] | None:
    """The engine's own cheap identity, so cached answers need no model load."""
    try:
        cls = registry.get_engine_class(spec.engine)
        return cls.identity_before_load(spec.resolve_target(), spec.name, spec.record_id)
    except (OSError, OpenpickError):
        return None  # the engine will say what is wrong when it loads


def _is_local(spec: ModelSpec) -> bool:
    try:
        return registry.get_engine_class(spec.engine).local
    except OpenpickError:
        return True


def model_info(name: str, spec: ModelSpec, options: RunOptions) -> ModelInfo:
    """The default resolver's facts for one model under these run options."""
    return CatalogResolver(options.prices, options.machine_usd_per_hour).info(name, spec)


# -- memory ------------------------------------------------------------------------------
def _reset_peak_rss() -> None:
    # Linux: writing 5 resets VmHWM, so each model's peak is its own, not the process's.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the run -----------------------------------------------------------------------------
@dataclass
class _Task:
    item: SuiteItem
    repeat: int
    seed: int | None
    request: Request | ScoreRequest  # a ScoreRequest for a choices case
    key: str | None = None          # cache key, when the cache applies
    cached: Result | None = None


@dataclass
class _Done:
    result: CaseResult
    fresh: Result | None            # a new answer to cache
    key: str | None
    written: threading.Event = field(default_factory=threading.Event)


class _Abandoned(Exception):
    pass


class Runner:
    def __init__(self, store: RunStore | None = None, pool: ModelPool | None = None,
                 grader: Grader | None = None, progress: Progress | None = None,
                 resolver: ModelResolver | None = None):
        self.store = store or RunStore()
        self.cache = ResponseCache(self.store.conn)
        self._own_pool = pool is None
        self.pool = pool or ModelPool()
        self.grader = grader or default_grader
        self.progress = progress or NoProgress()
        self.resolver = resolver    # None: the catalog and the run's own price options
        self.stop = threading.Event()
        self._judge_lock = threading.Lock()
        self._score_lock = threading.Lock()

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    # -- planning ---------------------------------------------------------------------------
    def prepare(self, suite_name: str, items: Sequence[SuiteItem], models: Sequence[str],
                options: RunOptions, *, suite_path: str | None = None,
                resume: str | None = None) -> RunInfo:
        """Find the run to continue (by id, or the same unfinished run) or create one."""
        if not models:
            raise InvalidInput("no models to compare: give -m MODEL (twice or more to compare)")
        if len(set(models)) != len(models):
            raise InvalidInput(f"a model is named twice: {', '.join(models)}")
        if not items:
            raise InvalidInput(f"suite {suite_name!r} has no cases")
        specs = {m: parse_spec(m) for m in models}  # unknown names fail before anything runs
        if any(it.choices is not None for it in items):
            _check_scoring(specs)
        shash = items_hash(list(items))
        key = hashlib.sha256(json.dumps(
            {"suite": shash, "models": [[m, specs[m].engine, specs[m].target, specs[m].embedded]
                                        for m in models],
             "options": options.identity()}, sort_keys=True, default=str).encode()).hexdigest()
        planned = len(models) * len(items) * options.repeats
        resolver = self.resolver or CatalogResolver(options.prices, options.machine_usd_per_hour)
        if resume:
            run = self.store.get(resume)
            if run.suite_hash and run.suite_hash != shash:
                raise InvalidInput(f"the suite changed since run {run.id} started; "
                                   "start a new run instead of resuming")
        else:
            run = self.store.find_unfinished(key)
        if run is None:
            run = RunInfo(id=new_run_id(), suite=suite_name, suite_path=suite_path,
                          suite_hash=shash, created_at=now(), planned=planned,
                          models=[resolver.info(m, specs[m]) for m in models],
                          options=options.model_dump(mode="json"))
            self.store.create(run, key)
        else:
            run = run.model_copy(update={"status": "running", "finished_at": None,
                                         "planned": planned})
            self.store.claim(run)
        return run

    def _models(self, run: RunInfo, options: RunOptions) -> list[_Model]:
        out = []
        for info in run.models:
            spec = parse_spec(info.name)
            opts = {**spec.options, **options.engine_options.get(info.name, {})}
            conc = options.concurrency or 1  # raised to the engine's own once it is loaded
            out.append(_Model(info=info, spec=spec, options=opts, concurrency=conc,
                              local=_is_local(spec), ident=_identity_before_load(spec)))
        return out

    def _tasks(self, run: RunInfo, m: _Model, items: Sequence[SuiteItem], options: RunOptions,
               done: set[ResultKey]) -> list[_Task]:
        tasks = []
        for item in items:
            for r in range(options.repeats):
                if (m.info.name, item.case_id, item.variant, r) in done:
                    continue
                if item.choices is not None:  # scored, not sampled: no seed
                    tasks.append(_Task(item=item, repeat=r, seed=None,
                                       request=item.score_request()))
                    continue
                request = item.request(seed=options.seed + r)
                tasks.append(_Task(item=item, repeat=r, seed=request.seed, request=request))
        return tasks

    # -- running ------------------------------------------------------------------------
    def run(self, run: RunInfo, items: Sequence[SuiteItem], options: RunOptions) -> list[CaseResult]:
        """Run what is missing or errored; returns every result of the run."""
        self.stop.clear()
        interrupt_requested.clear()
        models = self._models(run, options)
        done = self.store.done_keys(run.id)
        plans = [(m, self._tasks(run, m, items, options, done)) for m in models]
        per_model = len(items) * options.repeats
        self.progress.start(run, {m.info.name: (per_model, per_model - len(t)) for m, t in plans})
        try:
            for m, tasks in plans:
                _check_interrupt()
                if tasks:
                    self._run_model(run, m, tasks, options)
                    # The identity learned on load goes into the run record.
                    run = run.model_copy(update={"models": [mi if mi.name != m.info.name
                                                            else m.info for mi in run.models]})
                    self.store.update(run)
            _check_interrupt()
        except KeyboardInterrupt:
            self.stop.set()
            run = run.model_copy(update={"status": "interrupted"})
            self.store.update(run)
            raise RunInterrupted(run, self.store.count(run.id)) from None
        except BaseException:
            self.store.update(run.model_copy(update={"status": "failed"}))
            raise
        finally:
            self.progress.finish()
        run = run.model_copy(update={"status": "finished", "finished_at": now()})
        self.store.update(run)
        return in_suite_order(self.store.results(run.id), run, items)

    def _run_model(self, run: RunInfo, m: _Model, tasks: list[_Task], options: RunOptions) -> None:
        use_cache = options.use_cache and options.repeats == 1
        if use_cache and m.ident is not None:
            self._lookup_cache(m, tasks)
        engine_box: dict[str, Engine] = {}
        ctx = None
        if any(t.cached is None for t in tasks):
            ctx = self.pool.use(m.info.name, options.engine_options.get(m.info.name) or None)
            try:
                if m.local:
                    _reset_peak_rss()
                engine_box["engine"] = ctx.__enter__()
            except (EngineError, OpenpickError, OSError) as e:
                ctx = None
                self._fail_all(run, m, tasks, f"could not load {m.info.name}: {e}")
                return
            m.concurrency = min(options.concurrency or 1 << 30,
                                max(1, engine_box["engine"].max_parallel()))
            ident = engine_box["engine"].identity().model_dump(exclude_none=True)
            m.info = m.info.model_copy(update={"identity": ident})
            if m.ident is None:
                m.ident = ident
                if use_cache:
                    self._lookup_cache(m, tasks)
        elif m.ident is not None:
            m.info = m.info.model_copy(update={"identity": m.ident})
        try:
            self._drive(run, m, tasks, engine_box.get("engine"), options,
                        cacheable=use_cache)
        finally:
            if ctx is not None:
                ctx.__exit__(None, None, None)

    def _lookup_cache(self, m: _Model, tasks: list[_Task]) -> None:
        for t in tasks:
            t.key = cache_key(m.ident, m.options, t.request)
        hits = self.cache.get_many([t.key for t in tasks if t.cached is None])
        for t in tasks:
            t.cached = hits.get(t.key)

    def _fail_all(self, run: RunInfo, m: _Model, tasks: list[_Task], error: str) -> None:
        results = [self._case_result(run, m, t, None, error, None) for t in tasks]
        self.store.save_results(results)
        for r in results:
            self.progress.advance(r)

    def _drive(self, run: RunInfo, m: _Model, tasks: list[_Task], engine: Engine | None,
               options: RunOptions, *, cacheable: bool) -> None:
        """Workers answer and grade; this (main) thread commits and reports progress."""
        todo: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        out: queue.SimpleQueue[_Done | BaseException] = queue.SimpleQueue()
        for t in tasks:
            todo.put(t)
        n_workers = max(1, min(m.concurrency, len(tasks)))
        for _ in range(n_workers):
            todo.put(None)
        workers = [threading.Thread(target=self._worker, daemon=True, name=f"openpick-{i}",
                                    args=(run, m, engine, options, todo, out, cacheable))
                   for i in range(n_workers)]
        for w in workers:
            w.start()
        remaining = len(tasks)
        try:
            while remaining:
                _check_interrupt()
                try:
                    first = out.get(timeout=0.25)
                except queue.Empty:
                    if not any(w.is_alive() for w in workers):
                        raise RuntimeError("runner workers stopped early") from None
                    continue
                batch = [first]
                while True:  # take everything already finished: one commit for all of it
                    try:
                        batch.append(out.get_nowait())
                    except queue.Empty:
                        break
                remaining -= self._commit(batch)
        except BaseException:
            self.stop.set()
            # Keep whatever finished while we were stopping, then let the workers go.
            for w in workers:
                w.join(timeout=30)
            leftovers = []
            while True:
                try:
                    x = out.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(x, BaseException):
                    leftovers.append(x)
            self._commit(leftovers)
            raise

    def _commit(self, batch: list[_Done | BaseException]) -> int:
        for x in batch:
            if isinstance(x, BaseException):
                raise x
        dones: list[_Done] = batch  # type: ignore[assignment]
        if not dones:
            return 0
        extra = [self.cache.put_statement(d.key, d.result.model, d.fresh)
                 for d in dones if d.fresh is not None and d.key is not None]
        self.store.save_results([d.result for d in dones], extra)
        for d in dones:
            d.written.set()
            self.progress.advance(d.result)
        return len(dones)

    def _worker(self, run, m, engine, options, todo, out, cacheable) -> None:
        try:
            while not self.stop.is_set():
                task = todo.get()
                if task is None:
                    return
                try:
                    done = self._answer(run, m, task, engine, options, cacheable)
                except _Abandoned:
                    return
                out.put(done)
                # Durable before the next case starts (see the module docstring).
                while not done.written.wait(0.5):
                    if self.stop.is_set():
                        return
        except BaseException as e:  # a bug, not a model error: surface it in the main thread
            out.put(e)

    def _generate(self, engine: Engine, request: Request, timeout_s: float | None) -> Result:
        stream = engine.stream(request)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        it = iter(stream)
        try:
            for _ in it:
                if self.stop.is_set():
                    raise _Abandoned
                if deadline is not None and time.monotonic() > deadline:
                    raise EngineError(f"timed out: no complete answer within {timeout_s:g}s")
        finally:
            it.close()
        assert stream.result is not None
        return stream.result

    def _score(self, engine: Engine, task: _Task) -> Result:
        """A choices case: every choice scored; the likeliest one is the answer's text."""
        req = task.request
        # Engines score one question at a time: wait here, so total_s is the scoring alone.
        with self._score_lock:
            start = time.perf_counter()
            scores = engine.loglikelihood(req.context, req.continuations)
            took = time.perf_counter() - start
        if self.stop.is_set():
            raise _Abandoned
        if len(scores) != len(req.continuations):
            raise EngineError(f"the engine scored {len(scores)} of "
                              f"{len(req.continuations)} choices")
        return Result(text=task.item.choices[choices.pick(scores)], finish_reason="stop",
                      usage=Usage(completion_tokens=0),
                      timings=Timings(total_s=took),
                      model=engine.identity(), choices=scores)

    def _answer(self, run, m: _Model, task: _Task, engine, options, cacheable) -> _Done:
        fresh = None
        error = None
        if task.cached is not None:
            res = task.cached
        else:
            try:
                if isinstance(task.request, ScoreRequest):
                    res = fresh = self._score(engine, task)
                else:
                    res = fresh = self._generate(engine, task.request, options.timeout_s)
            except _Abandoned:
                raise
            except Exception as e:  # noqa: BLE001 - any failure belongs to this case only
                res, error = None, _error_text(e)
        rss = None
        if m.local and fresh is not None:
            # A worker process holds only this model: its peak is the model's own.
            rss = engine.peak_memory_bytes() or peak_rss_bytes()
        cr = self._case_result(run, m, task, res, error, rss)
        return _Done(result=cr, fresh=fresh if cacheable and error is None else None,
                     key=task.key)

    def _case_result(self, run: RunInfo, m: _Model, task: _Task, res: Result | None,
                     error: str | None, rss: int | None) -> CaseResult:
        item = task.item
        grade = None
        if res is not None:
            grade = self._grade(m, item, res)
        t, u = (res.timings, res.usage) if res is not None else (None, None)
        return CaseResult(
            run_id=run.id, model=m.info.name, case_id=item.case_id,
            variant=item.variant, repeat=task.repeat,
            tags=list(item.tags), input=item.input,
            output=None if res is None else res.text, error=error, grade=grade,
            prompt_tokens=u and u.prompt_tokens, completion_tokens=u and u.completion_tokens,
            ttft_s=t and t.ttft_s, total_s=t and t.total_s, decode_tok_s=t and t.decode_tok_s,
            threads=t and t.threads, parallel=t and t.parallel,
            peak_rss_bytes=rss, seed=task.seed, cached=task.cached is not None and res is not None,
            created_at=now())

    def _grade(self, m: _Model, item: SuiteItem, res: Result) -> Grade:
        if item.choices is not None:
            if res.choices is None:
                return error_grade("a choices case got a generated answer, not scores")
            try:
                return choices.grade(item, res.choices)
            except ValueError as e:
                return error_grade(f"grading failed: {e}")
        judge_model = item.judge_model() or self.judge_model
        judge = (lambda prompt: self._judge(judge_model, prompt)) if judge_model else None
        context = {"case": item.case_dict(), "result": res, "cost_usd": case_cost(m.info, res),
                   "judge": judge}
        try:
            grade = self.grader(item, res.text, context)
        except Exception as e:  # noqa: BLE001 - a broken check fails its case, not the run
            grade = error_grade(f"grading failed: {_error_text(e)}")
        return note_truncation(grade, res.finish_reason)

    # -- judge --------------------------------------------------------------------------
    judge_model: str | None = None
    judge_max_tokens: int = 512

    def _judge(self, model: str, prompt: str) -> str:
        # One judge request at a time: a local judge model is not re-entrant.
        with self._judge_lock, self.pool.use(model) as engine:
            return engine.complete(Request.chat(prompt, max_tokens=self.judge_max_tokens,
                                                temperature=0.0, seed=0)).text


def _check_scoring(specs: dict[str, ModelSpec]) -> None:
    """Choice cases need engines that score continuations: say so before anything runs."""
    for name, spec in specs.items():
        try:
            cls = registry.get_engine_class(spec.engine)
        except OpenpickError:
            continue  # the engine says what is wrong when it loads
        if not cls.can_score:
            raise InvalidInput(f"the suite has multiple-choice cases (choices:), which are "
                               f"scored by log-likelihood, but model {name} runs on engine "
                               f"{cls.name}, which cannot score continuations; use a local "
                               f"engine (llama-cpp, transformers) for it")


def in_suite_order(results: list[CaseResult], run: RunInfo, items: Sequence[SuiteItem]) -> list[CaseResult]:
    """Results by model, then case, as the suite lists them (batched cases finish in any
    order; the store keeps them in the order they finished)."""
    models = {m.name: i for i, m in enumerate(run.models)}
    cases = {it.key: i for i, it in enumerate(items)}
    return sorted(results, key=lambda r: (models.get(r.model, len(models)),
                                          cases.get((r.case_id, r.variant), len(cases)),
                                          r.repeat))


def _check_interrupt() -> None:
    if interrupt_requested.is_set():
        raise KeyboardInterrupt


def _error_text(e: BaseException) -> str:
    msg = str(e) or type(e).__name__
    return msg if isinstance(e, OpenpickError) else f"{type(e).__name__}: {msg}"


# -- one call for library users ------------------------------------------------------------
def load_items(suite: Suite | str | os.PathLike) -> tuple[str, list[SuiteItem], str | None]:
    """(name, items, path) of a suite, a suite file or a bundled suite name."""
    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    return suite.name, suite.items(), None if suite.path is None else str(suite.path)


def compare(suite: Suite | str | os.PathLike, models: Iterable[str], options: RunOptions | None = None, *,
            resume: str | None = None, progress: Progress | None = None,
            store: RunStore | None = None, pool: ModelPool | None = None,
            grader: Grader | None = None,
            resolver: ModelResolver | None = None) -> tuple[RunInfo, list[CaseResult]]:
    """Run `models` on `suite` (a Suite, a YAML path or a bundled name) and return the run
    and all of its results. Resumes the same unfinished run when there is one."""
    options = options or RunOptions()
    name, items, path = load_items(suite)
    runner = Runner(store=store, pool=pool, grader=grader, progress=progress, resolver=resolver)
    runner.judge_model = options.judge
    try:
        run = runner.prepare(name, items, list(models), options, suite_path=path, resume=resume)
        results = runner.run(run, items, options)
        return runner.store.get(run.id), results
    finally:
        runner.close()
