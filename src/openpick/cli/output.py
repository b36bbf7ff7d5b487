"""Shared CLI output helpers: JSON for scripts, Rich for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(obj: Any) -> None:
    """Machine-readable output on stdout (pydantic models are dumped as JSON)."""
    sys.stdout.write(json.dumps(_plain(obj), indent=2, ensure_ascii=False, default=str) + "\n")


def _plain(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_none=True)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
