"""The catalog as users see it: bundled records merged with the ones they imported.

Imported records live as YAML files under `<data dir>/catalog/imported/`, one per id,
written atomically, so an interrupted import never leaves a half-written record.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path

import yaml

from openpick.catalog.loader import load_bundled, load_record_file
from openpick.catalog.schema import ModelRecord
from openpick.errors import NotFound
from openpick.paths import data_dir


def imported_dir() -> Path:
    path = data_dir() / "catalog" / "imported"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file_for(record_id: str) -> Path:
    return imported_dir() / (record_id.replace("/", "__") + ".yaml")


def record_to_yaml(record: ModelRecord) -> str:
    data = record.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data = {"id": record.id, "name": record.name, "developer": record.developer,
            "license": record.license, **data}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file + rename so readers never see a partial file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_imported(record: ModelRecord) -> Path:
    path = _file_for(record.id)
    write_atomic(path, record_to_yaml(record))
    return path


def load_imported() -> list[ModelRecord]:
    return [load_record_file(p) for p in sorted(imported_dir().glob("*.yaml"))]


def load_imported_record(record_id: str) -> ModelRecord | None:
    """The imported record stored for `record_id`, or None."""
    path = _file_for(record_id)
    return load_record_file(path) if path.exists() else None


def imported_files() -> list[Path]:
    return sorted(imported_dir().glob("*.yaml"))


def source_files() -> list[Path]:
    """Every file the catalog is built from (the index rebuilds when any changes)."""
    from openpick.catalog.loader import bundled_dir

    return sorted(bundled_dir().glob("*.yaml")) + sorted(imported_dir().glob("*.yaml"))


# Sources that are Model Openness Framework release files: "mof:<file>" from the importer,
# "mot:models/<file>" in bundled records made from the Model Openness Tool's files.
MOF_SOURCE_PREFIXES = ("mof:", "mot:")


def has_mof_source(record: ModelRecord) -> bool:
    return any(s.startswith(MOF_SOURCE_PREFIXES) for s in record.sources)


def merge_catalog_records(base: ModelRecord, incoming: ModelRecord) -> ModelRecord:
    """`merge_records`, except for the MOF facts (which components are released, under
    which licenses, and the release-level licenses): when either record comes from a MOF
    release file, those come whole from it (from `incoming` when both do).

    A MOF class and its progress are facts about one release file: the Model Openness
    Tool computes them from that file alone. Filling a file's gaps from a model card or
    another release file gave classes no source states (Mistral-7B-v0.1's file gives
    Class III 33 %; merged with the bundled card it read 50 %). Disagreements still show
    as conflicts, and components the MOF side lists keep a link the other side knows.
    """
    from openpick.catalog.merge import merge_records

    merged = merge_records(base, incoming)
    if has_mof_source(incoming):
        mof, other = incoming, base
    elif has_mof_source(base):
        mof, other = base, incoming
    else:
        return merged
    components = {}
    for name, comp in mof.components.items():
        known = other.components.get(name)
        if comp.link is None and known is not None and known.link:
            comp = comp.model_copy(update={"link": known.link})
        components[name] = comp
    return ModelRecord.model_validate(
        {**merged.model_dump(exclude_unset=True), "components": components,
         "release_licenses": mof.release_licenses})


def all_records() -> list[ModelRecord]:
    """Bundled records, with imported ones merged in by id (conflicts kept, see merge;
    MOF facts from one release file, see merge_catalog_records)."""
    by_id = {r.id: r for r in load_bundled()}
    for rec in load_imported():
        by_id[rec.id] = merge_catalog_records(by_id[rec.id], rec) if rec.id in by_id else rec
    return sorted(by_id.values(), key=lambda r: r.id.lower())


def suggest(query: str, choices: list[str], n: int = 3) -> list[str]:
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(query.lower(), list(lowered), n=n, cutoff=0.5)
    # Also match on the name part alone: "Mistral-7B-v0.1" → "mistralai/Mistral-7B-v0.1".
    names = {c.split("/")[-1].lower(): c for c in choices}
    hits += difflib.get_close_matches(query.lower().split("/")[-1], list(names), n=n, cutoff=0.6)
    out: list[str] = []
    for h in hits:
        full = lowered.get(h) or names.get(h)
        if full and full not in out:
            out.append(full)
    return out[:n]


def get_record(record_id: str, records: list[ModelRecord] | None = None) -> ModelRecord:
    """A record by id (case-insensitive); NotFound with 'did you mean' otherwise."""
    records = records if records is not None else all_records()
    for r in records:
        if r.id == record_id or r.id.lower() == record_id.lower():
            return r
    ids = [r.id for r in records]
    hint = suggest(record_id, ids)
    extra = f"; did you mean {', '.join(hint)}?" if hint else "; try `openpick models search`"
    raise NotFound(f"unknown model id {record_id!r}{extra}")
