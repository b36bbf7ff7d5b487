"""Engines register through the entry-point group `openpick.engines`, built-ins included:

    [project.entry-points."openpick.engines"]
    llama-cpp = "openpick.engines.llama_cpp:LlamaCppEngine"

A third-party package adds its own line the same way. Loading an entry point imports only
the engine module, which imports its heavy runtime lazily.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from importlib.metadata import entry_points

from openpick.engines.base import Engine
from openpick.errors import InvalidInput, NotFound

GROUP = "openpick.engines"

# The built-ins, as pyproject.toml declares them. Used only when the installed metadata is
# stale (a source checkout run before `pip install -e .` picked up a new entry point).
BUILTINS = {
    "llama-cpp": "openpick.engines.llama_cpp:LlamaCppEngine",
    "transformers": "openpick.engines.transformers:TransformersEngine",
    "openai": "openpick.engines.openai:OpenAIEngine",
    "fake": "openpick.engines.fake:FakeEngine",
}
ALIASES = {"hf": "transformers", "llama": "llama-cpp", "gguf": "llama-cpp"}


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table = dict(BUILTINS)
    for ep in entry_points(group=GROUP):
        table[ep.name] = ep.value
    return table


def engine_names() -> list[str]:
    return sorted(_table())


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def is_engine(name: str) -> bool:
    return canonical(name) in _table()


def get_engine_class(name: str) -> type[Engine]:
    name = canonical(name)
    ref = _table().get(name)
    if ref is None:
        raise NotFound(f"no engine named {name!r}; installed engines: {', '.join(engine_names())}")
    module, _, attr = ref.partition(":")
    cls = getattr(import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, Engine)):
        raise InvalidInput(f"entry point {name} = {ref} is not an openpick Engine subclass")
    return cls


def refresh() -> None:
    """Forget the cached entry points (after installing a plugin in-process)."""
    _table.cache_clear()
