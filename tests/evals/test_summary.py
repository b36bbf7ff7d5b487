"""summarize() and diff() on hand-built CaseResults: every number checked against its definition."""

from __future__ import annotations

import pytest

from openpick.evals import stats
from openpick.evals.summary import blended, diff, pareto, summarize
from openpick.store.records import AssertionResult, CaseResult, Grade, ModelInfo, RunInfo


def res(model, case, passed, *, score=None, variant="default", repeat=0, tags=(), error=None,
        pt=100, ct=50, ttft=0.2, total=1.0, tok_s=None, rss=None, cached=False, output="out"):
    grade = None if error else Grade(passed=passed, score=score if score is not None else float(passed),
                                     assertions=[AssertionResult(type="equals", passed=passed,
                                                                 score=float(passed))])
    return CaseResult(run_id="r", model=model, case_id=case, variant=variant, repeat=repeat,
                      tags=list(tags), input="q", output=None if error else output, error=error,
                      grade=grade, prompt_tokens=pt, completion_tokens=ct, ttft_s=ttft,
                      total_s=total, decode_tok_s=tok_s, peak_rss_bytes=rss, cached=cached)


def run_of(*models: ModelInfo) -> RunInfo:
    return RunInfo(id="r", suite="s", created_at="2025-01-01T00:00:00Z", models=list(models))


A, B = ModelInfo(name="A", spec="fake:a", engine="fake"), ModelInfo(name="B", spec="fake:b", engine="fake")


def paired(a_pass: list[bool], b_pass: list[bool]) -> list[CaseResult]:
    return ([res("A", f"c{i}", p) for i, p in enumerate(a_pass)]
            + [res("B", f"c{i}", p) for i, p in enumerate(b_pass)])


def test_pass_rate_and_wilson_interval_come_from_stats():
    rep = summarize(run_of(A), [res("A", f"c{i}", i < 21) for i in range(24)])
    (e,) = rep.entries
    assert (e.n_cases, e.passed, e.pass_rate) == (24, 21, 21 / 24)
    assert (e.pass_low, e.pass_high) == pytest.approx(stats.wilson(21, 24))
    assert e.pass_low < e.pass_rate < e.pass_high
    assert e.mean_score == pytest.approx(21 / 24)


def test_errors_are_failures_and_are_counted():
    rs = [res("A", "c0", True), res("A", "c1", True), res("A", "c2", False, error="timeout")]
    (e,) = summarize(run_of(A), rs).entries
    assert e.errors == 1 and e.n_cases == 3
    assert e.pass_rate == pytest.approx(2 / 3)
    assert e.mean_score == pytest.approx(2 / 3)
    assert e.prompt_tokens == 200  # the errored result used no tokens that we know of
    assert any("engine error" in n for n in summarize(run_of(A), rs).notes)


def test_repeats_are_averaged_per_case_not_counted_as_cases():
    rs = [res("A", "c0", True, repeat=0), res("A", "c0", False, repeat=1, score=0.0),
          res("A", "c1", True, repeat=0), res("A", "c1", True, repeat=1)]
    (e,) = summarize(run_of(A), rs).entries
    assert (e.n_cases, e.n_results) == (2, 4)
    assert e.pass_rate == pytest.approx(0.75)


def test_per_tag_breakdown():
    rs = [res("A", "c0", True, tags=["math"]), res("A", "c1", False, tags=["math"]),
          res("A", "c2", True, tags=["facts", "math"])]
    rep = summarize(run_of(A), rs)
    assert rep.tags == ["facts", "math"]
    tags = {t.tag: t for t in rep.entries[0].tags}
    assert (tags["math"].n, tags["math"].pass_rate) == (3, pytest.approx(2 / 3))
    assert (tags["facts"].n, tags["facts"].pass_rate) == (1, 1.0)
    assert (tags["math"].pass_low, tags["math"].pass_high) == pytest.approx(stats.wilson(2, 3))


