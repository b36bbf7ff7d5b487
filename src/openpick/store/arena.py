"""Arena battles in the store: the prompt, the pair in its order (which model is A), both
answers and the vote. The pair is fixed when the battle starts, so what the user sees
cannot depend on the answers; a vote is recorded once."""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from openpick.errors import InvalidInput, NotFound
from openpick.store.db import connect, now

Winner = Literal["a", "b", "tie", "both_bad"]
OUTCOMES: tuple[str, ...] = ("a", "b", "tie", "both_bad")


class Battle(BaseModel):
    id: str
    prompt: str
    system: str | None = None
    model_a: str
    model_b: str
    output_a: str | None = None
    output_b: str | None = None
    settings: dict = Field(default_factory=dict)
    winner: Winner | None = None
    created_at: str
    voted_at: str | None = None

    def model(self, side: str) -> str:
        return self.model_a if side == "a" else self.model_b


def pick_pair(models: list[str], rng: random.Random | None = None, *,
              include: str | None = None) -> tuple[str, str]:
    """Two different models from the user's choice, in random order (the first is A);
    with `include`, that model is one of the two and its opponent is drawn from the rest."""
    distinct = list(dict.fromkeys(models))
    if len(distinct) < 2:
        raise InvalidInput("pick at least two different models for the arena")
    rng = rng or random.SystemRandom()
    if include is None:
        a, b = rng.sample(distinct, 2)
        return a, b
    if include not in distinct:
        raise InvalidInput(f"the model to include, {include!r}, is not among the models picked")
    pair = [include, rng.choice([m for m in distinct if m != include])]
    rng.shuffle(pair)
    return pair[0], pair[1]


class ArenaStore:
    def __init__(self, conn: sqlite3.Connection | None = None):
        self.conn = conn or connect()

    def start(self, prompt: str, models: list[str], *, system: str | None = None,
              settings: dict | None = None, rng: random.Random | None = None,
              include: str | None = None) -> Battle:
        a, b = pick_pair(models, rng, include=include)
        battle = Battle(id=uuid.uuid4().hex[:12], prompt=prompt, system=system or None,
                        model_a=a, model_b=b, settings=settings or {}, created_at=now())
        self.conn.execute(
            "INSERT INTO arena_battles (id, prompt, system, model_a, model_b, settings, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (battle.id, prompt, battle.system, a, b, json.dumps(battle.settings), battle.created_at))
        return battle

    def get(self, bid: str) -> Battle:
        row = self.conn.execute("SELECT * FROM arena_battles WHERE id = ?", (bid,)).fetchone()
        if row is None:
            raise NotFound(f"no arena battle {bid!r}")
        d = dict(row)
        d["settings"] = json.loads(d["settings"] or "{}")
        return Battle(**d)

    def save_output(self, bid: str, side: str, text: str) -> None:
        if side not in ("a", "b"):
            raise InvalidInput(f"side must be a or b, got {side!r}")
        self.conn.execute(f"UPDATE arena_battles SET output_{side} = ? WHERE id = ?", (text, bid))

    def vote(self, bid: str, winner: str) -> Battle:
        """Record the vote once; returns the battle with the names to reveal."""
        if winner not in OUTCOMES:
            raise InvalidInput(f"vote must be one of {', '.join(OUTCOMES)}, got {winner!r}")
        self.get(bid)  # NotFound first
        cur = self.conn.execute("UPDATE arena_battles SET winner = ?, voted_at = ? "
                                "WHERE id = ? AND winner IS NULL", (winner, now(), bid))
        if cur.rowcount == 0:
            raise InvalidInput("this battle already has a vote")
        return self.get(bid)

    def voted(self) -> list[Battle]:
        rows = self.conn.execute("SELECT id FROM arena_battles WHERE winner IS NOT NULL "
                                 "ORDER BY voted_at").fetchall()
        return [self.get(r["id"]) for r in rows]
