"""Chat conversations in the store. Every assistant turn records the model (name, engine,
file hash or server) that wrote it; rows are written as each turn happens. The session that
talks to models over them is `openpick.chat.ChatSession`."""

from __future__ import annotations

import sqlite3
import uuid

from pydantic import BaseModel

from openpick.engines.base import Result
from openpick.errors import NotFound
from openpick.store.db import connect, now, transaction


class StoredMessage(BaseModel):
    seq: int
    role: str
    content: str
    model: str | None = None
    engine: str | None = None
    finish_reason: str | None = None
    created_at: str


class Conversation(BaseModel):
    id: str
    title: str | None
    saved: bool
    created_at: str
    updated_at: str
    messages: list[StoredMessage] = []


class ConversationStore:
    def __init__(self, conn: sqlite3.Connection | None = None):
        self.conn = conn or connect()

    def create(self, title: str | None = None) -> str:
        cid = uuid.uuid4().hex[:12]
        t = now()
        self.conn.execute("INSERT INTO conversations (id, title, created_at, updated_at) "
                          "VALUES (?, ?, ?, ?)", (cid, title, t, t))
        return cid

    def add(self, cid: str, role: str, content: str, result: Result | None = None) -> int:
        with transaction(self.conn):
            seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM messages "
                                    "WHERE conversation_id = ?", (cid,)).fetchone()[0]
            m = result.model if result else None
            self.conn.execute(
                "INSERT INTO messages (conversation_id, seq, role, content, model, engine, "
                "model_sha256, model_url, usage_json, timings_json, finish_reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, seq, role, content, m and m.name, m and m.engine, m and m.sha256,
                 m and m.url, result and result.usage.model_dump_json(),
                 result and result.timings.model_dump_json(), result and result.finish_reason,
                 now()))
            self.conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now(), cid))
        return seq

    def add_turn(self, cid: str, question: str, answer: Result) -> None:
        """A user turn and the model's answer, written once the model has answered, so a
        failed turn leaves no orphan question."""
        self.add(cid, "user", question)
        self.add(cid, "assistant", answer.text, answer)

    def save(self, cid: str, title: str | None) -> None:
        self.conn.execute("UPDATE conversations SET saved = 1, title = COALESCE(?, title), "
                          "updated_at = ? WHERE id = ?", (title, now(), cid))

    def get(self, cid: str) -> Conversation:
        row = self.conn.execute("SELECT * FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise NotFound(f"no conversation {cid!r}; list them with `openpick chat --list`")
        msgs = self.conn.execute("SELECT seq, role, content, model, engine, finish_reason, "
                                 "created_at FROM messages WHERE conversation_id = ? ORDER BY seq",
                                 (cid,)).fetchall()
        return Conversation(**dict(row), messages=[StoredMessage(**dict(m)) for m in msgs])

    def list(self, limit: int = 50) -> list[Conversation]:
        rows = self.conn.execute("SELECT * FROM conversations ORDER BY updated_at DESC LIMIT ?",
                                 (limit,)).fetchall()
        return [Conversation(**dict(r)) for r in rows]
