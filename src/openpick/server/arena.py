"""Arena ratings: one prompt, two models picked at random from the user's choice, a blind
vote; the battles themselves are kept by `openpick.store.arena`.

Ratings are Bradley-Terry strengths over the voted battles, with bootstrap 95% intervals
(from `openpick.evals.stats`); a tie and "both bad" count as half a win each, as in
Chatbot Arena, and are also counted on their own.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from openpick.store.arena import Battle


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
