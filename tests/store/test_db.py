import sqlite3
import threading

from openpick.store import db


def test_wal_and_migrations_applied_once(tmp_path):
    path = tmp_path / "s.db"
    conn = db.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [n for n, _, _ in db.migrations()] and 1 in versions
    assert db.migrate(conn) == []  # idempotent
    conn.close()
    assert db.migrate(db.connect(path)) == []


def test_default_path_is_under_openpick_home(openpick_home):
    conn = db.connect()
    assert db.db_path().is_relative_to(openpick_home) and db.db_path().exists()
    conn.close()


def test_concurrent_first_opens_migrate_once(tmp_path):
    path, errors = tmp_path / "race.db", []

    def opener():
        try:
            db.connect(path).close()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert rows == len(db.migrations())


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    conn = db.connect(tmp_path / "m.db")
    bad = [(9999, "broken", "CREATE TABLE half (x INT);\nTHIS IS NOT SQL;")]
    monkeypatch.setattr(db, "migrations", lambda: bad)
    try:
        db.migrate(conn)
    except sqlite3.OperationalError:
        pass
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None
    assert conn.execute("SELECT 1 FROM schema_migrations WHERE version = 9999").fetchone() is None


def test_statement_splitter_keeps_triggers():
    sql = ("CREATE TABLE a (x);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
           "  UPDATE a SET x = 1;\nEND;\nCREATE TABLE b (y);\n")
    assert len(list(db.statements(sql))) == 3
