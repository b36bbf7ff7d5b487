"""Recommendations that put the user's own measurements first.

With a run of the user's suite, the models that were measured rank first, by what was
measured: pass rate, then cost per case, then speed (then mean score). Catalog facts rank
second: they add reasons to measured models and fill the list with models not measured,
in the catalog's own order. Hard constraints still apply: a measured model whose catalog
record fails them is left out, and `basis_line` says so. A measured model that is not in
the catalog cannot be checked against constraints; its reasons say that too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from openpick.evals.stats import format_p
from openpick.evals.summary import EntrySummary, RunReport, summarize
from openpick.store.records import CaseResult, ModelInfo, RunInfo
from openpick.recommend.ranking import Constraints, Recommendation, recommend
from openpick.evals.display import interval, money, pct, rate, seconds

ALL = 1_000_000   # "no limit" for the catalog pass: measured models must be found in it


@dataclass
class MeasuredRecommendation(Recommendation):
    basis: str = "catalog"                   # "measured" (your suite) or "catalog" (facts only)
    model: str | None = None                 # the model's name in the run
    measured: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(basis=self.basis, model=self.model, measured=self.measured)
        return d


def _sort_key(e: EntrySummary) -> tuple:
    inf = float("inf")
    return (-e.pass_rate,
            e.cost_per_case_usd if e.cost_per_case_usd is not None else inf,
            -(e.output_tok_s or 0.0), -e.mean_score, e.label)


def _best_entries(report: RunReport) -> list[EntrySummary]:
    """Each model once, with its best prompt variant; best model first."""
    best: dict[str, EntrySummary] = {}
    for e in sorted(report.entries, key=_sort_key):
        best.setdefault(e.model, e)
    return sorted(best.values(), key=_sort_key)


def _measured_reasons(e: EntrySummary, report: RunReport) -> list[str]:
    r = [f"your suite {report.run.suite!r}: passes {pct(e.pass_rate)} of {e.n_cases} cases "
         f"(95% CI {interval(e.pass_low, e.pass_high)}), mean score {e.mean_score:.2f}"]
    if len(report.variants) > 1:
        r.append(f"best with prompt variant {e.variant!r}")
    if e.cost_per_1k_cases_usd is not None:
        r.append(f"cost {money(e.cost_per_1k_cases_usd)} per 1,000 cases ({e.price_source})")
    else:
        r.append("cost unknown: no price per token and no machine price per hour")
    if e.output_tok_s is not None or e.latency_p50_s is not None:
        r.append(f"speed {rate(e.output_tok_s)} output tokens/s, p50 latency {seconds(e.latency_p50_s)}")
    if e.errors:
        r.append(f"{e.errors} engine error(s) on your suite, counted as failures")
    return r


def _versus(upper: EntrySummary, lower: EntrySummary, report: RunReport) -> str | None:
    for p in report.pairwise:
        if {p.a, p.b} == {upper.label, lower.label}:
            if p.better == upper.label:
                return f"significantly better than {lower.model} on your suite ({format_p(p.p)})"
            if p.better is None:
                why = ("cost and speed break the tie" if upper.pass_rate == lower.pass_rate
                       else "the higher pass rate may be chance")
                return (f"not significantly better than {lower.model} on your suite "
                        f"({format_p(p.p)}): {why}")
    return None


def _catalog_ids() -> set[str]:
    from openpick.catalog.catalog import all_records

    return {r.id.lower() for r in all_records()}


def rank_with_run(constraints: Constraints, run: RunInfo, results: list[CaseResult],
                  report: RunReport | None = None) -> list[MeasuredRecommendation]:
    """Measured models first (your suite), then catalog candidates (catalog facts)."""
    report = report or summarize(run, results)
    catalog = recommend(dataclasses.replace(constraints, limit=ALL))
    by_id = {r.id.lower(): r for r in catalog}
    infos: dict[str, ModelInfo] = {m.name: m for m in run.models}
    known = _catalog_ids()
    measured: list[tuple[EntrySummary, MeasuredRecommendation]] = []
    for e in _best_entries(report):
        info = infos.get(e.model)
        rid = info.record_id if info else None
        cat = by_id.get(rid.lower()) if rid else None
        if rid and cat is None and rid.lower() in known:
            continue  # in the catalog, but fails a hard constraint
        rec = MeasuredRecommendation(
            id=cat.id if cat else (rid or e.model), score=e.pass_rate, basis="measured", model=e.model,
            terms={"pass_rate": e.pass_rate, "mean_score": e.mean_score},
            license=(cat.license if cat else None) or e.license or "",
            mof_class=cat.mof_class if cat else (e.mof_class or 0),
            parameters=cat.parameters if cat else None, memory_bytes=cat.memory_bytes if cat else None,
            measured=e.model_dump(mode="json", include={
                "label", "variant", "n_cases", "pass_rate", "pass_low", "pass_high", "mean_score",
                "errors", "cost_per_1k_cases_usd", "output_tok_s", "latency_p50_s"}))
        rec.reasons = _measured_reasons(e, report)
        if cat:
            rec.measured["catalog_score"] = round(cat.score, 3)
            rec.reasons += [f"catalog: {x}" for x in cat.reasons]
        else:
            rec.reasons.append("not in the catalog: license, openness and your constraints not checked")
        measured.append((e, rec))
    for (upper, rec), (lower, _) in zip(measured, measured[1:]):
        if (why := _versus(upper, lower, report)):
            rec.reasons.insert(1, why)
    taken = {rec.id.lower() for _, rec in measured}
    rest = [MeasuredRecommendation(**{f.name: getattr(c, f.name) for f in dataclasses.fields(c)},
                                   basis="catalog")
            for c in catalog if c.id.lower() not in taken]
    for rec in rest:
        rec.reasons = rec.reasons + ["not measured on your suite: ranked by catalog facts only"]
    out = [rec for _, rec in measured] + rest
    for i, rec in enumerate(out, start=1):
        rec.rank = i
    return out[: max(constraints.limit, len(measured))]


def rank_with_stored_run(constraints: Constraints, ref: str) -> tuple[RunInfo, list[MeasuredRecommendation]]:
    """`recommend --run REF`: load a stored run (id, unique prefix or 'last') and rank with it."""
    from openpick.store.runs import RunStore

    store = RunStore()
    run = store.get(ref)
    return run, rank_with_run(constraints, run, store.results(run.id))


def basis_line(run: RunInfo, recs: list[MeasuredRecommendation]) -> str:
    """The sentence a report prints above the ranking, naming what was left out and why."""
    shown = {r.model for r in recs if r.basis == "measured"}
    left = [m.name for m in run.models if m.name not in shown]
    line = (f"Ranked by your suite {run.suite!r} (run {run.id}) first: pass rate, then cost and "
            f"speed; catalog facts second.")
    if left:
        line += f" Measured but left out (fails your constraints or has no results): {', '.join(left)}."
    return line
