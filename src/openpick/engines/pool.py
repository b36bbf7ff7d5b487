"""Keep loaded models within a memory budget, shared across requests and threads.

Models load lazily on first use. When the memory of loaded models passes the budget, the
least recently used models that nobody is using are closed. Memory is what each engine
holds now (`Engine.memory_bytes`): for native models the worker process's real RSS, so
closing one (stopping its worker) gives the memory back to the machine. A model in use is never
evicted: the pool goes over budget instead, and evicts once it is released. Two threads
asking for the same model wait for one load.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from openpick.engines.base import Engine
from openpick.engines.spec import load_engine


def default_budget() -> int:
    """Half the machine's memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


@dataclass
class _Entry:
    engine: Engine | None = None
    size: int = 0
    users: int = 0
    loading: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class ModelPool:
    def __init__(self, budget_bytes: int | None = None,
                 loader: Callable[[str, dict], Engine] = load_engine):
        self.budget = default_budget() if budget_bytes is None else budget_bytes
        self._loader = loader
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # oldest use first
        self._lock = threading.Lock()

    @staticmethod
    def key(spec: str, options: dict | None) -> str:
        return spec if not options else f"{spec}?{json.dumps(options, sort_keys=True)}"

    @contextmanager
    def use(self, spec: str, options: dict[str, Any] | None = None) -> Iterator[Engine]:
        """Borrow a loaded model; it cannot be evicted until the block ends."""
        key = self.key(spec, options)
        engine = self._acquire(key, spec, options or {})
        try:
            yield engine
        finally:
            with self._lock:
                self._entries[key].users -= 1
                self._evict()

    def _acquire(self, key: str, spec: str, options: dict) -> Engine:
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if owner:
                entry = self._entries[key] = _Entry()
            entry.users += 1
            self._entries.move_to_end(key)
        if owner:
            try:
                entry.engine = self._loader(spec, options)
                entry.size = entry.engine.estimated_bytes()
            except BaseException as e:
                with self._lock:
                    entry.error = e
                    del self._entries[key]
                raise
            finally:
                entry.loading.set()
            with self._lock:
                self._evict()
        else:
            entry.loading.wait()
            if entry.error is not None:
                raise entry.error
        return entry.engine

    def _evict(self) -> None:
        """Close least recently used idle models until within budget (lock held)."""
        while self.total_bytes() > self.budget:
            idle = next((k for k, e in self._entries.items()
                         if e.users == 0 and e.engine is not None), None)
            if idle is None:
                return
            self._entries.pop(idle).engine.close()

    @staticmethod
    def _bytes(e: _Entry) -> int:
        if e.engine is None:
            return e.size  # still loading: its estimate
        try:
            return e.engine.memory_bytes()
        except Exception:  # noqa: BLE001 - a dead or closing worker holds nothing
            return 0

    def total_bytes(self) -> int:
        return sum(self._bytes(e) for e in self._entries.values())

    def loaded(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(k, self._bytes(e)) for k, e in self._entries.items() if e.engine is not None]

    def workers(self) -> list[dict]:
        """Loaded models that run in worker processes: pid (None while none runs) and
        how many times a dead worker was replaced."""
        with self._lock:
            engines = [(k, e.engine) for k, e in self._entries.items() if e.engine is not None]
        return [{"model": k, "pid": eng.pid, "restarts": eng.restarts}
                for k, eng in engines if hasattr(eng, "restarts")]

    def unload(self, spec: str, options: dict | None = None) -> bool:
        """Close a model now if nobody uses it; returns whether it was closed."""
        with self._lock:
            entry = self._entries.get(self.key(spec, options))
            if entry is None or entry.users or entry.engine is None:
                return False
            self._entries.pop(self.key(spec, options)).engine.close()
            return True

    def close(self) -> None:
        with self._lock:
            entries, self._entries = list(self._entries.values()), OrderedDict()
        for e in entries:
            if e.engine is not None:
                e.engine.close()

    def __enter__(self) -> ModelPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
