"""openpick: choose, measure and use open language models.

The library API, in one import:

    import openpick

    hits = openpick.search("coder", tasks=["code"])          # know: the catalog
    card = openpick.assess("allenai/OLMo-7B")                 # how open, and why
    picks = openpick.recommend(task="chat", fits="8GB")       # decide from constraints
    suite = openpick.load_suite("starter")                    # measure: a suite ...
    run, results = openpick.compare(suite, ["smollm2-135m"])  # ... on your models
    with openpick.load_engine("smollm2-135m") as engine:      # use one
        print(engine.complete(openpick.Request.chat("Hi")).text)

Names resolve on first use (PEP 562), so `import openpick` stays light: heavy dependencies
(llama_cpp, torch, transformers) load only inside the engines that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from openpick.errors import OpenpickError

__version__ = "0.1.0"

# name → module that defines it
_LAZY = {
    "load_suite": "openpick.evals.suite",
    "parse_suite": "openpick.evals.suite",
    "Suite": "openpick.evals.suite",
    "SuiteItem": "openpick.evals.suite",
    "compare": "openpick.evals.runner",
    "RunOptions": "openpick.evals.runner",
    "summarize": "openpick.evals.summary",
    "load_engine": "openpick.engines.spec",
    "Request": "openpick.engines.base",
    "Sampling": "openpick.engines.base",
    "Message": "openpick.engines.base",
    # a callable package (it shares its name with the function): recommend(task="chat")
    "recommend": "openpick.recommend",
}

__all__ = ["OpenpickError", "__version__", "assess", "search", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openpick' has no attribute {name!r}")
    value = import_module(module)
    if module.rpartition(".")[2] != name:
        value = getattr(value, name)
    globals()[name] = value
    return value


def search(text: str | None = None, **filters: Any) -> list:
    """Search the catalog: free text plus filters (tasks, domains, languages, license,
    mof_class, params, fits_bytes, base, sort, limit); returns ranked `Hit`s."""
    import openpick.openness  # noqa: F401 - gives the index its MOF facts
    from openpick.catalog.index import Query
    from openpick.catalog.index import search as _search

    return _search(Query(text=text, **filters))


def assess(record: Any):
    """The openness report of a catalog record (or a record id): MOF class and progress,
    the course criteria, OSAID, the OSAI index and what the license allows."""
    from openpick.catalog.catalog import get_record
    from openpick.openness import assess as _assess

    return _assess(get_record(record) if isinstance(record, str) else record)


if TYPE_CHECKING:  # for type checkers and IDEs; at run time these load lazily
    from openpick.engines.base import Message, Request, Sampling
    from openpick.engines.spec import load_engine
    from openpick.evals.runner import RunOptions, compare
    from openpick.evals.suite import Suite, SuiteItem, load_suite, parse_suite
    from openpick.evals.summary import summarize
