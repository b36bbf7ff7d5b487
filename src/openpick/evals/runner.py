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
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from openpick.engines.base import Engine, EngineError, Message, Request, Result
from openpick.engines.pool import ModelPool
from openpick.engines.spec import ModelSpec, parse_spec
from openpick.errors import InvalidInput, OpenpickError
from openpick.evals.cache import ResponseCache, cache_key
from openpick.store.records import AssertionResult, CaseResult, Grade, ModelInfo, RunInfo
from openpick.store.db import now
from openpick.store.runs import ResultKey, RunStore, new_run_id

SERVER_ENGINES = {"openai"}

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


Grader = Callable[[Any, str, dict[str, Any]], Grade]


# -- suite items, duck-typed -------------------------------------------------------------
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _plain(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if is_dataclass(obj) and not isinstance(obj, type):
        return _plain(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


GEN_PARAMS = ("max_tokens", "temperature", "top_p", "seed", "stop")


def item_params(item: Any) -> dict[str, Any]:
    """Generation parameters of a suite item that it sets (None means "not set")."""
    params = _get(item, "params")
    params = dict(params()) if callable(params) else dict(params or {})
    for k in GEN_PARAMS:
        v = _get(item, k)
        if v is not None and k not in params:
            params[k] = v
    return {k: v for k, v in params.items() if k in GEN_PARAMS and v is not None}


def item_input(item: Any) -> list[dict[str, str]] | str:
    messages = _get(item, "messages")
    if messages:
        return [{"role": _get(m, "role"), "content": _get(m, "content")} for m in messages]
    prompt = _get(item, "prompt")
    if prompt is None:
        raise InvalidInput(f"case {_get(item, 'case_id')!r} has neither prompt nor messages")
    return prompt


def build_request(item: Any, seed: int) -> Request:
    params = item_params(item)
    params["seed"] = params.get("seed", seed)
    if isinstance(params.get("stop"), str):
        params["stop"] = [params["stop"]]
    inp = item_input(item)
    if isinstance(inp, str):
        return Request(prompt=inp, **params)
    return Request(messages=[Message(role=m["role"], content=m["content"]) for m in inp],
                   **params)


def _assertion_fingerprint(a: Any) -> Any:
    # Parsed assertions carry compiled or loaded helpers (`prepared`) whose repr differs
    # between processes; what was written is what identifies them.
    if isinstance(a, (dict, str)):
        return a
    return {"type": _get(a, "type"), "value": _plain(_get(a, "value")),
            "options": _plain(dict(_get(a, "options") or {})), "weight": _get(a, "weight")}


def suite_hash(items: Sequence[Any]) -> str:
    """Content hash of what the models are asked and how answers are graded."""
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps({
            "id": _get(it, "case_id"), "variant": _get(it, "variant") or "default",
            "input": item_input(it), "params": item_params(it), "tags": _get(it, "tags"),
            "threshold": _get(it, "threshold"), "weight": _get(it, "weight"),
            "assertions": [_assertion_fingerprint(a) for a in _get(it, "assertions") or []],
        }, sort_keys=True, default=repr).encode())
    return h.hexdigest()


def _case_dict(item: Any) -> dict[str, Any]:
    """What `python` checks and judges see of a case."""
    if callable(getattr(item, "case_dict", None)):
        return item.case_dict()
    inp = item_input(item)
    out = {"id": _get(item, "case_id"), "variant": _get(item, "variant") or "default",
           "vars": _plain(_get(item, "vars") or {}), "tags": list(_get(item, "tags") or [])}
    out["messages" if isinstance(inp, list) else "prompt"] = inp
    return out


def _judge_model(item: Any) -> str | None:
    """A `judge` assertion may name its judge model (`model: qwen2.5-coder-0.5b`)."""
    for a in _get(item, "assertions") or []:
        if _get(a, "base") == "judge":
            model = (_get(a, "options") or {}).get("model")
            if model:
                return model
    return None


# -- grading -----------------------------------------------------------------------------
def default_grader(item: Any, output: str, context: dict[str, Any]) -> Grade:
    """Grade with the suite's assertions (openpick.evals.assertions)."""
    from openpick.evals import assertions as A

    ctx = A.GradeContext.from_result(context["case"], context.get("result"),
                                     cost_usd=context.get("cost_usd"),
                                     judge=context.get("judge"))
    kw = {}
    threshold = _get(item, "threshold")
    if threshold is not None:
        kw["threshold"] = threshold
    return A.grade(_get(item, "assertions") or [], output, ctx, **kw)


def no_assertions_grade() -> Grade:
    return Grade(passed=True, score=1.0, assertions=[])


def error_grade(reason: str) -> Grade:
    return Grade(passed=False, score=0.0, assertions=[
        AssertionResult(type="grading", passed=False, score=0.0, reason=reason)])


# -- models ------------------------------------------------------------------------------
@dataclass
class _Model:
    info: ModelInfo
    spec: ModelSpec
    options: dict[str, Any]
    concurrency: int
    local: bool
    ident: dict[str, Any] | None = None  # identity for the cache key; None until known


def _preload_identity(spec: ModelSpec) -> dict[str, Any] | None:
    """The model's identity without loading it, where that is cheap and exact."""
    from openpick.engines import hashing

    try:
        if spec.engine == "llama-cpp":
            path = Path(spec.resolve_target()).expanduser()
            return {"engine": "llama-cpp", "name": spec.name, "path": str(path),
                    "sha256": hashing.file_sha256(path), "record_id": spec.record_id}
        if spec.engine == "openai":
            from openpick.engines.openai import split_target

            url, model_id = split_target(spec.resolve_target())
            if model_id:
                return {"engine": "openai", "name": spec.name, "url": url, "model_id": model_id,
                        "record_id": spec.record_id}
        if spec.engine == "fake":
            return {"engine": "fake", "name": spec.name, "target": spec.resolve_target()}
    except (OSError, OpenpickError):
        return None  # the engine will say what is wrong when it loads
    return None


def _catalog_facts(record_id: str | None) -> tuple[Any, str | None, int | None]:
    if not record_id:
        return None, None, None
    try:
        from openpick.catalog.catalog import get_record
        from openpick.openness.mof import evaluate

        rec = get_record(record_id)
        return rec, rec.license, evaluate(rec).mof_class
    except Exception:  # noqa: BLE001 - catalog facts are decoration, never a reason to fail
        return None, None, None


def model_info(name: str, spec: ModelSpec, options: RunOptions) -> ModelInfo:
    rec, license_, mof = _catalog_facts(spec.record_id)
    price_in = price_out = None
    source = None
    machine = None
    if name in options.prices:
        (price_in, price_out), source = options.prices[name], "user"
    elif spec.price is not None:
        price_in, price_out = spec.price.usd_per_1m_input, spec.price.usd_per_1m_output
        source = "config"
    elif rec is not None and rec.prices:
        p = rec.prices[0]
        price_in, price_out, source = p.usd_per_1m_input, p.usd_per_1m_output, f"catalog:{p.provider}"
    elif options.machine_usd_per_hour is not None:
        machine, source = options.machine_usd_per_hour, f"machine:{options.machine_usd_per_hour:g}"
    target = spec.target if spec.target is not None else (spec.embedded or "")
    return ModelInfo(name=name, spec=f"{spec.engine}:{target}", engine=spec.engine,
                     record_id=spec.record_id, license=license_, mof_class=mof,
                     usd_per_1m_input=price_in, usd_per_1m_output=price_out,
                     price_source=source, machine_usd_per_hour=machine)


def case_cost(info: ModelInfo, result: Result) -> float | None:
    if info.usd_per_1m_input is not None and info.usd_per_1m_output is not None:
        return ((result.usage.prompt_tokens or 0) * info.usd_per_1m_input
                + result.usage.completion_tokens * info.usd_per_1m_output) / 1e6
    if info.machine_usd_per_hour is not None:
        return info.machine_usd_per_hour * result.timings.total_s / 3600
    return None


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
    item: Any
    repeat: int
    seed: int
    request: Request
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
                 grader: Grader | None = None, progress: Progress | None = None):
        self.store = store or RunStore()
        self.cache = ResponseCache(self.store.conn)
        self._own_pool = pool is None
        self.pool = pool or ModelPool()
        self.grader = grader or default_grader
        self.progress = progress or NoProgress()
        self.stop = threading.Event()
        self._judge_lock = threading.Lock()

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    # -- planning ---------------------------------------------------------------------------
    def prepare(self, suite_name: str, items: Sequence[Any], models: Sequence[str],
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
        shash = suite_hash(items)
        key = hashlib.sha256(json.dumps(
            {"suite": shash, "models": [[m, specs[m].engine, specs[m].target, specs[m].embedded]
                                        for m in models],
             "options": options.identity()}, sort_keys=True, default=str).encode()).hexdigest()
        planned = len(models) * len(items) * options.repeats
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
                          models=[model_info(m, specs[m], options) for m in models],
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
            local = spec.engine not in SERVER_ENGINES
            conc = options.concurrency or 1  # raised to the engine's own once it is loaded
            out.append(_Model(info=info, spec=spec, options=opts, concurrency=conc, local=local,
                              ident=_preload_identity(spec)))
        return out

    def _tasks(self, run: RunInfo, m: _Model, items: Sequence[Any], options: RunOptions,
               done: set[ResultKey]) -> list[_Task]:
        tasks = []
        for item in items:
            cid, variant = _get(item, "case_id"), _get(item, "variant") or "default"
            for r in range(options.repeats):
                if (m.info.name, cid, variant, r) in done:
                    continue
                seed = item_params(item).get("seed", options.seed + r)
                tasks.append(_Task(item=item, repeat=r, seed=seed,
                                   request=build_request(item, options.seed + r)))
        return tasks

    # -- running ------------------------------------------------------------------------
    def run(self, run: RunInfo, items: Sequence[Any], options: RunOptions) -> list[CaseResult]:
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

    def _answer(self, run, m: _Model, task: _Task, engine, options, cacheable) -> _Done:
        fresh = None
        error = None
        if task.cached is not None:
            res = task.cached
        else:
            try:
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
            run_id=run.id, model=m.info.name, case_id=_get(item, "case_id"),
            variant=_get(item, "variant") or "default", repeat=task.repeat,
            tags=list(_get(item, "tags") or []), input=item_input(item),
            output=None if res is None else res.text, error=error, grade=grade,
            prompt_tokens=u and u.prompt_tokens, completion_tokens=u and u.completion_tokens,
            ttft_s=t and t.ttft_s, total_s=t and t.total_s, decode_tok_s=t and t.decode_tok_s,
            threads=t and t.threads, parallel=t and t.parallel,
            peak_rss_bytes=rss, seed=task.seed, cached=task.cached is not None and res is not None,
            created_at=now())

    def _grade(self, m: _Model, item: Any, res: Result) -> Grade:
        if not (_get(item, "assertions") or []):
            return no_assertions_grade()
        judge_model = _judge_model(item) or self.judge_model
        judge = (lambda prompt: self._judge(judge_model, prompt)) if judge_model else None
        context = {"case": _case_dict(item), "result": res, "cost_usd": case_cost(m.info, res),
                   "judge": judge}
        try:
            return self.grader(item, res.text, context)
        except Exception as e:  # noqa: BLE001 - a broken check fails its case, not the run
            return error_grade(f"grading failed: {_error_text(e)}")

    # -- judge --------------------------------------------------------------------------
    judge_model: str | None = None
    judge_max_tokens: int = 512

    def _judge(self, model: str, prompt: str) -> str:
        # One judge request at a time: a local judge model is not re-entrant.
        with self._judge_lock, self.pool.use(model) as engine:
            return engine.complete(Request.chat(prompt, max_tokens=self.judge_max_tokens,
                                                temperature=0.0, seed=0)).text


