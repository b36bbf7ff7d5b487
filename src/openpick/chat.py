"""`ChatSession`: a conversation that can change model mid-way, above the store (which keeps
it) and the engines (which answer). The history carries over on a switch and every
assistant turn records the model (name, engine, file hash or server) that wrote it."""

from __future__ import annotations

from collections.abc import Callable

from openpick.engines.base import Delta, Message, Request, Result, Sampling
from openpick.engines.pool import ModelPool
from openpick.engines.spec import parse_spec
from openpick.store.conversations import ConversationStore

DEFAULT_SAMPLING = Sampling(max_tokens=512, temperature=0.0)


class ChatSession:
    """A conversation with a current model. `send` streams one turn and stores both sides."""

    def __init__(self, model: str, *, system: str | None = None, options: dict | None = None,
                 pool: ModelPool | None = None, store: ConversationStore | None = None,
                 sampling: Sampling = DEFAULT_SAMPLING):
        self.pool = pool or ModelPool()
        self.store = store or ConversationStore()
        self.options = options or {}
        self.sampling = sampling
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
        request = Request(messages=[*self.messages(), user], **self.sampling.params())
        with self.pool.use(self.model, self.options) as engine:
            result = engine.complete(request, on_delta=on_delta)
        self.store.add_turn(self.id, text, result)
        self.history += [user, Message(role="assistant", content=result.text)]
        return result

    def close(self) -> None:
        self.pool.close()
