"""Rank catalog models for a user's constraints, and say why.

Hard constraints (task, domain, language, license, fits-in memory, minimum MOF class)
remove candidates. The rest are scored by a weighted sum whose every term is reported,
so a user can see exactly why A is above B:

- fit to the request: a model made for the requested domain beats a general one;
- openness: MOF class reached plus progress to the next one, OSI-approved license;
- capability proxy: size (log-scaled, bigger is usually better within what fits) and
  recency — both weak signals, weighted low, and labelled as such;
- evidence: published evaluation scores on record.

The evaluation issue adds measured results from the user's own runs, which outrank
everything here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from openpick.catalog import memory
from openpick.catalog.index import Hit, Query, search
import openpick.openness  # noqa: E402,F401 - registers the MOF facts the catalog index needs

WEIGHTS = {"domain": 3.0, "openness": 1.0, "license": 1.0, "size": 1.0, "recency": 0.5, "evidence": 0.25}
ROMAN = {0: "none", 1: "Class I", 2: "Class II", 3: "Class III"}


@dataclass
class Constraints:
    task: str | None = None
    domain: str | None = None
    language: str | None = None
    license: str | None = None
    fits: str | None = None
    quant: str = "Q4_K_M"
    context: int = 4096
    min_mof_class: int | None = None
    params: str | None = None
    limit: int = 10


@dataclass
class Recommendation:
    id: str
    score: float
    rank: int = 0
    terms: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    license: str = ""
    mof_class: int = 0
    parameters: int | None = None
    memory_bytes: float | None = None

    def to_dict(self) -> dict:
        return {"rank": self.rank, "id": self.id, "score": round(self.score, 3),
                "terms": {k: round(v, 3) for k, v in self.terms.items()},
                "reasons": self.reasons, "license": self.license, "mof_class": self.mof_class,
                "parameters": self.parameters, "memory_bytes": self.memory_bytes}


def _year(date: str | None) -> float | None:
    if not date:
        return None
    parts = date.split("-")
    return int(parts[0]) + (int(parts[1]) - 1) / 12 if len(parts) > 1 else float(parts[0])


def _score(hit: Hit, c: Constraints, newest: float) -> Recommendation:
    r = hit.record
    rec = Recommendation(r.id, 0.0, license=r.license, mof_class=hit.mof_class,
                         parameters=r.parameters, memory_bytes=hit.memory_bytes)
    t = rec.terms
    if c.domain:
        special = c.domain.lower() in [d.lower() for d in r.domains]
        general_only = special and all(d.lower() == "general" for d in r.domains if d.lower() != c.domain.lower())
        t["domain"] = WEIGHTS["domain"] * (1.0 if special and general_only else 0.6 if special else 0.0)
        rec.reasons.append(f"made for the {c.domain} domain" if special else f"general model, not tuned for {c.domain}")
    t["openness"] = WEIGHTS["openness"] * hit.openness / 3
    if hit.mof_class == 1:
        rec.reasons.append("openness: MOF Class I, the most open class")
    else:
        reached = f"MOF {ROMAN[hit.mof_class]}" if hit.mof_class else "below MOF Class III"
        target = {0: "Class III", 3: "Class II", 2: "Class I"}[hit.mof_class]
        rec.reasons.append(f"openness: {reached}; has {hit.openness % 1 * 100:.0f}% of what {target} requires")
    lic = 0.0
    if hit.license_osi:
        lic += 0.6
    if hit.license_commercial:
        lic += 0.4
    t["license"] = WEIGHTS["license"] * lic
    rec.reasons.append(
        f"license {r.license}: " + ("OSI-approved" if hit.license_osi else "not OSI-approved")
        + (", commercial use allowed" if hit.license_commercial else
           ", commercial use restricted" if hit.license_commercial is False else ", commercial use unclear"))
    if r.parameters:
        # log10 scale: 100M → 0, 100B → 1
        t["size"] = WEIGHTS["size"] * min(1.0, max(0.0, (math.log10(r.parameters) - 8) / 3))
        need = f", needs ~{memory.human_bytes(hit.memory_bytes)} at {c.quant}, {c.context} tokens" if hit.memory_bytes else ""
        rec.reasons.append(f"{memory.human_params(r.parameters)} parameters (size is a weak capability proxy){need}")
    year = _year(r.release_date)
    if year:
        t["recency"] = WEIGHTS["recency"] * max(0.0, 1 - (newest - year) / 4)
        rec.reasons.append(f"released {r.release_date}")
    if r.evaluations:
        t["evidence"] = WEIGHTS["evidence"] * min(1.0, len(r.evaluations) / 5)
        rec.reasons.append(f"{len(r.evaluations)} published evaluation score(s) on record")
    rec.score = sum(t.values())
    return rec


def recommend(c: Constraints) -> list[Recommendation]:
    q = Query(
        tasks=[c.task] if c.task else [],
        domains=[c.domain] if c.domain else [],
        languages=[c.language] if c.language else [],
        license=c.license,
        mof_class=c.min_mof_class,
        params=memory.parse_param_range(c.params) if c.params else None,
        fits_bytes=memory.parse_bytes(c.fits) if c.fits else None,
        quant=c.quant,
        context=c.context,
    )
    if c.domain:
        # Domain is a preference as well as a filter: keep general models as fallbacks.
        q.domains = [c.domain, "general"]
    hits = search(q)
    years = [y for h in hits if (y := _year(h.record.release_date))]
    newest = max(years) if years else 0.0
    recs = sorted((_score(h, c, newest) for h in hits), key=lambda x: (-x.score, x.id))
    for i, rec in enumerate(recs, start=1):
        rec.rank = i
    return recs[: c.limit]