def test_latency_ttft_speed_tokens_memory():
    rs = [res("A", f"c{i}", True, total=float(i + 1), ttft=0.1 * (i + 1), pt=10, ct=20,
              tok_s=None, rss=(i + 1) * 1000) for i in range(10)]
    rs.append(res("A", "failed", False, error="engine crashed"))  # no timing from an error
    (e,) = summarize(run_of(A), rs).entries
    assert e.latency_p50_s == pytest.approx(5.5)
    assert e.latency_p95_s == pytest.approx(9.55)
    assert e.ttft_p50_s == pytest.approx(0.55)
    # no decode speed reported: completion tokens over the time after the first token
    speeds = sorted(20 / ((i + 1) * 0.9) for i in range(10))
    assert e.output_tok_s == pytest.approx((speeds[4] + speeds[5]) / 2)
    assert (e.prompt_tokens, e.completion_tokens) == (10 * 10, 10 * 20)
    assert e.peak_rss_bytes == 10_000


def test_cached_results_keep_their_timings_and_say_so():
    rs = [res("A", "c0", True, total=3.0, cached=True), res("A", "c1", True, total=5.0, cached=True)]
    rep = summarize(run_of(A), rs)
    assert rep.entries[0].latency_p50_s == pytest.approx(4.0)
    assert any("from the cache" in n for n in rep.notes)


def test_cost_from_token_prices_blended_three_to_one():
    m = ModelInfo(name="A", spec="openai:x", engine="openai", usd_per_1m_input=1.0,
                  usd_per_1m_output=3.0, price_source="catalog:prov")
    (e,) = summarize(run_of(m), [res("A", "c0", True, pt=1000, ct=500)] * 1).entries
    assert e.price_basis == "tokens" and e.price_source == "catalog:prov"
    assert e.usd_per_1m_blended == pytest.approx((3 * 1.0 + 3.0) / 4) == blended(1.0, 3.0)
    assert e.cost_per_case_usd == pytest.approx((1000 * 1.0 + 500 * 3.0) / 1e6)
    assert e.cost_per_1k_cases_usd == pytest.approx(e.cost_per_case_usd * 1000)


def test_cost_of_self_hosted_model_from_machine_price_and_throughput():
    m = ModelInfo(name="A", spec="llama-cpp:x", engine="llama-cpp", machine_usd_per_hour=3.6)
    rs = [res("A", "c0", True, total=2.0, pt=100, ct=100), res("A", "c1", True, total=4.0, pt=100, ct=100)]
    (e,) = summarize(run_of(m), rs).entries
    assert e.price_basis == "machine"
    assert e.cost_per_case_usd == pytest.approx(0.001 * 3.0)        # $0.001/s × 3 s per case
    assert e.usd_per_1m_blended == pytest.approx(0.001 * 6.0 / 400 * 1e6)
    assert e.cost_per_1k_cases_usd == pytest.approx(3.0)


def test_unpriced_model_has_no_cost_and_a_note():
    rep = summarize(run_of(A), [res("A", "c0", True)])
    assert rep.entries[0].cost_per_case_usd is None
    assert any("no cost" in n for n in rep.notes)


def test_license_and_mof_class_come_from_model_info():
    m = ModelInfo(name="A", spec="hf:x", engine="transformers", license="Apache-2.0", mof_class=1,
                  record_id="org/a")
    (e,) = summarize(run_of(m), [res("A", "c0", True)]).entries
    assert (e.license, e.mof_class, e.record_id) == ("Apache-2.0", 1, "org/a")


def test_pairwise_significant_difference_verdict():
    a = [True] * 5 + [False] * 25
    b = [True] * 30
    rep = summarize(run_of(A, B), paired(a, b))
    assert [e.label for e in rep.entries] == ["B", "A"]  # sorted by pass rate
    (p,) = rep.pairwise
    assert (p.n, {p.a: p.a_only, p.b: p.b_only}) == (30, {"B": 25, "A": 0})
    assert p.mcnemar_p == pytest.approx(stats.mcnemar_p(p.a_only, p.b_only))
    assert p.test == "mcnemar" and p.p == p.mcnemar_p < 0.001   # scores are all 0 or 1
    assert p.better == "B"
    assert p.verdict == "B is better than A on this suite, p < 0.001"


