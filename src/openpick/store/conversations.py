"""Chat conversations in the store, and `ChatSession`: a conversation that can change model
mid-way. The history carries over on a switch and every assistant turn records the model
(name, engine, file hash or server) that wrote it. Rows are written as each turn happens."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable

from pydantic import BaseModel

from openpick.engines.base import Delta, Message, Request, Result
from openpick.engines.pool import ModelPool
from openpick.engines.spec import parse_spec
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


def _usage_json(text: str | None) -> dict | None:
    return json.loads(text) if text else None


class ChatSession:
    """A conversation with a current model. `send` streams one turn and stores both sides."""

    def __init__(self, model: str, *, system: str | None = None, options: dict | None = None,
                 pool: ModelPool | None = None, store: ConversationStore | None = None,
                 max_tokens: int = 512, temperature: float = 0.0, seed: int | None = None):
        self.pool = pool or ModelPool()
        self.store = store or ConversationStore()
        self.options = options or {}
        self.params = dict(max_tokens=max_tokens, temperature=temperature, seed=seed)
        parse_spec(model)  # unknown names fail before the conversation starts
        self.model = model
        self.system: str | None = None
        self.history: list[Message] = []
        self.id = self.store.create()
        if system:
            self.set_system(system)

    def switch(self, model: str) -> None:
        """Change the model; the history carries over. Unknown names raise and keep the old."""
        parse_spec(model)
        self.model = model

    def set_system(self, text: str) -> None:
        self.system = text or None
        self.store.add(self.id, "system", text)

    def reset(self) -> None:
        """Start a new conversation (the old one stays in the store)."""
        self.history = []
        self.id = self.store.create()
        if self.system:
            self.store.add(self.id, "system", self.system)

    def save(self, title: str | None = None) -> str:
        self.store.save(self.id, title)
        return self.id

    def messages(self) -> list[Message]:
        sys_msg = [Message(role="system", content=self.system)] if self.system else []
        return sys_msg + self.history

    def send(self, text: str, on_delta: Callable[[Delta], None] | None = None) -> Result:
        user = Message(role="user", content=text)
        request = Request(messages=[*self.messages(), user], **self.params)
        with self.pool.use(self.model, self.options) as engine:
            result = engine.complete(request, on_delta=on_delta)
        # Stored only once the model answered, so a failed turn leaves no orphan question.
        self.store.add(self.id, "user", text)
        self.store.add(self.id, "assistant", result.text, result)
        self.history += [user, Message(role="assistant", content=result.text)]
        return result

    def close(self) -> None:
        self.pool.close()
