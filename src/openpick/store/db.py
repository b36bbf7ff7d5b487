"""The store: one SQLite file in the user data dir, WAL mode, numbered migrations.

Migrations are modules `openpick/store/migrations/mNNNN_name.py`, each with an `SQL`
string; a new table is a new file with the next number, so parallel work never edits the
same list. Each migration runs in one IMMEDIATE transaction together with its row in
`schema_migrations`: applied exactly once, even when two processes open the store at once.
Connections are in autocommit mode so a result row is on disk as soon as it is inserted.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from openpick.errors import InvalidInput
from openpick.paths import data_dir

MIGRATION_RE = re.compile(r"^m(\d{4})_(\w+)$")


def db_path() -> Path:
    return data_dir() / "openpick.db"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every migration module, in order."""
    from openpick.store import migrations as pkg

    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        m = MIGRATION_RE.match(info.name)
        if m:
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
            found.append((int(m.group(1)), m.group(2), module.SQL))
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two store migrations share a number: {sorted(numbers)}")
    return sorted(found)


def statements(sql: str) -> Iterator[str]:
    """Split a script into statements (trigger bodies included) without committing."""
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf
            buf = ""
    if buf.strip():
        yield buf


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations; returns the numbers applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                 "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    applied_now = []
    for number, name, sql in migrations():
        with transaction(conn):
            # Checked inside the write lock: another process may have just applied it.
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?",
                            (number,)).fetchone():
                continue
            for stmt in statements(sql):
                conn.execute(stmt)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (number, name, now()))
            applied_now.append(number)
    return applied_now


def _set_wal(conn: sqlite3.Connection, tries: int = 100) -> None:
    # Switching a new file to WAL takes an exclusive lock and SQLite answers "database is
    # locked" at once, without its busy timeout, while another connection does the same:
    # retry briefly (first opens racing from several threads or processes).
    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == tries - 1:
                raise
            time.sleep(0.05)


def connect(path: Path | str | None = None) -> sqlite3.Connection:
    """Open (creating and migrating) the store. Safe from several threads with care:
    give each thread its own connection."""
    path = Path(path) if path else db_path()
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        _set_wal(conn)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn)
    except sqlite3.DatabaseError as e:
        raise InvalidInput(f"cannot open the store: {e}", path=str(path)) from e
    return conn
