"""The European Open Source AI Index score (osai-index.eu) from a record's grades.

Each parameter is graded open (1), partial (0.5) or closed (0). The score is the mean
over the parameters that apply, i.e. those graded in the record and known to the index;
categories (availability, documentation, access) get their own mean the same way.
Source of the parameter list: the index's `_parameters.yml` (bundled, CC-BY-4.0;
Liesenfeld & Dingemanse 2024).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel

from openpick.catalog.schema import ModelRecord

GRADE_VALUE = {"open": 1.0, "partial": 0.5, "closed": 0.0}


class Category(BaseModel):
    ref: str
    name: str
    score: float | None
    graded: int
    parameters: dict[str, str]  # parameter ref → grade


class OsaiScore(BaseModel):
    available: bool
    score: float | None = None
    percent: float | None = None
    graded: int = 0
    total_parameters: int = 0
    categories: list[Category] = []


@lru_cache(maxsize=1)
def categories() -> list[dict]:
    path = resources.files("openpick.openness") / "data" / "osai_parameters.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def parameter_names() -> dict[str, str]:
    return {p["ref"]: p["name"] for c in categories() for p in c["params"]}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def osai_score(record: ModelRecord) -> OsaiScore:
    known = parameter_names()
    graded = {k: g.grade for k, g in record.osai.items() if k in known}
    cats = []
    for c in categories():
        params = {p["ref"]: graded[p["ref"]] for p in c["params"] if p["ref"] in graded}
        cats.append(
            Category(
                ref=c["ref"], name=c["name"], graded=len(params), parameters=params,
                score=_mean([GRADE_VALUE[g] for g in params.values()]),
            )
        )
    score = _mean([GRADE_VALUE[g] for g in graded.values()])
    return OsaiScore(
        available=score is not None,
        score=score,
        percent=None if score is None else round(score * 100, 1),
        graded=len(graded),
        total_parameters=len(known),
        categories=cats,
    )
