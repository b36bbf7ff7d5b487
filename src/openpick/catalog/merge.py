"""Merge two records of the same model from different sources.

Lists are unioned, missing fields are filled, dict fields are merged key by key. When both
records give a different non-empty value for a scalar field, the base value stays in the
field and a Conflict keeps both values, each under the source(s) that gave it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from openpick.catalog.schema import Conflict, ModelRecord

# Values that mean "this source does not know" and never conflict with a real value.
_EMPTY = (None, "", "unknown", [], {})
_LIST_FIELDS = ("base_model", "tasks", "domains", "languages", "features", "evaluations",
                "prices", "artifacts", "tags", "sources")
_DICT_FIELDS = ("links", "components", "osai")
_SKIP = {"id", "conflicts", "sources", "release_licenses", "license_original", *_LIST_FIELDS, *_DICT_FIELDS}


def _is_empty(value: object) -> bool:
    return not isinstance(value, BaseModel) and any(value == e for e in _EMPTY)


def _same(a: object, b: object) -> bool:
    """Equal, or equal text once case, spaces, dashes and underscores are ignored."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        squash = lambda s: re.sub(r"[\s_\-]+", "", s).lower()  # noqa: E731
        return squash(a) == squash(b)
    return False


def _label(sources: list[str]) -> str:
    return ", ".join(sources) if sources else "unknown source"


def _derived_from_id(record: ModelRecord, field: str, value: object) -> bool:
    """Importers fill name/developer from the id when the source says nothing better;
    such a guess is not a disagreement worth reporting."""
    org, name = record.id.split("/")
    return (field == "developer" and value == org) or (field == "name" and value == name)


class _Merger:
    def __init__(self, base: ModelRecord, incoming: ModelRecord):
        self.base_src = _label(base.sources)
        self.inc_src = _label(incoming.sources)
        self.conflicts: list[Conflict] = [c.model_copy(deep=True) for c in base.conflicts]
        for c in incoming.conflicts:
            self._add_conflict(c.field, c.values)

    def _add_conflict(self, field: str, values: dict[str, str]) -> None:
        for c in self.conflicts:
            if c.field == field:
                for src, val in values.items():
                    c.values.setdefault(src, val)
                return
        self.conflicts.append(Conflict(field=field, values=dict(values)))

    def scalar(self, field: str, a: object, b: object,
               records: tuple[ModelRecord, ModelRecord] | None = None) -> object:
        if _is_empty(b):
            return a
        if _is_empty(a):
            return b
        if records is not None:
            base, incoming = records
            if _derived_from_id(incoming, field, b):
                return a
            if _derived_from_id(base, field, a):
                return b  # the base only guessed it from the id; a real value wins
        if _same(a, b):
            return a
        existing = next((c for c in self.conflicts if c.field == field), None)
        if existing is not None:
            # The kept value is already there under the source that gave it.
            existing.values.setdefault(self.inc_src, str(b))
        else:
            self._add_conflict(field, {self.base_src: str(a), self.inc_src: str(b)})
        return a

    def model(self, prefix: str, a: BaseModel | None, b: BaseModel | None) -> BaseModel | None:
        """Merge two small models (Component, ReleaseLicenses) field by field."""
        if a is None or b is None:
            return a if b is None else b
        data = a.model_dump()
        for name in type(a).model_fields:
            data[name] = self.scalar(f"{prefix}.{name}", getattr(a, name), getattr(b, name))
        return type(a).model_validate(data)


def _union(a: list, b: list) -> list:
    out = list(a)
    for item in b:
        if item not in out:
            out.append(item)
    return out


def merge_records(base: ModelRecord, incoming: ModelRecord) -> ModelRecord:
    """`base` with `incoming` merged in (same id); neither input is modified."""
    m = _Merger(base, incoming)
    data: dict[str, object] = {"id": base.id}
    for field in _LIST_FIELDS:
        data[field] = _union(getattr(base, field), getattr(incoming, field))
    for field in _DICT_FIELDS:
        a, b = getattr(base, field), getattr(incoming, field)
        merged = dict(a)
        for key, value in b.items():
            if key not in merged:
                merged[key] = value
            elif isinstance(value, BaseModel):
                merged[key] = m.model(f"{field}.{key}", merged[key], value)
            else:
                merged[key] = m.scalar(f"{field}.{key}", merged[key], value)
        data[field] = merged
    data["release_licenses"] = m.model("release_licenses", base.release_licenses, incoming.release_licenses)
    for field in ModelRecord.model_fields:
        if field in _SKIP:
            continue
        b_value = getattr(incoming, field)
        if field not in incoming.model_fields_set and field in base.model_fields_set:
            b_value = None  # a default the incoming source never stated
        data[field] = m.scalar(field, getattr(base, field), b_value, (base, incoming))
    # The license as written is not a fact of its own: keep the one that goes with the
    # kept license (spellings differ between sources without disagreeing).
    if base.license != "unknown":
        same = incoming.license == base.license
        data["license_original"] = base.license_original or (incoming.license_original if same else None)
    else:
        data["license_original"] = incoming.license_original or base.license_original
    data["conflicts"] = m.conflicts
    return ModelRecord.model_validate(data)
