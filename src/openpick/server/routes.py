"""Model names the server answers to, routes and aliases, and running a request on them.

A request names a model; it never gives a spec or a path. The names are: the embedded
models, the models of openpick.toml, the ones the server was started with (`--model
NAME=SPEC`), and the routes and aliases of openpick.toml:

    [aliases]
    default = "smollm2-135m"

    [routes.fast]
    fallback = ["qwen2.5-coder-0.5b", "smollm2-135m"]   # tried in order
    timeout_s = 20          # per model but the last, until its first token

A route tries its models in order: the next one when a model fails to load, fails before
its first token, or gives no token within `timeout_s` (the last one is never timed out).
Once a token has been sent, the answer stays with that model. Targets of aliases and routes
come from the server's own config, so they may be any spec.

Engines are blocking, so each attempt runs on a pooled thread and hands its deltas to the
event loop in batches; cancelling a run (client gone, shutdown) stops the engine at its
next token.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import tomllib
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openpick.engines import config
from openpick.engines.base import Delta, EngineError, ModelIdentity, Request, Result
from openpick.engines.embedded import EMBEDDED
from openpick.engines.pool import ModelPool
from openpick.errors import InvalidInput, NotFound

log = logging.getLogger("openpick.server")
MAX_DEPTH = 8


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fallback: list[str] = Field(min_length=1)
    timeout_s: float | None = Field(None, gt=0, description="per model, until its first token")


@dataclass(frozen=True)
class Candidate:
    name: str  # the name answers report
    spec: str  # what the pool loads


@dataclass(frozen=True)
class Resolved:
    name: str  # as requested
    kind: str  # model | alias | route
    candidates: tuple[Candidate, ...]
    timeout_s: float | None = None


@dataclass
class Routing:
    routes: dict[str, Route] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


def _read_routing(path: Path) -> Routing:
    if not path.is_file():
        return Routing()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput(f"TOML error: {e}", path=str(path)) from e
    out = Routing()
    for name, raw in (data.get("routes") or {}).items():
        try:
            out.routes[name] = Route.model_validate(raw)
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"routes.{name}.{loc}: {first['msg']}", path=str(path)) from e
    for name, target in (data.get("aliases") or {}).items():
        if not isinstance(target, str) or not target:
            raise InvalidInput(f"aliases.{name}: give a model name", path=str(path))
        out.aliases[name] = target
    return out


def load_routing() -> Routing:
    """Routes and aliases of the user's openpick.toml, the project's overriding by name."""
    user = _read_routing(config.user_config_path())
    project = config.project_config_path()
    if project.resolve() != config.user_config_path().resolve():
        p = _read_routing(project)
        user.routes.update(p.routes)
        user.aliases.update(p.aliases)
    return user


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


class ModelNames:
    """Resolves requested names; re-reads openpick.toml when it changes."""

    def __init__(self, extra: dict[str, str] | None = None):
        self.extra = dict(extra or {})
        self._stamp: tuple | None = None
        self._models: dict[str, str] = {}
        self._routing = Routing()
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        stamp = (_mtime(config.user_config_path()), _mtime(config.project_config_path()))
        with self._lock:
            if stamp == self._stamp:
                return
            models = {name: name for name in EMBEDDED}
            models.update({name: name for name in config.load_models()})
            models.update(self.extra)
            routing = load_routing()
            self._models, self._routing, self._stamp = models, routing, stamp
        for name in [*routing.routes, *routing.aliases]:
            self.resolve(name)  # fail at load on cycles, not at request time

    def names(self) -> list[tuple[str, str]]:
        """(name, kind) for every name a request may give."""
        self._refresh()
        out = [(n, "model") for n in self._models]
        out += [(n, "route") for n in self._routing.routes if n not in self._models]
        out += [(n, "alias") for n in self._routing.aliases
                if n not in self._models and n not in self._routing.routes]
        return out

    def known(self, name: str) -> bool:
        self._refresh()
        return name in self._models or name in self._routing.routes or name in self._routing.aliases

    def resolve(self, name: str) -> Resolved:
        """The models to try for a requested name; NotFound for anything else."""
        self._refresh()
        if not self.known(name):
            raise NotFound(f"The model '{_clip(name)}' does not exist; GET /v1/models lists "
                           f"the models this server offers")
        route = self._routing.routes.get(name) if name not in self._models else None
        kind = "model" if name in self._models else "route" if route else "alias"
        return Resolved(name=name, kind=kind, candidates=tuple(self._expand(name, 0)),
                        timeout_s=route.timeout_s if route else None)

    def _expand(self, name: str, depth: int) -> list[Candidate]:
        if depth > MAX_DEPTH:
            raise InvalidInput(f"openpick.toml: routes or aliases loop through {name!r}")
        if name in self._models:
            return [Candidate(name, self._models[name])]
        if name in self._routing.routes:
            out: list[Candidate] = []
            for member in self._routing.routes[name].fallback:
                out += [c for c in self._expand(member, depth + 1) if c not in out]
            return out
        if name in self._routing.aliases:
            return self._expand(self._routing.aliases[name], depth + 1)
        # A target written in the server's own config: any spec (e.g. "fake:echo").
        return [Candidate(name, name)]


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "..."


class RouteFailed(EngineError):
    """Every model of a route failed."""


_DONE = object()
_default_executor: ThreadPoolExecutor | None = None


def generation_executor(max_workers: int) -> ThreadPoolExecutor:
    """Threads for blocking engines. Sized above the concurrency limit: an attempt a route
    gave up on keeps its thread until its engine yields again."""
    return ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="openpick-gen")


def default_executor() -> ThreadPoolExecutor:
    global _default_executor
    if _default_executor is None:
        _default_executor = generation_executor(64)
    return _default_executor


class Attempt:
    """One model generating in a worker thread; the event loop takes its deltas in batches.

    The thread appends to a deque and wakes the loop only when the loop has taken
    everything before (one wake-up per batch, not per token), so a fast engine costs one
    write per batch instead of one per token; a slow one still hands over every token as
    soon as it exists.
    """

    def __init__(self, pool: ModelPool, candidate: Candidate, request: Request,
                 loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor):
        self.pool, self.candidate, self.request, self.loop = pool, candidate, request, loop
        self.executor = executor
        self._items: deque = deque()
        self._wake = asyncio.Event()
        self._signaled = False
        self.cancelled = threading.Event()
        self.finished = threading.Event()
        self.identity: ModelIdentity | None = None  # the loaded model, before its first delta
        self.result: Result | None = None  # the engine's measured answer, unless cancelled

    def start(self) -> Attempt:
        # A pooled thread: starting a new one would block the event loop until it runs.
        self.executor.submit(self._run)
        return self

    def cancel(self) -> None:
        self.cancelled.set()

    def _put(self, item) -> None:
        self._items.append(item)
        if not self._signaled:
            self._signaled = True
            try:
                self.loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the event loop is closed: nobody is listening any more
                self.cancelled.set()

    async def take(self) -> list:
        """Everything produced since the last call; waits for at least one item."""
        while True:
            if self._items:
                self._signaled = False  # before draining: a later put wakes us again
                items = []
                while self._items:
                    items.append(self._items.popleft())
                return items
            await self._wake.wait()
            self._wake.clear()

    def _run(self) -> None:
        try:
            with self.pool.use(self.candidate.spec) as engine:
                if self.cancelled.is_set():
                    return
                self.identity = engine.identity()
                stream = engine.stream(self.request)  # times the answer like `complete`
                gen = iter(stream)
                try:
                    for delta in gen:
                        if self.cancelled.is_set():
                            break
                        self._put(delta)
                finally:
                    # Closes the engine's generator with it: its cleanup (and lock) runs now.
                    gen.close()
                self.result = stream.result
            self._put(_DONE)  # after the result: whoever sees the end sees the result
        except BaseException as e:  # handed to the event loop, which decides what it means
            self._put(e)
        finally:
            self.finished.set()


class Run:
    """A request on a resolved name: `await start()` picks the model, then iterate
    `deltas()` (or `batches()`: lists of the deltas that were ready together)."""

    def __init__(self, pool: ModelPool, resolved: Resolved, request: Request,
                 on_fallback=None, executor: ThreadPoolExecutor | None = None):
        self.pool, self.resolved, self.request = pool, resolved, request
        self.on_fallback = on_fallback
        self.executor = executor or default_executor()
        self.model: str | None = None  # who answers, once started
        self.attempt: Attempt | None = None
        self._first: list = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        cands = self.resolved.candidates
        errors: list[str] = []
        for i, cand in enumerate(cands):
            attempt = Attempt(self.pool, cand, self.request, loop, self.executor).start()
            # The last model gets all the time it needs: there is nothing left to try.
            timeout = self.resolved.timeout_s if i + 1 < len(cands) else None
            try:
                first = await asyncio.wait_for(attempt.take(), timeout)
            except TimeoutError:
                attempt.cancel()
                first = [EngineError(f"no token within {self.resolved.timeout_s:g}s")]
            except BaseException:
                attempt.cancel()
                raise
            if not isinstance(first[0], BaseException):
                self.model, self.attempt, self._first = cand.name, attempt, first
                return
            error = first[0]
            if len(cands) == 1:
                raise error
            log.warning("route %s: %s failed (%s); trying the next model",
                        self.resolved.name, cand.name, error)
            errors.append(f"{cand.name}: {error}")
            if self.on_fallback and i + 1 < len(cands):
                self.on_fallback(self.resolved.name, cand.name)
        raise RouteFailed(f"every model of route {self.resolved.name!r} failed: "
                          + "; ".join(errors))

    async def batches(self) -> AsyncIterator[list[Delta]]:
        """Deltas in the groups they arrived in; raises the engine's error, if any."""
        assert self.attempt is not None, "call start() first"
        items, self._first = self._first, []
        try:
            while True:
                batch = []
                for item in items:
                    if item is _DONE:
                        if batch:
                            yield batch
                        return
                    if isinstance(item, BaseException):
                        if batch:
                            yield batch
                        raise item
                    batch.append(item)
                if batch:
                    yield batch
                items = await self.attempt.take()
        finally:
            self.attempt.cancel()

    async def deltas(self) -> AsyncIterator[Delta]:
        try:
            async for batch in self.batches():
                for delta in batch:
                    yield delta
        finally:
            self.cancel()  # leaving early stops the model now, not when batches() is collected

    def cancel(self) -> None:
        if self.attempt is not None:
            self.attempt.cancel()

    @property
    def identity(self) -> ModelIdentity | None:
        """What answers (engine, file hash or server), once started."""
        return self.attempt.identity if self.attempt else None

    @property
    def result(self) -> Result | None:
        """The engine's measured Result once the deltas have ended; None if cancelled."""
        return self.attempt.result if self.attempt else None
