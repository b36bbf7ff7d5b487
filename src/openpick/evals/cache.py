"""The response cache: the same model, options and request give the stored answer.

The key is a sha256 over the model's identity (file sha256, or server URL + model id; the
display name is left out so renaming a model keeps its answers), the engine options and
the whole request (messages or prompt, max_tokens, temperature, top_p, seed, stop).
Only successful answers are stored; errors never are. The cache lives in the store's
SQLite file (table `response_cache`), so it survives restarts and travels with the runs.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from openpick.engines.base import Request, Result
from openpick.store.db import now

# Identity fields that say which weights answered; `name` and `record_id` are labels.
_IDENTITY_FIELDS = ("engine", "sha256", "url", "model_id")


def identity_key(identity: dict[str, Any]) -> dict[str, Any]:
    """The part of a model identity that decides its answers."""
    out = {k: identity.get(k) for k in _IDENTITY_FIELDS if identity.get(k) is not None}
    if "sha256" not in out and "url" not in out:
        # Nothing content-addressed (e.g. a fake or plugin engine): fall back to the target.
        out["target"] = identity.get("path") or identity.get("target") or identity.get("name")
    return out


def cache_key(identity: dict[str, Any], options: dict[str, Any], request: Request) -> str:
    blob = json.dumps({"model": identity_key(identity), "options": options,
                       "request": request.model_dump(mode="json")},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


PUT_SQL = ("INSERT OR REPLACE INTO response_cache (key, model, result, created_at) "
           "VALUES (?, ?, ?, ?)")


class ResponseCache:
    """Reads go straight to SQLite; writes are handed to the caller's transaction
    (`put_statement`) so a result and its cache row commit together."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def get(self, key: str) -> Result | None:
        row = self.conn.execute("SELECT result FROM response_cache WHERE key = ?",
                                (key,)).fetchone()
        return None if row is None else Result.model_validate_json(row[0])

    def get_many(self, keys: list[str]) -> dict[str, Result]:
        out: dict[str, Result] = {}
        for i in range(0, len(keys), 500):  # stay under SQLite's variable limit
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for k, blob in self.conn.execute(
                    f"SELECT key, result FROM response_cache WHERE key IN ({marks})", chunk):
                out[k] = Result.model_validate_json(blob)
        return out

    @staticmethod
    def put_statement(key: str, model: str, result: Result) -> tuple[str, tuple]:
        if result.finish_reason == "error":
            raise ValueError("errors are never cached")
        return PUT_SQL, (key, model, result.model_dump_json(), now())

    def put(self, key: str, model: str, result: Result) -> None:
        sql, params = self.put_statement(key, model, result)
        self.conn.execute(sql, params)

    def clear(self) -> int:
        return self.conn.execute("DELETE FROM response_cache").rowcount
