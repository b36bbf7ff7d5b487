"""Bundled tuning examples: `openpick tune smollm2-135m --example support-routing`.

Each example is a folder under tune/data/examples/ with train.jsonl, a held-out suite.yaml
that shares no case with it, and example.yaml: the model name and the training settings the
example was measured with.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from openpick.catalog.loader import parse_yaml, read_text
from openpick.errors import NotFound


def examples_dir() -> Path:
    return Path(str(resources.files("openpick.tune") / "data" / "examples"))


def names() -> list[str]:
    return sorted(p.name for p in examples_dir().iterdir() if (p / "example.yaml").is_file())


def load(name: str) -> dict:
    """{"name", "data", "suite", "settings"} of a bundled example."""
    folder = examples_dir() / name
    if not (folder / "example.yaml").is_file():
        raise NotFound(f"no bundled tuning example {name!r}; examples: {', '.join(names())}")
    meta = parse_yaml(read_text(folder / "example.yaml"), folder / "example.yaml") or {}
    return {"name": meta.get("name", name), "data": str(folder / "train.jsonl"),
            "suite": str(folder / "suite.yaml"), "settings": meta.get("settings", {})}
