"""Comparison runs, one row per case result, and the response cache.

A case result is unique per (run, model, case, variant, repeat): a resumed run can only
fill in what is missing or replace an errored row, never add a duplicate. The full
CaseResult lives in `data` (JSON); the columns beside it are what lists and diffs filter on.
"""

SQL = """
CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    key          TEXT NOT NULL,
    suite        TEXT NOT NULL,
    suite_path   TEXT,
    suite_hash   TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
    planned      INTEGER NOT NULL DEFAULT 0,
    info         TEXT NOT NULL,
    owner        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX runs_by_key ON runs (key, status);
CREATE INDEX runs_by_created ON runs (created_at);
CREATE TABLE case_results (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    variant     TEXT NOT NULL,
    repeat      INTEGER NOT NULL,
    passed      INTEGER,
    score       REAL,
    error       TEXT,
    cached      INTEGER NOT NULL DEFAULT 0,
    data        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (run_id, model, case_id, variant, repeat)
);
CREATE TABLE response_cache (
    key         TEXT PRIMARY KEY,
    model       TEXT NOT NULL,
    result      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
"""