def test_pairwise_no_difference_names_the_pair_and_says_how_many_cases():
    a = [i % 2 == 0 for i in range(30)]
    b = [i % 2 == 1 for i in range(30)]
    (p,) = summarize(run_of(A, B), paired(a, b)).pairwise
    assert p.better is None
    assert p.verdict.startswith("A vs B: no significant difference on 30 cases (p = ")


def test_pairwise_uses_only_shared_cases_and_bootstrap_for_partial_scores():
    rs = ([res("A", f"c{i}", True, score=0.6) for i in range(40)]
          + [res("B", f"c{i}", True, score=0.9) for i in range(40)]
          + [res("B", "only-b", False)])
    (p,) = summarize(run_of(A, B), rs).pairwise
    assert p.n == 40 and p.a_only == p.b_only == 0 and p.mcnemar_p == 1.0
    bs = stats.paired_bootstrap([0.6] * 40, [0.9] * 40)
    assert p.score_diff == pytest.approx(bs.diff) == pytest.approx(0.3)
    assert (p.score_low, p.score_high, p.bootstrap_p) == pytest.approx((bs.low, bs.high, bs.p_value))
    # identical pass/fail, so only the scores can tell them apart: the bootstrap decides
    assert p.test == "bootstrap" and p.better == "B"
    assert p.verdict == "B is better than A on this suite, p < 0.001"


def test_prompt_variants_are_separate_entries_and_compared():
    rs = ([res("A", f"c{i}", True, variant="terse") for i in range(3)]
          + [res("A", f"c{i}", i == 0, variant="verbose") for i in range(3)])
    rep = summarize(run_of(A), rs)
    assert rep.variants == ["terse", "verbose"]
    assert [e.label for e in rep.entries] == ["A [terse]", "A [verbose]"]
    assert len(rep.pairwise) == 1 and rep.n_cases == 3


def test_pareto_frontier_over_quality_and_cost_and_speed():
    models = [ModelInfo(name=n, spec=f"fake:{n}", engine="fake", usd_per_1m_input=price,
                        usd_per_1m_output=price) for n, price in (("cheap", 1.0), ("good", 10.0), ("bad", 20.0))]
    rs = []
    for n, k, speed in (("cheap", 5, 50.0), ("good", 9, 20.0), ("bad", 4, 10.0)):
        rs += [res(n, f"c{i}", i < k, tok_s=speed) for i in range(10)]
    rep = summarize(run_of(*models), rs)
    assert set(rep.pareto_cost) == {"cheap", "good"}   # "bad" is worse and dearer than both
    assert set(rep.pareto_speed) == {"cheap", "good"}


def test_pareto_helper_keeps_ties_and_drops_dominated():
    pts = [("a", 0.9, 1.0), ("b", 0.9, 1.0), ("c", 0.8, 2.0), ("d", 0.5, 0.5)]
    assert pareto(pts, lower_x_better=True) == ["a", "b", "d"]
    assert pareto([("x", 0.5, 10.0), ("y", 0.6, 5.0)], lower_x_better=False) == ["x", "y"]


def test_empty_run_summarizes_to_nothing():
    rep = summarize(run_of(A), [])
    assert rep.entries == [] and rep.pairwise == [] and rep.n_cases == 0


def test_diff_reports_improved_regressed_added_removed_per_model():
    before = [res("A", "c0", False), res("A", "c1", True), res("A", "c2", True), res("B", "c0", True)]
    after = [res("A", "c0", True, output="new"), res("A", "c1", False), res("A", "c3", True),
             res("B", "c0", True)]
    changes = {(c.model, c.case_id): c for c in diff(before, after)}
    assert {k: c.change for k, c in changes.items()} == {
        ("A", "c0"): "improved", ("A", "c1"): "regressed", ("A", "c2"): "removed", ("A", "c3"): "added"}
    assert changes[("A", "c0")].after_output == "new"
    everything = diff(before, after, include_unchanged=True)
    assert any(c.model == "B" and c.change == "unchanged" for c in everything)
