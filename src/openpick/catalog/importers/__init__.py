"""Import catalog records from the files model makers publish.

Formats: MOF release YAML (`framework:`), European Open Source AI Index YAML (`system:`),
openpick record YAML (`id:` + `license:`), Hugging Face model-card README front matter
(`.md`) and GGUF headers (`.gguf`, or any file starting with the GGUF magic). A directory
means its README.md plus the *.gguf files in it.

`import_paths` imports many files, keeps going past a bad one and reports each file's
outcome; every good record is stored atomically (merged with an earlier import of the
same id), so a failure never leaves a half-written record behind.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from openpick.catalog.licenses import UNKNOWN as UNKNOWN_LICENSE
from openpick.catalog.licenses import normalize_license
from openpick.catalog.loader import format_validation_error, parse_yaml, read_text
from openpick.catalog.schema import ModelRecord
from openpick.errors import InvalidInput, OpenpickError

Format = Literal["gguf", "mof", "osai", "record", "hf-card", "directory"]

__all__ = [
    "ImportResult",
    "detect_format",
    "import_paths",
    "parse_path",
    "normalize_license",
    "UNKNOWN_LICENSE",
]


class ImportResult(BaseModel):
    """What happened to one input file."""

    path: str
    ok: bool
    format: str | None = None
    ids: list[str] = Field(default_factory=list)
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- licenses

# One license table for the whole product: openpick.catalog.licenses (re-exported here,
# where the importers have always found it).
# ---------------------------------------------------------------- helpers

_HF_URL = re.compile(r"^https?://(?:www\.)?huggingface\.co/(?!datasets/|spaces/)([^/\s?#]+)/([^/\s?#]+)")


def hf_id_from_url(url: object) -> str | None:
    """'org/name' from a huggingface.co model URL, else None."""
    if not isinstance(url, str):
        return None
    m = _HF_URL.match(url.strip())
    return f"{m.group(1)}/{m.group(2)}" if m else None


def make_id(org: str, name: str) -> str:
    """A valid 'org/name' id from free text (slashes and spaces become dashes)."""
    def part(s: str) -> str:
        return re.sub(r"[\s/]+", "-", s.strip()).strip("-") or "unknown"

    return f"{part(org)}/{part(name)}"


def load_yaml(path: Path, text: str | None = None) -> object:
    """Safe-loaded YAML of `path` (or of `text`, read from it); any failure is one
    InvalidInput naming the file (and line), never a parser's own exception."""
    return parse_yaml(read_text(path) if text is None else text, path)


# ---------------------------------------------------------------- detection

_GGUF_MAGIC = b"GGUF"


def detect_format(path: Path) -> Format:
    """Which importer reads `path`; InvalidInput (naming the file) when none does."""
    path = Path(path)
    if path.is_dir():
        return "directory"
    if not path.exists():
        raise InvalidInput("no such file or directory", path=str(path))
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as e:
        raise InvalidInput(f"cannot read: {e.strerror}", path=str(path)) from e
    if not head:
        raise InvalidInput("empty file", path=str(path))
    suffix = path.suffix.lower()
    if suffix == ".gguf" or head == _GGUF_MAGIC:
        return "gguf"
    if suffix in {".md", ".markdown"}:
        return "hf-card"
    if suffix in {".yaml", ".yml"}:
        data = load_yaml(path)
        if isinstance(data, dict):
            if "framework" in data:
                return "mof"
            if "system" in data:
                return "osai"
            if "id" in data and "license" in data:
                return "record"
        raise InvalidInput(
            "unknown YAML format: expected a MOF release (framework:), an Open Source AI Index "
            "entry (system:) or an openpick record (id:, license:)",
            path=str(path),
        )
    raise InvalidInput(
        "unknown format: expected .gguf, a model card (.md), MOF/OSAI/record YAML or a directory",
        path=str(path),
    )


def _directory_files(path: Path) -> list[Path]:
    cards = [p for p in path.iterdir() if p.is_file() and p.name.lower() == "readme.md"]
    ggufs = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".gguf")
    if not cards and not ggufs:
        raise InvalidInput("directory has no README.md model card and no .gguf file", path=str(path))
    return cards[:1] + ggufs


