"""GGUF file headers → ModelRecord, through the `gguf` package's reader.

Reading a header means walking the whole key/value section, vocabulary included, which
takes seconds on a large file; the summary is cached in `<cache dir>/gguf-headers.json`
keyed by file size + mtime + a hash of the first MiB, so an unchanged file is parsed once.
The file's sha256 is not computed here: hashing gigabytes belongs to the engines that need it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from openpick.catalog.importers import UNKNOWN_LICENSE, hf_id_from_url, make_id, normalize_license
from openpick.catalog.loader import build_record
from openpick.catalog.schema import Artifact, ModelRecord
from openpick.errors import InvalidInput
from openpick.paths import cache_dir

log = logging.getLogger(__name__)

_CACHE_FILE = "gguf-headers.json"
_CACHE_MAX = 500
_HEAD_BYTES = 1 << 20
# Keys copied into the summary, by the type they must have; a value of another type (a
# header can claim anything) is left out.
_TEXT_KEYS = (
    "general.architecture", "general.name", "general.organization", "general.author",
    "general.basename", "general.size_label", "general.finetune", "general.license",
    "general.license.name", "general.license.link", "general.url", "general.repo_url",
    "general.source.url", "general.source.repo_url", "tokenizer.chat_template",
)
_INT_KEYS = ("general.file_type", "general.quantization_version", "general.parameter_count",
             "general.base_model.count")
_ARCH_INT_KEYS = ("context_length", "attention.head_count", "attention.head_count_kv",
                  "expert_count", "expert_used_count", "attention.sliding_window")
_LIST_KEYS = ("general.tags", "general.languages")


# ---------------------------------------------------------------- reading


class _PastEnd(ValueError):
    def __init__(self, end: int):
        super().__init__(f"read past the end of the file (to byte {end})")
        self.end = end


def _open_reader(path: Path):
    """gguf.GGUFReader that fails on a read past the end of the file. The stock reader
    returns a short array there and carries on, so an array claiming 2**62 items loops for
    (nearly) ever."""
    try:
        from gguf import GGUFReader
    except ImportError as e:  # pragma: no cover - gguf is a core dependency
        from openpick.errors import missing_extra

        raise missing_extra("gguf", "gguf") from e

    class BoundedReader(GGUFReader):
        def _get(self, offset, dtype, count=1, override_order=None):
            arr = super()._get(offset, dtype, count, override_order)
            if len(arr) < int(count):
                raise _PastEnd(int(offset) + int(count) * arr.itemsize)
            return arr

    import numpy as np

    with np.errstate(over="ignore"):  # lying offsets overflow; the size check below catches them
        return BoundedReader(str(path))


def _value(fields: dict, key: str, kind: type, path: Path) -> Any:
    """The value of `key` if the header has it with type `kind` (a list: its text items)."""
    if key not in fields:
        return None
    try:
        value = fields[key].contents()
    except (UnicodeDecodeError, IndexError, ValueError) as e:
        raise InvalidInput(f"GGUF key {key}: unreadable value ({type(e).__name__})",
                           path=str(path)) from e
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if kind is list:
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None
    if not isinstance(value, kind) or kind is int and isinstance(value, bool):
        log.debug("%s: GGUF key %s is a %s, not a %s; ignored", path, key,
                  type(value).__name__, kind.__name__)
        return None
    return value


def _summary(reader, path: Path) -> dict[str, Any]:
    fields = reader.fields
    wanted = ([(k, str) for k in _TEXT_KEYS] + [(k, int) for k in _INT_KEYS]
              + [(k, list) for k in _LIST_KEYS])
    out = {k: v for k, kind in wanted if (v := _value(fields, k, kind, path)) is not None}
    if arch := out.get("general.architecture"):
        for suffix in _ARCH_INT_KEYS:
            if (v := _value(fields, f"{arch}.{suffix}", int, path)) is not None:
                out[suffix] = v
    bases = []
    # A lying count cannot make more base models than the header has keys.
    for i in range(max(0, min(out.get("general.base_model.count") or 0, len(fields)))):
        parts = ((p, _value(fields, f"general.base_model.{i}.{p}", str, path))
                 for p in ("name", "organization", "repo_url", "url"))
        bases.append({p: v for p, v in parts if v is not None})
    out["base_models"] = bases
    return out


def _read_header(path: Path) -> dict[str, Any]:
    """Parse the header with gguf.GGUFReader into a small JSON-able summary."""
    size = path.stat().st_size
    try:
        reader = _open_reader(path)
    except _PastEnd as e:
        raise InvalidInput(f"truncated GGUF file: reading it needs {e.end} bytes, file has {size}",
                           path=str(path)) from e
    except Exception as e:  # the reader raises ValueError, IndexError, struct errors...
        with path.open("rb") as f:
            magic = f.read(4)
        if len(magic) < 4 and b"GGUF".startswith(magic):
            raise InvalidInput(f"truncated: {size} bytes is too short for a GGUF header", path=str(path)) from e
        if magic != b"GGUF":
            raise InvalidInput(f"not a GGUF file (magic {magic!r}, expected b'GGUF')", path=str(path)) from e
        why = (str(e).splitlines() or [""])[0][:200]
        raise InvalidInput(f"truncated or corrupt GGUF header ({type(e).__name__}: {why})",
                           path=str(path)) from e
    out = _summary(reader, path)
    end = max((t.data_offset + t.n_bytes for t in reader.tensors), default=reader.data_offset)
    if end > size:
        raise InvalidInput(f"truncated GGUF file: tensor data needs {end} bytes, file has {size}",
                           path=str(path))
    out["tensor_count"] = len(reader.tensors)
    out["tensor_parameters"] = int(sum(int(t.n_elements) for t in reader.tensors))
    return out


def _cache_key(path: Path) -> str:
    st = path.stat()
    h = hashlib.sha256()
    with path.open("rb") as f:
        h.update(f.read(_HEAD_BYTES))
    return f"{st.st_size}:{st.st_mtime_ns}:{h.hexdigest()}"


def _load_cache(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # a missing or damaged cache is just a cold cache


def read_gguf_header(path: Path) -> dict[str, Any]:
    """The header summary of a GGUF file, from the cache when the file is unchanged."""
    from openpick.catalog.catalog import write_atomic

    path = Path(path)
    try:
        key = _cache_key(path)
    except OSError as e:
        raise InvalidInput(f"cannot read: {e.strerror}", path=str(path)) from e
    if path.stat().st_size == 0:
        raise InvalidInput("empty file, not a GGUF model", path=str(path))
    cache_file = cache_dir() / _CACHE_FILE
    cache = _load_cache(cache_file)
    if key in cache:
        return cache[key]
    summary = _read_header(path)
    cache[key] = summary
    while len(cache) > _CACHE_MAX:  # dicts keep insertion order: drop the oldest
        cache.pop(next(iter(cache)))
    try:
        write_atomic(cache_file, json.dumps(cache))
    except OSError as e:  # a read-only cache dir must not stop the import
        log.warning("cannot write GGUF header cache %s: %s", cache_file, e)
    return summary


# ---------------------------------------------------------------- record


def quantization_name(file_type: int | None) -> str | None:
    """'Q4_K_M' for general.file_type 15, etc."""
    if file_type is None:
        return None
    try:
        from gguf import LlamaFileType

        name = LlamaFileType(int(file_type)).name
    except (ImportError, ValueError):
        return f"type-{file_type}"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def _record_id(h: dict[str, Any], path: Path) -> str:
    for key in ("general.source.url", "general.source.repo_url"):
        found = hf_id_from_url(h.get(key))
        if found:
            return found
    org = h.get("general.organization") or h.get("general.author")
    parts = [h.get(k) for k in ("general.basename", "general.size_label", "general.finetune")]
    name = "-".join(str(p) for p in parts if p) or h.get("general.name") or path.stem
    return make_id(str(org) if org else "local", str(name))


def _base_models(h: dict[str, Any]) -> list[str]:
    out = []
    for base in h.get("base_models", []):
        found = hf_id_from_url(base.get("repo_url")) or hf_id_from_url(base.get("url"))
        if not found and base.get("organization") and base.get("name"):
            found = make_id(base["organization"], base["name"])
        if found and found not in out:
            out.append(found)
    return out


def _features(h: dict[str, Any]) -> list[str]:
    feats = []
    heads, kv = h.get("attention.head_count"), h.get("attention.head_count_kv")
    if isinstance(heads, int) and isinstance(kv, int) and 0 < kv < heads:
        feats.append("mqa" if kv == 1 else "gqa")
    if (h.get("expert_count") or 0) > 1:
        feats.append("moe")
    if h.get("attention.sliding_window"):
        feats.append("sliding-window")
    return feats


def header_to_record(h: dict[str, Any], path: Path, *, record_id: str | None = None,
                     warnings: list[str] | None = None) -> ModelRecord:
    warnings = warnings if warnings is not None else []
    rid = record_id or _record_id(h, path)
    raw_license = h.get("general.license")
    license_ = normalize_license(raw_license)
    if str(raw_license).lower() == "other" and h.get("general.license.name"):
        license_ = normalize_license(h["general.license.name"])
    if license_ == UNKNOWN_LICENSE:
        warnings.append("the GGUF header states no license")
    bases = [b for b in _base_models(h) if b != rid]
    from openpick.catalog.importers.hf_card import normalize_languages

    languages, domains = normalize_languages(h.get("general.languages"), warnings)
    params = h.get("general.parameter_count") or h.get("tensor_parameters") or None
    links = {}
    if hf_id_from_url(h.get("general.source.url")) == rid or hf_id_from_url(h.get("general.source.repo_url")) == rid:
        links["huggingface"] = f"https://huggingface.co/{rid}"
    if h.get("general.license.link"):
        links["license"] = str(h["general.license.link"])
    data = {
        "id": rid,
        "name": h.get("general.name") or rid.partition("/")[2],
        "developer": h.get("general.organization") or h.get("general.author") or rid.split("/")[0],
        "base_model": bases,
        "base_model_relation": "finetune" if bases else None,
        "license": license_,
        "license_original": None if raw_license is None else str(raw_license),
        "parameters": int(params) if params else None,
        "architecture": h.get("general.architecture"),
        "context_length": h.get("context_length"),
        "features": _features(h),
        "tasks": ["chat"] if h.get("tokenizer.chat_template") else [],
        "languages": languages,
        "domains": domains,
        "links": links,
        "tags": list(h.get("general.tags") or []),
        "artifacts": [Artifact(kind="gguf", path=str(path.resolve()),
                               quantization=quantization_name(h.get("general.file_type")),
                               size_bytes=path.stat().st_size)],
        "sources": [f"gguf:{path.name}"],
    }
    for w in warnings:
        log.debug("%s: %s", path, w)
    return build_record(data, path)


def parse_gguf(path: Path, *, record_id: str | None = None, warnings: list[str] | None = None) -> ModelRecord:
    """Read a GGUF file's header (cached) into a record with a gguf artifact."""
    path = Path(path)
    if not os.access(path, os.R_OK):
        raise InvalidInput("cannot read file", path=str(path))
    return header_to_record(read_gguf_header(path), path, record_id=record_id, warnings=warnings)
