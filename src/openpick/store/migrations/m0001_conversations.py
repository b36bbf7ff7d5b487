"""Chat conversations; each assistant turn records which model wrote it."""

SQL = """
CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    title       TEXT,
    saved       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content          TEXT NOT NULL,
    model            TEXT,
    engine           TEXT,
    model_sha256     TEXT,
    model_url        TEXT,
    usage_json       TEXT,
    timings_json     TEXT,
    finish_reason    TEXT,
    created_at       TEXT NOT NULL,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE INDEX conversations_by_update ON conversations (updated_at);
"""
