"""The arena: one prompt, two models picked at random from the user's choice, a blind vote.

The pair and its order (which model is A) are fixed and stored when the battle starts, so
what the user sees cannot depend on the answers. The names are revealed only by the vote.
Ratings are Bradley-Terry strengths over the voted battles, with bootstrap 95% intervals
(from `openpick.evals.stats`); a tie and "both bad" count as half a win each, as in
Chatbot Arena, and are also counted on their own.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections import defaultdict
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


def pick_pair(models: list[str], rng: random.Random | None = None) -> tuple[str, str]:
    """Two different models from the user's choice, in random order (the first is A)."""
    distinct = list(dict.fromkeys(models))
    if len(distinct) < 2:
        raise InvalidInput("pick at least two different models for the arena")
    a, b = (rng or random.SystemRandom()).sample(distinct, 2)
    return a, b


class ArenaStore:
    def __init__(self, conn: sqlite3.Connection | None = None):
        self.conn = conn or connect()

    def start(self, prompt: str, models: list[str], *, system: str | None = None,
              settings: dict | None = None, rng: random.Random | None = None) -> Battle:
        a, b = pick_pair(models, rng)
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


class ModelRating(BaseModel):
    model: str
    rating: float | None = None   # Bradley-Terry, on the Elo-like scale stats returns
    low: float | None = None      # bootstrap 95% interval
    high: float | None = None
    battles: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0


class Ratings(BaseModel):
    votes: int
    models: list[ModelRating]                 # best first
    win_matrix: dict[str, dict[str, int]]     # row model's wins over column model
    note: str | None = None                   # why ratings are missing, when they are


def counts(battles: list[Battle]) -> tuple[dict[str, ModelRating], dict[str, dict[str, int]]]:
    per: dict[str, ModelRating] = {}
    wins: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for b in battles:
        for m in (b.model_a, b.model_b):
            per.setdefault(m, ModelRating(model=m))
            per[m].battles += 1
        ra, rb = per[b.model_a], per[b.model_b]
        if b.winner == "a":
            ra.wins += 1
            rb.losses += 1
            wins[b.model_a][b.model_b] += 1
        elif b.winner == "b":
            rb.wins += 1
            ra.losses += 1
            wins[b.model_b][b.model_a] += 1
        elif b.winner == "tie":
            ra.ties += 1
            rb.ties += 1
        else:
            ra.both_bad += 1
            rb.both_bad += 1
    return per, {k: dict(v) for k, v in wins.items()}


def ratings(battles: list[Battle]) -> Ratings:
    per, matrix = counts(battles)
    note = None
    if per:
        try:
            fitted = _bradley_terry(battles, sorted(per))
        except ImportError:
            fitted = {}
            note = "ratings need openpick.evals.stats (Bradley-Terry), which is not installed yet"
        for name, (rating, low, high) in fitted.items():
            per[name].rating, per[name].low, per[name].high = rating, low, high
    ordered = sorted(per.values(), key=lambda r: (r.rating is None, -(r.rating or 0.0),
                                                   -r.wins, r.model))
    return Ratings(votes=len(battles), models=ordered, win_matrix=matrix, note=note)


def _bradley_terry(battles: list[Battle], models: list[str]) -> dict[str, tuple[float, float, float]]:
    """model → (rating, low, high) from the shared statistics module."""
    from openpick.evals import stats

    outcome = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
    games = [(b.model_a, b.model_b, outcome[b.winner]) for b in battles if b.winner]
    return {r.name: (r.rating, r.low, r.high)
            for r in stats.bradley_terry(games, names=models, bootstrap=200, seed=0)}
