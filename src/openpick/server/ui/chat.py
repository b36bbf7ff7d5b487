"""The chat page: conversations in the store, a model picker, switching keeps the history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import Field, field_validator

from openpick.engines.base import Message, Result
from openpick.engines.base import Request as GenRequest
from openpick.errors import NotFound, OpenpickError
from openpick.server.ui.render import error_page, page
from openpick.server.ui.state import (MAX_MESSAGE_CHARS, GenSettings, check_model,
                                      max_tokens_cap, offered_models, run, ui_error)
from openpick.server.ui.stream import Generation
from openpick.store.conversations import ConversationStore
from openpick.store.db import connect

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
    system = ""
    if convo:
        answered = [m.model for m in convo.messages if m.role == "assistant" and m.model]
        if current is None and answered and answered[-1] in names:
            current = answered[-1]
        systems = [m.content for m in convo.messages if m.role == "system"]
        system = systems[-1] if systems else ""
    current = current or (names[0] if names else None)
    return page(request, "chat.html", nav="chat", convo=convo, conversations=store.list(100),
                models=models, current=current, system=system, cap=max_tokens_cap(request))


class ChatIn(GenSettings):
    conversation_id: str | None = Field(None, max_length=64)
    model: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    system: str | None = Field(None, max_length=MAX_MESSAGE_CHARS)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the message is empty (only spaces or line breaks)")
        return v


def _history(convo) -> tuple[str | None, list[Message]]:
    """The latest system prompt and the user/assistant turns, in order."""
    system, turns = None, []
    for m in convo.messages:
        if m.role == "system":
            system = m.content or None
        else:
            turns.append(Message(role=m.role, content=m.content))
    return system, turns


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
    except OpenpickError as e:
        return ui_error(e)
    system, turns = _history(convo)
    wanted = (body.system or "").strip() or None
    if wanted != system:
        # A changed system prompt is kept as its own turn, so the record shows when it changed.
        store.add(convo.id, "system", wanted or "")
        system = wanted
    msgs = ([Message(role="system", content=system)] if system else []) + turns
    msgs.append(Message(role="user", content=body.message))
    try:
        answer = run(request, body.model, GenRequest(messages=msgs, **sampling.params()))
    except OpenpickError as e:
        return ui_error(e)
    cid, text = convo.id, body.message

    def on_done(result: Result, stopped: bool) -> None:
        # Its own connection: this runs on a worker thread, or where the response closed.
        conn = connect()
        try:
            ConversationStore(conn).add_turn(cid, text, result)
        finally:
            conn.close()

    meta = {"conversation_id": cid, "model": body.model, "title": convo.title}
    return Generation(answer, on_done, meta=meta).response()


@router.get("/ui/api/models")
def api_models(request: Request):
    return {"models": offered_models(request)}
