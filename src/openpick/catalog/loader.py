"""Load and validate the bundled catalog (YAML data files inside the package)."""

from __future__ import annotations

import datetime
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
    loc = ".".join(str(p) if str(p).isprintable() else repr(str(p))
                   for p in first["loc"]) or "(record)"
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    msg = " ".join(str(first["msg"]).split())   # one line, whatever the message quotes
    return f"field {loc}: {msg}{more}"


def read_text(path: Path) -> str:
    """A UTF-8 text file's contents, or a one-line InvalidInput naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput("not a UTF-8 text file", path=str(path)) from e
    except OSError as e:
        raise InvalidInput(f"cannot read: {e.strerror}", path=str(path)) from e


class _SafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader whose bad scalars fail as YAML errors with their line, not as the
    ValueError a constructor raises (a timestamp like 2024-13-45 that is no date, an
    integer past Python's digit limit)."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as e:
            why = str(e).splitlines()[0].split(";")[0]
            raise yaml.constructor.ConstructorError(
                None, None, f"bad value {str(node.value)[:40]!r}: {why}", node.start_mark) from e


def parse_yaml(text: str, path: Path, *, first_line: int = 1) -> object:
    """Safe-load YAML; any failure is one InvalidInput naming the file and line (counted
    from `first_line`, for YAML that starts inside a larger file)."""
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + first_line if mark else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InvalidInput(f"YAML error: {problem}", path=str(path), line=line) from e
    except RecursionError as e:
        raise InvalidInput("YAML error: nested too deeply", path=str(path)) from e


def load_record_file(path: Path) -> ModelRecord:
    """Parse one YAML record file; errors name the file, line and field."""
    data = parse_yaml(read_text(path), path)
    if not isinstance(data, dict):
        raise InvalidInput("expected a mapping of record fields", path=str(path))
    try:
        return ModelRecord.model_validate(data)
    except ValidationError as e:
        raise InvalidInput(format_validation_error(e), path=str(path)) from e


def scalar_text(value: object, field: str, warnings: list[str]) -> str | None:
    """An importer's text field: a scalar as stripped text, None when absent. A list or
    mapping is dropped with a warning instead of str()-ed: YAML aliases can make a few
    lines of a file into millions of nested items."""
    if value is None:
        return None
    if isinstance(value, (str, int, float, datetime.date)):
        return str(value).strip()
    warnings.append(f"{field}: expected text, got a {type(value).__name__}; ignored")
    return None


def build_record(fields: dict, path: Path) -> ModelRecord:
    """A record from the fields an importer found. Only fields with a value are passed, so
    only those count as set (a merge fills, not overrides); a value the schema refuses is
    one InvalidInput naming the file and field."""
    try:
        return ModelRecord(**{k: v for k, v in fields.items() if v not in (None, [], {})})
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
