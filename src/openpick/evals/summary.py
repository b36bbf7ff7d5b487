"""Summaries of a run: what each model scored, how fast, at what cost, and what differs.

`summarize(run, results)` turns the runner's CaseResults into a `RunReport` that every
report (terminal, HTML, JSON, recommend) reads; none of them recomputes a statistic.

Choices, stated once:

- The unit of a summary is an *entry*: one model with one prompt variant. A suite with a
  single variant has one entry per model, labelled with the model's name.
- The unit of a statistic is a *case*. Repeats of a case are averaged first (pass fraction,
  mean score), so three repeats do not pretend to be three independent cases.
- An engine error counts as a failure with score 0 (the model gave no usable answer) and is
  also counted on its own, so an unreliable setup is visible rather than silently dropped.
- Timings come from results without an engine error; a cache hit carries the timings it
  was first measured with (the runner keeps them), so it counts like any other.
- Cost: a price table (USD per 1M input/output tokens) prices each result's own tokens;
  a self-hosted model is priced as machine USD/hour × the wall time it took. The single
  "blended" price weighs input:output 3:1, as public leaderboards do.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from openpick.evals import stats
from openpick.store.records import CaseResult, ModelInfo, RunInfo

ALPHA = 0.05          # significance level of every pairwise verdict
BLEND_INPUT = 3       # blended price: 3 parts input to 1 part output
BLEND_OUTPUT = 1


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagStat(_Base):
    tag: str
    n: int                       # cases with this tag
    pass_rate: float
    pass_low: float
    pass_high: float
    mean_score: float


class EntrySummary(_Base):
    """One model (with one prompt variant) over the whole suite."""

    label: str                   # model name, or "model [variant]" when a suite has several
    model: str
    variant: str
    engine: str | None = None
    spec: str | None = None
    record_id: str | None = None
    license: str | None = None
    mof_class: int | None = None
    n_cases: int                 # distinct cases with a result
    n_results: int               # results, repeats included
    passed: float                # cases passed (fractional when repeats disagree)
    errors: int                  # results that ended in an engine error or timeout
    pass_rate: float
    pass_low: float              # Wilson 95% interval
    pass_high: float
    mean_score: float
    tags: list[TagStat] = Field(default_factory=list)
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    ttft_p50_s: float | None = None
    output_tok_s: float | None = None     # median decode speed
    prompt_tokens: int = 0                # totals over all results
    completion_tokens: int = 0
    mean_prompt_tokens: float | None = None
    mean_completion_tokens: float | None = None
    peak_rss_bytes: int | None = None
    price_basis: Literal["tokens", "machine"] | None = None
    price_source: str | None = None
    usd_per_1m_input: float | None = None
    usd_per_1m_output: float | None = None
    usd_per_1m_blended: float | None = None
    cost_per_case_usd: float | None = None
    cost_per_1k_cases_usd: float | None = None
    timed_from_cache: bool = False


class Pairwise(_Base):
    """Two entries on the cases both answered. Both tests are shown; the verdict rests on
    the one `stats.verdict` picks up front (McNemar for pass/fail, the bootstrap when
    scores are partial), never on whichever p is smaller."""

    a: str
    b: str
    n: int                       # paired cases
    a_only: int                  # cases A passes and B fails
    b_only: int
    mcnemar_p: float
    score_diff: float            # mean(B) - mean(A)
    score_low: float             # paired bootstrap 95% interval
    score_high: float
    bootstrap_p: float
    test: str                    # the test the verdict rests on: "mcnemar" or "bootstrap"
    p: float                     # that test's p-value
    better: str | None = None    # label of the significantly better one, if any
    verdict: str                 # plain words, e.g. "B is better than A on this suite, p = 0.003"
    detail: str = ""             # the counts behind the verdict


class RunReport(_Base):
    run: RunInfo
    entries: list[EntrySummary]  # best first: pass rate, then mean score
    pairwise: list[Pairwise] = Field(default_factory=list)
    pareto_cost: list[str] = Field(default_factory=list)   # labels on the quality/cost frontier
    pareto_speed: list[str] = Field(default_factory=list)  # labels on the quality/speed frontier
    tags: list[str] = Field(default_factory=list)
    variants: list[str] = Field(default_factory=list)
    n_cases: int = 0
    notes: list[str] = Field(default_factory=list)

    def entry(self, label: str) -> EntrySummary:
        return next(e for e in self.entries if e.label == label)


class CaseChange(_Base):
    """How one model's result on one case changed between two runs."""

    model: str
    variant: str
    case_id: str
    change: Literal["improved", "regressed", "unchanged", "added", "removed"]
    before_passed: bool | None = None
    after_passed: bool | None = None
    before_score: float | None = None
    after_score: float | None = None
    before_output: str | None = None
    after_output: str | None = None