def in_suite_order(results: list[CaseResult], run: RunInfo, items: Sequence[Any]) -> list[CaseResult]:
    """Results by model, then case, as the suite lists them (batched cases finish in any
    order; the store keeps them in the order they finished)."""
    models = {m.name: i for i, m in enumerate(run.models)}
    cases = {(_get(it, "case_id"), _get(it, "variant") or "default"): i
             for i, it in enumerate(items)}
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
def load_items(suite: Any) -> tuple[str, list[Any], str | None]:
    """(name, items, path) of a suite object, a path or a bundled suite name."""
    if isinstance(suite, (str, os.PathLike)):
        from openpick.evals.suite import load_suite

        suite = load_suite(suite)
    items = suite.items() if callable(getattr(suite, "items", None)) else list(suite.items)
    path = _get(suite, "path")
    return _get(suite, "name") or "suite", list(items), None if path is None else str(path)


def suite_models(suite: Any) -> list[str]:
    models = _get(suite, "models") or []
    return [m if isinstance(m, str) else (_get(m, "name") or _get(m, "spec")) for m in models]


def compare(suite: Any, models: Iterable[str], options: RunOptions | None = None, *,
            resume: str | None = None, progress: Progress | None = None,
            store: RunStore | None = None, pool: ModelPool | None = None,
            grader: Grader | None = None) -> tuple[RunInfo, list[CaseResult]]:
    """Run `models` on `suite` (a Suite, a YAML path or a bundled name) and return the run
    and all of its results. Resumes the same unfinished run when there is one."""
    options = options or RunOptions()
    name, items, path = load_items(suite)
    runner = Runner(store=store, pool=pool, grader=grader, progress=progress)
    runner.judge_model = options.judge
    try:
        run = runner.prepare(name, items, list(models), options, suite_path=path, resume=resume)
        results = runner.run(run, items, options)
        return runner.store.get(run.id), results
    finally:
        runner.close()
