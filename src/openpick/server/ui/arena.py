"""The arena pages: a blind A/B battle (the names stay on the server until the vote) and
the ratings (Bradley-Terry with a prior, optionally style-controlled: server/arena.py)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from openpick.engines.base import Message, Result
from openpick.engines.base import Request as GenRequest
from openpick.errors import InvalidInput, NotFound, OpenpickError
from openpick.server.arena import ratings
from openpick.server.ui.render import page
from openpick.server.ui.state import (MAX_MESSAGE_CHARS, GenSettings, ask_defaults,
                                      check_model, max_tokens_cap, offered_models, run, ui_error)
from openpick.server.ui.stream import Generation
from openpick.store.arena import ArenaStore, Winner
from openpick.store.db import connect

router = APIRouter()


@router.get("/ui/arena", response_class=HTMLResponse)
def arena_page(request: Request, model: list[str] = Query(default=[])):
    """`?model=A` puts A in every battle (its opponent is drawn from the ticked models);
    `?model=A&model=B` ticks only those two. Names the server does not offer are ignored."""
    models = offered_models(request)
    names = {m["name"] for m in models}
    wanted = [m for m in dict.fromkeys(model) if m in names]
    ticked = set(wanted) if len(wanted) >= 2 else names
    include = wanted[0] if len(wanted) == 1 else None
    return page(request, "arena.html", nav="arena", models=models, ticked=ticked,
                include=include, cap=max_tokens_cap(request), defaults=ask_defaults())


class BattleIn(GenSettings):
    models: list[str] = Field(min_length=2, max_length=50)
    prompt: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    system: str | None = Field(None, max_length=MAX_MESSAGE_CHARS)
    include: str | None = Field(None, max_length=200)   # a model every battle must have


@router.post("/ui/api/arena/battles")
def arena_start(request: Request, body: BattleIn):
    try:
        for m in body.models:
            check_model(request, m)
        settings = body.sampling(max_tokens_cap(request)).params()
        battle = ArenaStore().start(body.prompt, body.models, system=body.system,
                                    settings=settings, include=body.include)
    except OpenpickError as e:
        return ui_error(e)
    return {"id": battle.id}  # the names stay on the server until the vote


@router.post("/ui/api/arena/battles/{bid}/stream/{side}")
def arena_stream(request: Request, bid: str, side: str):
    try:
        if side not in ("a", "b"):
            raise NotFound("side must be a or b")
        battle = ArenaStore().get(bid)
        if (battle.output_a if side == "a" else battle.output_b) is not None:
            raise InvalidInput("this side has already answered")
        msgs = ([Message(role="system", content=battle.system)] if battle.system else [])
        msgs.append(Message(role="user", content=battle.prompt))
        answer = run(request, battle.model(side), GenRequest(messages=msgs, **battle.settings))
    except OpenpickError as e:
        return ui_error(e)

    def on_done(result: Result, stopped: bool) -> None:
        conn = connect()
        try:
            ArenaStore(conn).save_output(bid, side, result.text)
        finally:
            conn.close()

    return Generation(answer, on_done, reveal=False).response()


class VoteIn(BaseModel):
    winner: Winner


@router.post("/ui/api/arena/battles/{bid}/vote")
def arena_vote(bid: str, body: VoteIn):
    try:
        b = ArenaStore().vote(bid, body.winner)
    except OpenpickError as e:
        return ui_error(e)
    return {"id": b.id, "winner": b.winner, "model_a": b.model_a, "model_b": b.model_b}


@router.get("/ui/arena/ratings", response_class=HTMLResponse)
def ratings_page(request: Request, style: bool = False):
    r = ratings(ArenaStore().voted(), style=style)
    names = [m.model for m in r.models]
    return page(request, "ratings.html", nav="ratings", r=r, names=names)
