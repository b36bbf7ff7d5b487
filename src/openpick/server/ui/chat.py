"""The chat page: conversations in the store, a model picker, switching keeps the history;
regenerate and edit-and-resend replace the turns from a user turn on; each answer keeps its
tokens and timings. The page starts with `openpick ask`'s defaults and shows them."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import Field, field_validator

from openpick.engines.base import Message, Result
from openpick.engines.base import Request as GenRequest
from openpick.errors import InvalidInput, NotFound, OpenpickError
from openpick.server.ui.render import error_page, page
from openpick.server.ui.state import (MAX_MESSAGE_CHARS, GenSettings, ask_defaults,
                                      check_model, max_tokens_cap, offered_models, run, ui_error)
from openpick.server.ui.stream import Generation
from openpick.store.conversations import ConversationStore
from openpick.store.db import connect, transaction

router = APIRouter()


@router.get("/ui/chat", response_class=HTMLResponse)
@router.get("/ui/chat/{cid}", response_class=HTMLResponse)
def chat_page(request: Request, cid: str | None = None, model: str | None = None):
    store = ConversationStore()
    convo = None
    if cid:
        try:
            convo = store.get(cid)
        except NotFound as e:
            return error_page(request, 404, str(e))
    models = offered_models(request)
    names = [m["name"] for m in models]
    current = model if model in names else None
    defaults = ask_defaults()
    system = defaults["system"]
    stats: dict[int, dict] = {}
    if convo:
        answered = [m.model for m in convo.messages if m.role == "assistant" and m.model]
        if current is None and answered and answered[-1] in names:
            current = answered[-1]
        systems = [m.content for m in convo.messages if m.role == "system"]
        system = systems[-1] if systems else ""
        stats = _stats(store, convo.id)
    current = current or (names[0] if names else None)
    return page(request, "chat.html", nav="chat", convo=convo, conversations=store.list(100),
                models=models, current=current, system=system, cap=max_tokens_cap(request),
                defaults=defaults, stats=stats)


def _stats(store: ConversationStore, cid: str) -> dict[int, dict]:
    """seq → the stored usage and timings of each answer (kept with the conversation, so
    the token/latency line survives a reload). ConversationStore.get leaves them out."""
    rows = store.conn.execute("SELECT seq, usage_json, timings_json, finish_reason FROM messages "
                              "WHERE conversation_id = ? AND role = 'assistant'", (cid,))
    return {r["seq"]: {"usage": json.loads(r["usage_json"] or "{}"),
                       "timings": json.loads(r["timings_json"] or "{}"),
                       "finish_reason": r["finish_reason"]} for r in rows}


def _replace(store: ConversationStore, cid: str, first: int, last: int) -> None:
    """Drop turns first..last (regenerate, edit and resend), once the new answer exists."""
    with transaction(store.conn):
        store.conn.execute("DELETE FROM messages WHERE conversation_id = ? AND seq BETWEEN ? AND ?",
                           (cid, first, last))


class ChatIn(GenSettings):
    conversation_id: str | None = Field(None, max_length=64)
    model: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    system: str | None = Field(None, max_length=MAX_MESSAGE_CHARS)
    # Regenerate / edit and resend: the conversation's user turn (0 = its first) this message
    # replaces; that turn and everything after it go once the new answer is kept.
    replace_turn: int | None = Field(None, ge=0)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the message is empty (only spaces or line breaks)")
        return v


def _history(convo, before: int | None = None) -> tuple[str | None, list[Message]]:
    """The latest system prompt and the user/assistant turns, in order (those before seq
    `before` only, when given)."""
    system, turns = None, []
    for m in convo.messages:
        if before is not None and m.seq >= before:
            break
        if m.role == "system":
            system = m.content or None
        else:
            turns.append(Message(role=m.role, content=m.content))
    return system, turns


def _replaced(convo, turn: int | None) -> tuple[int, int] | None:
    """(first, last) seq of what a regenerate or edit replaces: user turn `turn` on."""
    if turn is None:
        return None
    users = [m.seq for m in convo.messages if m.role == "user"]
    if turn >= len(users):
        raise InvalidInput(f"replace_turn: this conversation has {len(users)} user turns, "
                           f"got {turn}")
    return users[turn], convo.messages[-1].seq


@router.post("/ui/api/chat/stream")
def chat_stream(request: Request, body: ChatIn):
    try:
        check_model(request, body.model)
        sampling = body.sampling(max_tokens_cap(request))
        store = ConversationStore()
        if body.conversation_id:
            convo = store.get(body.conversation_id)
        else:
            cid = store.create()
            store.save(cid, (body.message.strip().splitlines() or [""])[0][:60])
            convo = store.get(cid)
        replaced = _replaced(convo, body.replace_turn)
    except OpenpickError as e:
        return ui_error(e)
    system, turns = _history(convo, replaced[0] if replaced else None)
    wanted = (body.system or "").strip() or None
    if wanted != system:
        # A changed system prompt is kept as its own turn, so the record shows when it changed.
        # On a replace it goes after the turns being replaced, which survive until the answer.
        store.add(convo.id, "system", wanted or "")
        system = wanted
    msgs = ([Message(role="system", content=system)] if system else []) + turns
    msgs.append(Message(role="user", content=body.message))
    try:
        answer = run(request, body.model, GenRequest(messages=msgs, **sampling.params()))
    except OpenpickError as e:
        return ui_error(e)
    cid, text = convo.id, body.message

    def on_done(result: Result, stopped: bool) -> dict:
        # Its own connection: this runs on a worker thread, or where the response closed.
        conn = connect()
        try:
            kept = ConversationStore(conn)
            if replaced:
                _replace(kept, cid, *replaced)
            kept.add_turn(cid, text, result)
            last = conn.execute("SELECT MAX(seq) FROM messages WHERE conversation_id = ?",
                                (cid,)).fetchone()[0]
        finally:
            conn.close()
        return {"user_seq": last - 1, "answer_seq": last}

    meta = {"conversation_id": cid, "model": body.model, "title": convo.title}
    return Generation(answer, on_done, meta=meta).response()


@router.get("/ui/api/models")
def api_models(request: Request):
    return {"models": offered_models(request)}
