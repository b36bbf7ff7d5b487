"""sha256 of model files, cached by (path, size, mtime) so a 100 MB file is hashed once."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

from openpick.paths import cache_dir

_lock = threading.Lock()


def _cache_file() -> Path:
    return cache_dir() / "sha256.json"


def _key(path: Path) -> tuple[str, list[int]]:
    st = path.stat()
    return str(path.resolve()), [st.st_size, st.st_mtime_ns]


def hash_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _load() -> dict:
    try:
        return json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def remember(path: Path, sha256: str) -> None:
    """Record a hash computed elsewhere (e.g. while assembling the file)."""
    name, stamp = _key(path)
    with _lock:
        data = _load()
        data[name] = {"stamp": stamp, "sha256": sha256}
        fd, tmp = tempfile.mkstemp(dir=_cache_file().parent, prefix=".sha256-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, _cache_file())


def file_sha256(path: Path) -> str:
    """The file's sha256, from the cache when the file has not changed since."""
    name, stamp = _key(path)
    hit = _load().get(name)
    if hit and hit.get("stamp") == stamp:
        return hit["sha256"]
    digest = hash_file(path)
    remember(path, digest)
    return digest
