"""Data files (CSV, JSONL) whose rows become cases: columns are vars, `__` columns are
special (`__expected`, `__id`, `__tags`, `__prompt`, `__description`)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpick.errors import InvalidInput

SUFFIXES = (".csv", ".jsonl", ".ndjson")
ROW_SPECIAL = ("__expected", "__id", "__tags", "__prompt", "__description")


@dataclass
class Row:
    """One row's own parts; errors about them name the data file and the row's line."""

    number: int                    # 1-based row number (for ids: "rows.csv:3")
    line: int                      # line in the data file
    vars: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    tags: list[str] = field(default_factory=list)
    expected: Any = None
    has_expected: bool = False
    prompt: str | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        return f"row {self.number}"


def read_rows(fpath: Path, text: str) -> list[Row]:
    """Parse a data file's text into rows (raises InvalidInput naming file and line)."""
    pairs = _csv_rows(text, fpath) if fpath.suffix.lower() == ".csv" else _jsonl_rows(text, fpath)
    return [_row(n, line, values, fpath) for n, (line, values) in enumerate(pairs, start=1)]


def _csv_rows(text: str, fpath: Path) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    start = 2
    try:
        for row in reader:
            row.pop(None, None)  # extra cells beyond the header
            rows.append((start, {k: ("" if v is None else v) for k, v in row.items()}))
            start = reader.line_num + 1
    except csv.Error as e:
        raise InvalidInput(f"not valid CSV: {e}", path=str(fpath), line=reader.line_num) from None
    return rows


def _jsonl_rows(text: str, fpath: Path) -> list[tuple[int, dict]]:
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as e:
            raise InvalidInput(f"not JSON: {_one_line(e)}", path=str(fpath), line=n) from None
        if not isinstance(row, dict):
            raise InvalidInput("each line must be a JSON object", path=str(fpath), line=n)
        rows.append((n, row))
    return rows


def _row(number: int, line: int, values: dict, fpath: Path) -> Row:
    row = Row(number=number, line=line)

    def fail(msg: str):
        raise InvalidInput(f"{row.label}: {msg}", path=str(fpath), line=line)

    for key, value in values.items():
        if not isinstance(key, str) or not key:
            fail("every column needs a name")
        if not key.startswith("__"):
            row.vars[key] = value
            continue
        if key not in ROW_SPECIAL:
            fail(f"unknown special column '{key}' (known: {', '.join(ROW_SPECIAL)})")
        if value is None or value == "":
            continue
        if key == "__tags":
            tags = [t.strip() for t in value.split(",")] if isinstance(value, str) else value
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                fail("__tags must be a list or comma-separated text")
            row.tags = [t for t in tags if t]
        elif key == "__id":
            row.id = str(value)
        elif key == "__expected":
            row.expected, row.has_expected = value, True
        elif not isinstance(value, str):
            fail(f"{key} must be text")
        elif key == "__prompt":
            row.prompt = value
        else:
            row.description = value
    return row


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
