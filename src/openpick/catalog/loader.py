"""Load and validate the bundled catalog (YAML data files inside the package)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from openpick.catalog.schema import ModelRecord
from openpick.errors import InvalidInput


def bundled_dir() -> Path:
    return Path(str(resources.files("openpick.catalog") / "data" / "models"))


def format_validation_error(err: ValidationError) -> str:
    """First error as 'field.path: message' — one line, naming the field."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(record)"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"field {loc}: {first['msg']}{more}"


def read_text(path: Path) -> str:
    """A UTF-8 text file's contents, or a one-line InvalidInput naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput("not a UTF-8 text file", path=str(path)) from e
    except OSError as e:
        raise InvalidInput(f"cannot read: {e.strerror}", path=str(path)) from e


def load_record_file(path: Path) -> ModelRecord:
    """Parse one YAML record file; errors name the file, line and field."""
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InvalidInput(f"YAML error: {problem}", path=str(path), line=line) from e
    if not isinstance(data, dict):
        raise InvalidInput("expected a mapping of record fields", path=str(path))
    try:
        return ModelRecord.model_validate(data)
    except ValidationError as e:
        raise InvalidInput(format_validation_error(e), path=str(path)) from e


@lru_cache(maxsize=1)
def load_bundled() -> tuple[ModelRecord, ...]:
    """Every bundled record, sorted by id. Duplicate ids are a data bug."""
    records: dict[str, ModelRecord] = {}
    for path in sorted(bundled_dir().glob("*.yaml")):
        rec = load_record_file(path)
        if rec.id in records:
            raise InvalidInput(f"duplicate record id {rec.id!r}", path=str(path))
        records[rec.id] = rec
    return tuple(sorted(records.values(), key=lambda r: r.id.lower()))
