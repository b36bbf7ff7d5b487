"""Several endpoints serving the same model: pick one per request, route around dead ones.

A request goes to the least-loaded healthy replica (fewest requests in flight, ties broken
round-robin). A replica that fails is taken out of rotation and probed back in by a
background thread after a backoff that doubles with each consecutive failure (1s, 2s, 4s,
... capped); a request it served successfully resets the count. Health lives in this object,
one per engine; the per-endpoint concurrency semaphores stay shared across engines.

No HTTP here: the engine passes in how to probe a replica (openai.py sends GET /models).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from openpick.engines.base import EngineError


class ReplicaStats(BaseModel):
    url: str
    healthy: bool
    in_flight: int
    served: int
    failures: int
    consecutive_failures: int
    last_error: str | None = None


@dataclass(eq=False)
class Replica:
    url: str
    slots: threading.BoundedSemaphore
    in_flight: int = 0
    served: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    healthy: bool = True
    last_error: str | None = None
    next_probe: float = 0.0
    probing: bool = False


def probe_delay(consecutive: int, base_s: float, max_s: float) -> float:
    """Wait before the next probe after `consecutive` failures: base, 2×base, 4×base ... ≤ max."""
    return min(max_s, base_s * 2 ** max(0, consecutive - 1))


class ReplicaSet:
    def __init__(self, urls: list[str], slots_for: Callable[[str], threading.BoundedSemaphore],
                 probe: Callable[[str], None], *, probe_s: float = 1.0, probe_max_s: float = 30.0,
                 failover: bool = True):
        self.replicas = [Replica(u, slots_for(u)) for u in urls]
        self._probe = probe
        self.probe_s, self.probe_max_s = probe_s, probe_max_s
        # A lone endpoint has nothing to route around: it is never taken out of rotation.
        self.failover = failover
        self._lock = threading.Lock()
        self._next = 0  # round-robin position among equally loaded replicas
        self._closed = threading.Event()

    # -- choosing -------------------------------------------------------------------------
    def acquire(self, exclude: set[str], timeout: float) -> Replica | None:
        """A replica with one of its request slots held (release() gives it back), or None
        when no healthy replica is left outside `exclude`."""
        n = len(self.replicas)
        with self._lock:
            order = sorted(
                (i for i, r in enumerate(self.replicas)
                 if r.url not in exclude and (r.healthy or not self.failover)),
                key=lambda i: (self.replicas[i].in_flight, (i - self._next) % n))
            if not order:
                return None
            # Prefer one with a free slot right now (the slots are shared with other
            # engines, so in_flight alone can mislead); else queue on the least loaded.
            free = next((i for i in order if self.replicas[i].slots.acquire(blocking=False)), None)
            i = order[0] if free is None else free
            rep = self.replicas[i]
            rep.in_flight += 1
            self._next = (i + 1) % n
        if free is None and not rep.slots.acquire(timeout=max(0.0, timeout)):
            with self._lock:
                rep.in_flight -= 1
            raise EngineError(f"{rep.url}: no free request slot within {timeout:g}s")
        return rep

    def release(self, rep: Replica, *, served: bool) -> None:
        with self._lock:
            rep.in_flight -= 1
            if served:
                rep.served += 1
                rep.consecutive_failures = 0
        rep.slots.release()

    # -- health ---------------------------------------------------------------------------
    def failed(self, rep: Replica, error: str) -> None:
        """Take `rep` out of rotation (with failover) and make sure a prober will bring it
        back. Requests already in flight there that fail too count, but do not lengthen
        the backoff: one outage is one failure."""
        with self._lock:
            rep.failures += 1
            rep.last_error = error
            if not self.failover or not rep.healthy:
                return
            rep.healthy = False
            rep.consecutive_failures += 1
            rep.next_probe = time.monotonic() + probe_delay(
                rep.consecutive_failures, self.probe_s, self.probe_max_s)
            if rep.probing or self._closed.is_set():
                return
            rep.probing = True
        threading.Thread(target=self._probe_loop, args=(rep,), daemon=True,
                         name=f"openpick-probe {rep.url}").start()

    def _probe_loop(self, rep: Replica) -> None:
        while True:
            with self._lock:
                wait = rep.next_probe - time.monotonic()
            if self._closed.wait(max(0.0, wait)):
                with self._lock:
                    rep.probing = False
                return
            try:
                self._probe(rep.url)
            except Exception as e:  # noqa: BLE001 - any failure keeps it out
                with self._lock:
                    rep.consecutive_failures += 1
                    rep.last_error = f"probe failed: {e}"
                    rep.next_probe = time.monotonic() + probe_delay(
                        rep.consecutive_failures, self.probe_s, self.probe_max_s)
                continue
            with self._lock:  # both at once, so a failure right after starts a new prober
                rep.healthy, rep.probing = True, False
            return

    def healthy_count(self) -> int:
        with self._lock:
            return sum(r.healthy for r in self.replicas)

    def all_down(self, model: str | None) -> EngineError:
        with self._lock:
            parts = [f"{r.url} ({r.last_error or 'failed'})" for r in self.replicas]
        what = f"model {model}" if model else "the model"
        return EngineError(f"all {len(parts)} replicas of {what} failed or are down: "
                           + "; ".join(parts))

    def stats(self) -> list[ReplicaStats]:
        with self._lock:
            return [ReplicaStats(url=r.url, healthy=r.healthy, in_flight=r.in_flight,
                                 served=r.served, failures=r.failures,
                                 consecutive_failures=r.consecutive_failures,
                                 last_error=r.last_error) for r in self.replicas]

    def close(self) -> None:
        """Stop the probers (they are daemon threads; this just ends their waits)."""
        self._closed.set()
