"""Other tools' eval files, read as openpick suites: each format is a detector and a
converter from its document (parsed YAML, LineDicts with lines) to a native suite document.

A converter returns a document in openpick's own suite shape, so the schema, the expander
and every error message are the ones native suites get; what only the foreign format can
get wrong (an unsupported promptfoo assertion, a Hub dataset in an lm-eval task) is an
InvalidInput naming the file and line before any model runs.

`FORMATS` lists them in detection order; a document none of them claims is a native suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Format:
    name: str
    detect: Callable[[Any], bool]
    # (document, the file's path or None, the folder relative paths resolve against)
    convert: Callable[[Any, Path | None, Path], Any]


FORMATS: list[Format] = []
# The key under which a converted document lists the files it read (data, prompts, checks):
# the suite's hash covers their bytes too. (`x-` keys are ignored by the schema.)
SOURCE_FILES = "x-source-files"


def register(fmt: Format) -> Format:
    FORMATS.append(fmt)
    return fmt


def detect(doc: Any) -> Format | None:
    """The foreign format this document is written in, or None for a native suite."""
    if isinstance(doc, dict) and ("cases" in doc or "data" in doc):
        return None  # a native suite (its keys win over any look-alike)
    for fmt in FORMATS:
        if fmt.detect(doc):
            return fmt
    return None


def to_native(doc: Any, path: Path | None, base_dir: Path) -> Any:
    fmt = detect(doc)
    return doc if fmt is None else fmt.convert(doc, path, base_dir)


# the formats that ship with openpick register themselves on import
from openpick.evals.suite import promptfoo as _promptfoo  # noqa: E402,F401
from openpick.evals.suite import lmeval as _lmeval  # noqa: E402,F401
