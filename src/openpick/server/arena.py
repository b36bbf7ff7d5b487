"""Arena ratings: one prompt, two models picked at random from the user's choice, a blind
vote; the battles themselves are kept by `openpick.store.arena`.

Ratings are Bradley-Terry strengths over the voted battles (`openpick.evals.stats`): a
Gaussian prior on every strength and Laplace 95% intervals, so one vote moves two models
about 117 points apart with intervals some 600 points wide, never "1292 – 1292". A tie and
"both bad" count as half a win each, as in Chatbot Arena, and are also counted on their own.
A model with fewer than MIN_BATTLES battles is marked "too few votes".

Style control (as LMArena does it): each battle gets covariates, A's style minus B's,
normalized as (a − b) / (a + b): the answers' lengths and their markdown element counts
(headers, list items, bold spans), each then scaled to unit standard deviation over the
battles. The fit gives their coefficients (log-odds of winning per standard deviation) and
ratings with the style effect taken out.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pydantic import BaseModel

from openpick.store.arena import Battle

MIN_BATTLES = 10          # below this a rating is shown as "too few votes"
OUTCOME = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
STYLE_COVARIATES = ("length", "markdown")
_MD_ELEMENT = re.compile(r"^\s{0,3}#{1,6}\s|^\s*(?:[-*+]|\d+[.)])\s|\*\*[^*\n]+\*\*|__[^_\n]+__",
                         re.MULTILINE)


class ModelRating(BaseModel):
    model: str
    rating: float | None = None   # Bradley-Terry, on the Elo-like scale stats returns
    low: float | None = None      # Laplace 95% interval (prior included)
    high: float | None = None
    plain_rating: float | None = None   # without style control, when style control is on
    battles: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0
    too_few: bool = True          # fewer than MIN_BATTLES battles


class Cell(BaseModel):
    """The row model against the column model, over decisive battles (no ties, no both bad)."""

    wins: int = 0
    decisive: int = 0

    @property
    def rate(self) -> float | None:
        return self.wins / self.decisive if self.decisive else None

    def label(self) -> str:
        """"67 % (2/3)", or "–" when the two never had a decisive battle."""
        if not self.decisive:
            return "–"
        return f"{round(100 * self.wins / self.decisive)} % ({self.wins}/{self.decisive})"


class StyleCoefficient(BaseModel):
    name: str
    value: float
    low: float
    high: float


class Ratings(BaseModel):
    votes: int
    models: list[ModelRating]                 # best first
    win_matrix: dict[str, dict[str, Cell]]    # row model against column model
    prior_sd: float | None = None             # of a log-strength; in Elo points below
    prior_points: float | None = None
    min_battles: int = MIN_BATTLES
    style: bool = False
    coefficients: list[StyleCoefficient] = []
    note: str | None = None                   # why ratings are missing, when they are


def counts(battles: list[Battle]) -> tuple[dict[str, ModelRating], dict[str, dict[str, Cell]]]:
    per: dict[str, ModelRating] = {}
    cells: dict[str, dict[str, Cell]] = defaultdict(dict)
    for b in battles:
        for m in (b.model_a, b.model_b):
            per.setdefault(m, ModelRating(model=m))
            per[m].battles += 1
        ra, rb = per[b.model_a], per[b.model_b]
        ab = cells[b.model_a].setdefault(b.model_b, Cell())
        ba = cells[b.model_b].setdefault(b.model_a, Cell())
        if b.winner in ("a", "b"):
            ab.decisive += 1
            ba.decisive += 1
            (ab if b.winner == "a" else ba).wins += 1
            (ra if b.winner == "a" else rb).wins += 1
            (rb if b.winner == "a" else ra).losses += 1
        elif b.winner == "tie":
            ra.ties += 1
            rb.ties += 1
        else:
            ra.both_bad += 1
            rb.both_bad += 1
    for r in per.values():
        r.too_few = r.battles < MIN_BATTLES
    return per, {k: dict(v) for k, v in cells.items()}


def markdown_elements(text: str | None) -> int:
    """Headers, list items and bold spans: the markdown LMArena's style control counts."""
    return len(_MD_ELEMENT.findall(text or ""))


def _normalized(a: float, b: float) -> float:
    return (a - b) / (a + b) if a + b else 0.0


def style_covariates(battles: list[Battle]) -> list[list[float]]:
    """Per battle, A's minus B's (normalized) length and markdown count, each column scaled
    to unit standard deviation over the battles (left as is when it does not vary)."""
    import numpy as np

    rows = [[_normalized(len(b.output_a or ""), len(b.output_b or "")),
             _normalized(markdown_elements(b.output_a), markdown_elements(b.output_b))]
            for b in battles]
    x = np.array(rows, dtype=float).reshape(len(rows), len(STYLE_COVARIATES))
    sd = x.std(axis=0) if len(rows) > 1 else np.zeros(x.shape[1])
    return (x / np.where(sd > 0, sd, 1.0)).tolist()


def ratings(battles: list[Battle], *, style: bool = False) -> Ratings:
    battles = [b for b in battles if b.winner]
    per, matrix = counts(battles)
    out = Ratings(votes=len(battles), models=[], win_matrix=matrix, style=style)
    if per:
        try:
            from openpick.evals import stats
        except ImportError:
            out.note = "ratings need openpick.evals.stats (numpy and scipy), which is not installed"
        else:
            _fit(stats, battles, per, out)
    out.models = sorted(per.values(), key=lambda r: (r.rating is None, -(r.rating or 0.0),
                                                      -r.wins, r.model))
    return out


def _fit(stats, battles: list[Battle], per: dict[str, ModelRating], out: Ratings) -> None:
    import math

    games = [(b.model_a, b.model_b, OUTCOME[b.winner]) for b in battles]
    names = sorted(per)
    plain = stats.bradley_terry_fit(games, names=names)
    out.prior_sd = plain.prior_sd
    out.prior_points = 400.0 / math.log(10) * plain.prior_sd
    fit = plain
    if out.style:
        fit = stats.bradley_terry_fit(games, names=names, covariates=style_covariates(battles),
                                      covariate_names=list(STYLE_COVARIATES))
        out.coefficients = [StyleCoefficient(name=c.name, value=c.value, low=c.low, high=c.high)
                            for c in fit.coefficients]
        for r in plain.ratings:
            per[r.name].plain_rating = r.rating
    for r in fit.ratings:
        per[r.name].rating, per[r.name].low, per[r.name].high = r.rating, r.low, r.high