# --- per-case aggregation ----------------------------------------------------------


def result_passed(r: CaseResult) -> bool | None:
    """Pass/fail of one result; an engine error is a failure, an ungraded result unknown."""
    if r.grade is not None:
        return r.grade.passed
    return False if r.error else None


def result_score(r: CaseResult) -> float | None:
    if r.grade is not None:
        return r.grade.score
    return 0.0 if r.error else None


class _Case:
    """One entry's repeats of one case, averaged."""

    def __init__(self, results: list[CaseResult]):
        passes = [p for r in results if (p := result_passed(r)) is not None]
        scores = [s for r in results if (s := result_score(r)) is not None]
        self.tags = sorted({t for r in results for t in r.tags})
        self.pass_frac = sum(passes) / len(passes) if passes else 0.0
        self.score = sum(scores) / len(scores) if scores else 0.0
        self.graded = bool(passes)

    @property
    def passed(self) -> bool:
        """Majority of repeats passed (the only outcome there is without repeats)."""
        return self.pass_frac > 0.5


def _by_entry(results: Iterable[CaseResult]) -> dict[tuple[str, str], dict[str, list[CaseResult]]]:
    out: dict[tuple[str, str], dict[str, list[CaseResult]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        out[(r.model, r.variant)][r.case_id].append(r)
    return out


def group_results(results: Iterable[CaseResult]) -> dict[tuple[str, str], dict[str, list[CaseResult]]]:
    """Results by (model, variant), then by case id (a case's repeats together)."""
    return _by_entry(results)


def paired(name_a: str, name_b: str, a_cases: dict[str, list[CaseResult]],
           b_cases: dict[str, list[CaseResult]]) -> Pairwise | None:
    """The report's paired test between two sets of a suite's case results (each case's
    repeats averaged first), e.g. this run against a stored baseline."""
    return _pair(name_a, name_b, {c: _Case(rs) for c, rs in a_cases.items()},
                 {c: _Case(rs) for c, rs in b_cases.items()})


# --- measurements ------------------------------------------------------------------


def _decode_speed(r: CaseResult) -> float | None:
    if r.decode_tok_s:
        return r.decode_tok_s
    if r.completion_tokens and r.total_s:
        gen = r.total_s - (r.ttft_s or 0.0)
        return r.completion_tokens / gen if gen > 0 else None
    return None


def _timings(e: EntrySummary, results: list[CaseResult], info: ModelInfo | None) -> None:
    # Cache hits keep the timings they were measured with, so they count as measurements.
    fresh = [r for r in results if r.error is None]
    e.timed_from_cache = bool(fresh) and all(r.cached for r in fresh)
    e.latency_p50_s = stats.percentile([r.total_s for r in fresh if r.total_s is not None], 50)
    e.latency_p95_s = stats.percentile([r.total_s for r in fresh if r.total_s is not None], 95)
    e.ttft_p50_s = stats.percentile([r.ttft_s for r in fresh if r.ttft_s is not None], 50)
    speeds = [s for r in fresh if (s := _decode_speed(r))]
    e.output_tok_s = statistics.median(speeds) if speeds else None
    ok = [r for r in results if r.error is None]
    e.prompt_tokens = sum(r.prompt_tokens or 0 for r in ok)
    e.completion_tokens = sum(r.completion_tokens or 0 for r in ok)
    pts = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
    cts = [r.completion_tokens for r in ok if r.completion_tokens is not None]
    e.mean_prompt_tokens = sum(pts) / len(pts) if pts else None
    e.mean_completion_tokens = sum(cts) / len(cts) if cts else None
    rss = [r.peak_rss_bytes for r in results if r.peak_rss_bytes]
    e.peak_rss_bytes = max(rss) if rss else None
    if info is not None:
        _cost(e, info, results, fresh)


def blended(usd_in: float | None, usd_out: float | None) -> float | None:
    """Blended USD per 1M tokens at 3 input : 1 output."""
    if usd_in is None and usd_out is None:
        return None
    return ((usd_in or 0.0) * BLEND_INPUT + (usd_out or 0.0) * BLEND_OUTPUT) / (BLEND_INPUT + BLEND_OUTPUT)


def _cost(e: EntrySummary, info: ModelInfo, results: list[CaseResult], fresh: list[CaseResult]) -> None:
    if info.usd_per_1m_input is not None or info.usd_per_1m_output is not None:
        e.price_basis = "tokens"
        e.price_source = info.price_source or "price table"
        e.usd_per_1m_input, e.usd_per_1m_output = info.usd_per_1m_input, info.usd_per_1m_output
        e.usd_per_1m_blended = blended(info.usd_per_1m_input, info.usd_per_1m_output)
        priced = [((r.prompt_tokens or 0) * (info.usd_per_1m_input or 0.0)
                   + (r.completion_tokens or 0) * (info.usd_per_1m_output or 0.0)) / 1e6
                  for r in results if r.prompt_tokens is not None or r.completion_tokens is not None]
        if priced:
            e.cost_per_case_usd = sum(priced) / len(priced)
    elif info.machine_usd_per_hour is not None:
        # Self-hosted: the machine costs the same whether busy or not, so a case costs the
        # wall time it held the machine (local engines serve one request at a time).
        e.price_basis = "machine"
        e.price_source = info.price_source or f"machine:{info.machine_usd_per_hour}/h"
        usd_s = info.machine_usd_per_hour / 3600
        timed = [r for r in fresh if r.total_s is not None]
        if timed:
            seconds = sum(r.total_s for r in timed)
            e.cost_per_case_usd = usd_s * seconds / len(timed)
            tokens = sum((r.prompt_tokens or 0) + (r.completion_tokens or 0) for r in timed)
            if tokens:
                e.usd_per_1m_blended = usd_s * seconds / tokens * 1e6
    if e.cost_per_case_usd is not None:
        e.cost_per_1k_cases_usd = e.cost_per_case_usd * 1000


# --- entries -----------------------------------------------------------------------


def _entry(model: str, variant: str, label: str, cases: dict[str, list[CaseResult]],
           info: ModelInfo | None) -> tuple[EntrySummary, dict[str, _Case]]:
    agg = {cid: _Case(rs) for cid, rs in cases.items()}
    results = [r for rs in cases.values() for r in rs]
    n = len(agg)
    passed = sum(c.pass_frac for c in agg.values())
    low, high = stats.wilson(passed, n) if n else (0.0, 1.0)
    e = EntrySummary(
        label=label, model=model, variant=variant, n_cases=n, n_results=len(results),
        passed=passed, errors=sum(1 for r in results if r.error),
        pass_rate=passed / n if n else 0.0, pass_low=low, pass_high=high,
        mean_score=sum(c.score for c in agg.values()) / n if n else 0.0,
        engine=info.engine if info else None, spec=info.spec if info else None,
        record_id=info.record_id if info else None,
        license=info.license if info else None, mof_class=info.mof_class if info else None)
    e.tags = _tags(agg)
    _timings(e, results, info)
    return e, agg


def _tags(agg: dict[str, _Case]) -> list[TagStat]:
    by_tag: dict[str, list[_Case]] = defaultdict(list)
    for c in agg.values():
        for t in c.tags:
            by_tag[t].append(c)
    out = []
    for tag in sorted(by_tag):
        cs = by_tag[tag]
        k = sum(c.pass_frac for c in cs)
        low, high = stats.wilson(k, len(cs))
        out.append(TagStat(tag=tag, n=len(cs), pass_rate=k / len(cs), pass_low=low,
                           pass_high=high, mean_score=sum(c.score for c in cs) / len(cs)))
    return out


# --- pairwise ----------------------------------------------------------------------


def _pair(a: str, b: str, ca: dict[str, _Case], cb: dict[str, _Case]) -> Pairwise | None:
    shared = sorted(set(ca) & set(cb))
    if not shared:
        return None
    pa, pb = [ca[c].passed for c in shared], [cb[c].passed for c in shared]
    sa, sb = [ca[c].score for c in shared], [cb[c].score for c in shared]
    m = stats.mcnemar(pa, pb)
    bs = stats.paired_bootstrap(sa, sb)
    v = stats.verdict(a, b, pa, pb, sa, sb, alpha=ALPHA)
    # stats' "no difference" sentence names no models; a list of pairs needs them
    text = v.text if v.winner else f"{a} vs {b}: {v.text}"
    return Pairwise(a=a, b=b, n=len(shared), a_only=m.a_only, b_only=m.b_only,
                    mcnemar_p=m.p_value, score_diff=bs.diff, score_low=bs.low, score_high=bs.high,
                    bootstrap_p=bs.p_value, test=v.test, p=v.p_value, better=v.winner,
                    verdict=text, detail=v.detail)


# --- Pareto ------------------------------------------------------------------------


def pareto(points: list[tuple[str, float, float]], *, lower_x_better: bool) -> list[str]:
    """Labels not dominated on (quality ↑, x): nothing else is at least as good on both
    and strictly better on one. Points with x None are left out by the caller."""
    def better_eq(q1, x1, q2, x2):
        return q1 >= q2 and (x1 <= x2 if lower_x_better else x1 >= x2)

    front = []
    for lbl, q, x in points:
        dominated = any(better_eq(q2, x2, q, x) and (q2, x2) != (q, x)
                        for l2, q2, x2 in points if l2 != lbl)
        if not dominated:
            front.append(lbl)
    return front


# --- public ------------------------------------------------------------------------


def summarize(run: RunInfo, results: list[CaseResult]) -> RunReport:
    """Every statistic the reports show, computed once."""
    infos = {m.name: m for m in run.models}
    grouped = _by_entry(results)
    variants = sorted({v for _, v in grouped})
    order = {m.name: i for i, m in enumerate(run.models)}
    keys = sorted(grouped, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
    entries: list[EntrySummary] = []
    cases: dict[str, dict[str, _Case]] = {}
    for model, variant in keys:
        label = model if len(variants) == 1 else f"{model} [{variant}]"
        e, agg = _entry(model, variant, label, grouped[(model, variant)], infos.get(model))
        entries.append(e)
        cases[label] = agg
    entries.sort(key=lambda e: (-e.pass_rate, -e.mean_score, e.label))
    pairs = [p for i, ea in enumerate(entries) for eb in entries[i + 1:]
             if (p := _pair(ea.label, eb.label, cases[ea.label], cases[eb.label]))]
    notes = _notes(entries)
    if len(pairs) > 1:
        notes.append(f"{len(pairs)} pairwise tests, each at 5% and not corrected for multiple "
                     "comparisons: treat a p near 0.05 as a hint, not a finding")
    return RunReport(
        run=run, entries=entries, pairwise=pairs,
        pareto_cost=pareto([(e.label, e.pass_rate, e.cost_per_case_usd) for e in entries
                            if e.cost_per_case_usd is not None], lower_x_better=True),
        pareto_speed=pareto([(e.label, e.pass_rate, e.output_tok_s) for e in entries
                             if e.output_tok_s is not None], lower_x_better=False),
        tags=sorted({t.tag for e in entries for t in e.tags}), variants=variants,
        n_cases=len({c for agg in cases.values() for c in agg}), notes=notes)


def _notes(entries: list[EntrySummary]) -> list[str]:
    notes = []
    for e in entries:
        if e.errors:
            notes.append(f"{e.label}: {e.errors} result(s) ended in an engine error; counted as failures")
        if e.cost_per_case_usd is None:
            notes.append(f"{e.label}: no cost (no price per token and no machine price per hour)")
        if e.timed_from_cache:
            notes.append(f"{e.label}: every result came from the cache; timings are from the run that first measured them")
    if any(e.n_cases < 30 for e in entries):
        notes.append("fewer than 30 cases per model: intervals are wide, differences hard to prove")
    return notes


def diff(results_a: list[CaseResult], results_b: list[CaseResult], *,
         include_unchanged: bool = False) -> list[CaseChange]:
    """Per model, variant and case: pass/fail in run A versus run B (B is the later run)."""
    ga, gb = _by_entry(results_a), _by_entry(results_b)
    out: list[CaseChange] = []
    for key in sorted(set(ga) | set(gb)):
        ca, cb = ga.get(key, {}), gb.get(key, {})
        for cid in sorted(set(ca) | set(cb)):
            a = _Case(ca[cid]) if cid in ca else None
            b = _Case(cb[cid]) if cid in cb else None
            if a is None:
                change = "added"
            elif b is None:
                change = "removed"
            elif a.passed != b.passed:
                change = "improved" if b.passed else "regressed"
            else:
                change = "unchanged"
            if change == "unchanged" and not include_unchanged:
                continue
            out.append(CaseChange(
                model=key[0], variant=key[1], case_id=cid, change=change,
                before_passed=a.passed if a else None, after_passed=b.passed if b else None,
                before_score=a.score if a else None, after_score=b.score if b else None,
                before_output=ca[cid][0].output if a else None,
                after_output=cb[cid][0].output if b else None))
    return out