# ---------------------------------------------------------------- parsing

def parse_path(
    path: Path, *, record_id: str | None = None, warnings: list[str] | None = None
) -> ModelRecord:
    """Parse one file (not a directory) into a record, whatever its format."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "gguf":
        from openpick.catalog.importers.gguf import parse_gguf

        record = parse_gguf(path, record_id=record_id, warnings=warnings)
    elif fmt == "hf-card":
        from openpick.catalog.importers.hf_card import parse_hf_card

        record = parse_hf_card(path, record_id=record_id, warnings=warnings)
    elif fmt == "osai":
        from openpick.catalog.importers.osai import parse_osai

        record = parse_osai(path, record_id=record_id, warnings=warnings)
    elif fmt == "mof":
        from openpick.catalog.importers.mof import parse_mof

        record = parse_mof(path)
    elif fmt == "record":
        from openpick.catalog.loader import load_record_file

        record = load_record_file(path)
    else:  # pragma: no cover - directories are expanded by import_paths
        raise InvalidInput("expected a file, got a directory", path=str(path))
    if record_id and record.id != record_id:
        # Validate again (the id's shape) and keep which fields the source actually set.
        record = ModelRecord.model_validate({**record.model_dump(exclude_unset=True), "id": record_id})
    return record


def _store(record: ModelRecord, warnings: list[str]) -> None:
    """Save a record, merged with an earlier import of the same id from other sources.

    Re-importing the same source replaces it (so a fixed file replaces its old facts);
    a different source merges, keeping disagreements as conflicts (a MOF release file's
    components and licenses are kept whole: see catalog.merge_catalog_records).
    """
    from openpick.catalog.catalog import (
        MOF_SOURCE_PREFIXES,
        has_mof_source,
        load_imported_record,
        merge_catalog_records,
        save_imported,
    )

    old = load_imported_record(record.id)
    if old is not None and not set(old.sources) <= set(record.sources):
        if has_mof_source(old) and has_mof_source(record):
            before = ", ".join(s for s in old.sources if s.startswith(MOF_SOURCE_PREFIXES))
            warnings.append(f"{record.id}: MOF components and licenses now come from this file, "
                            f"replacing those from {before}")
        record = merge_catalog_records(old, record)
    save_imported(record)


def _expand(paths: list[Path]) -> list[tuple[Path, Path | None, str | None]]:
    """(file, its directory if it came from one, error) per input; directories unfold."""
    out: list[tuple[Path, Path | None, str | None]] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            try:
                out += [(f, p, None) for f in _directory_files(p)]
            except OpenpickError as e:
                out.append((p, None, str(e)))
        else:
            out.append((p, None, None))
    return out


def import_paths(
    paths: list[Path] | list[str], *, save: bool = True, record_id: str | None = None
) -> list[ImportResult]:
    """Import every file (directories unfold); one result per file, in order.

    A bad file is reported and skipped; the good ones are still imported. In a directory
    with a model card, the GGUF files in it take the card's id (one repository, one model).
    """
    results: list[ImportResult] = []
    dir_ids: dict[Path, str] = {}
    for path, folder, error in _expand([Path(p) for p in paths]):
        if error:
            results.append(ImportResult(path=str(path), ok=False, format="directory", error=error))
            continue
        warns: list[str] = []
        fmt: str | None = None
        try:
            fmt = detect_format(path)
            rid = record_id or (dir_ids.get(folder) if folder and fmt == "gguf" else None)
            record = parse_path(path, record_id=rid, warnings=warns)
            if folder and fmt == "hf-card":
                dir_ids[folder] = record.id
            if save:
                _store(record, warns)
            results.append(ImportResult(path=str(path), ok=True, format=fmt, ids=[record.id], warnings=warns))
        except OpenpickError as e:
            msg = str(e) if e.path else f"{path}: {e}"
            results.append(ImportResult(path=str(path), ok=False, format=fmt, error=msg, warnings=warns))
        except ValidationError as e:
            msg = f"{path}: {format_validation_error(e)}"
            results.append(ImportResult(path=str(path), ok=False, format=fmt, error=msg, warnings=warns))
    return results
