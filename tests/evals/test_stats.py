"""Statistics against known values."""

from __future__ import annotations

import math
import random

import pytest

from openpick.evals.stats import (
    bradley_terry,
    format_p,
    mcnemar,
    mcnemar_p,
    paired_bootstrap,
    pass_rate,
    percentile,
    sign_flip_p,
    verdict,
    wilson,
)


def test_wilson_known_values():
    # 8/10: the textbook Wilson 95% interval is 0.490 to 0.943
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-4) and hi == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_pass_rate_and_percentile():
    pr = pass_rate([True] * 8 + [False] * 2)
    assert (pr.passed, pr.n, pr.rate) == (8, 10, 0.8)
    assert pr.low == pytest.approx(0.4902, abs=1e-4)
    assert percentile([1, 2, 3, 4, None], 50) == 2.5
    assert percentile([None], 95) is None


def test_mcnemar_known_table():
    # discordant pairs 1 vs 9: exact two-sided p = 2 * (C(10,0) + C(10,1)) / 2**10
    assert mcnemar_p(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_p(9, 1) == pytest.approx(22 / 1024)
    assert mcnemar_p(5, 5) == pytest.approx(1.0)
    assert mcnemar_p(0, 0) == 1.0
    # all k discordant pairs one way: 2/2^k, capped at 1; fewer than 6 cannot reach 0.05
    assert [mcnemar_p(0, k) for k in (1, 2, 5, 6)] == [1.0, 2 / 2**2, 2 / 2**5, 2 / 2**6]
    assert mcnemar_p(3, 4) == 1.0
    a = [True] * 10 + [True] * 1 + [False] * 9 + [False] * 5
    b = [True] * 10 + [False] * 1 + [True] * 9 + [False] * 5
    m = mcnemar(a, b)
    assert (m.n, m.a_only, m.b_only) == (25, 1, 9)
    assert m.p_value == pytest.approx(0.021484375)
    with pytest.raises(ValueError):
        mcnemar([True], [True, False])


def test_paired_bootstrap_is_seeded_and_sensible():
    rng = random.Random(0)
    a = [rng.random() * 0.5 for _ in range(40)]
    b = [x + 0.3 for x in a]
    r1 = paired_bootstrap(a, b, seed=1)
    r2 = paired_bootstrap(a, b, seed=1)
    assert r1 == r2
    assert r1.diff == pytest.approx(0.3) and r1.low > 0 and r1.p_value < 0.001
    assert (r1.nonzero, r1.exact) == (40, False)       # 40 > 20 differences: Monte Carlo
    assert r1.p_value == pytest.approx(1 / 10_001)      # its floor, never the impossible 0
    noisy = [x + rng.choice([-0.2, 0.2]) for x in a]
    r = paired_bootstrap(a, noisy, seed=0)
    assert r.low < 0 < r.high or r.p_value > 0.01
    same = paired_bootstrap(a, a)
    assert same.diff == 0 and same.p_value == 1.0
    assert paired_bootstrap([], []).p_value == 1.0
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 0.0])


@pytest.mark.parametrize("n", [1, 2, 5, 6, 10, 20])
def test_constant_difference_p_is_exact_two_over_two_to_the_n(n):
    # every case 0.2 vs 0.5: only the all-up and all-down sign patterns are as extreme
    r = paired_bootstrap([0.2] * n, [0.5] * n)
    assert r.exact and r.nonzero == n
    assert r.p_value == min(1.0, 2 / 2**n)
    assert (r.diff, r.low, r.high) == pytest.approx((0.3, 0.3, 0.3))


def test_one_case_is_never_significant():
    v = verdict("A", "B", [False], [False], [0.2], [0.5])
    assert v.winner is None and v.p_value == 1.0
    assert v.text == "no significant difference on 1 case (p = 1.00)"
    five = verdict("A", "B", [False] * 5, [False] * 5, [0.2] * 5, [0.5] * 5)
    assert five.winner is None and five.p_value == 0.0625
    six = verdict("A", "B", [False] * 6, [False] * 6, [0.2] * 6, [0.5] * 6)
    assert six.winner == "B" and six.text == "B is better than A on this suite, p = 0.03"


def test_sign_flip_enumerated_by_hand():
    # differences +0.3, -0.1, +0.3, +0.4 and a tie (dropped): |sum| = 0.9. Of the 16 sign
    # patterns of (0.3, 0.1, 0.3, 0.4) those with |sum| >= 0.9 are ±(+,+,+,+) = ±1.1 and
    # ±(+,-,+,+) = ±0.9: 4 of 16.
    diffs = [0.3, -0.1, 0.3, 0.4, 0.0]
    assert sign_flip_p(diffs) == (pytest.approx(4 / 16), 4, True)
    r = paired_bootstrap([0.2, 0.4, 0.3, 0.5, 0.1], [0.5, 0.3, 0.6, 0.9, 0.1])
    assert r.p_value == pytest.approx(0.25) and r.nonzero == 4
    # a balanced +-0.2 pair: observed |sum| 0, so every pattern is as extreme
    assert sign_flip_p([0.2, -0.2])[0] == 1.0
    assert sign_flip_p([0.0, 0.0]) == (1.0, 0, True)


def test_sign_flip_monte_carlo_is_seeded_and_agrees_with_exact():
    rng = random.Random(5)
    diffs = [rng.choice([-1, 1]) * rng.random() + 0.15 for _ in range(20)]
    exact, m, is_exact = sign_flip_p(diffs)
    assert (m, is_exact) == (20, True)
    # the same 20 differences and a 21st tiny one: Monte Carlo, close to the exact value
    mc, m21, mc_exact = sign_flip_p([*diffs, 1e-6], resamples=20_000, seed=3)
    assert (m21, mc_exact) == (21, False)
    assert mc == sign_flip_p([*diffs, 1e-6], resamples=20_000, seed=3)[0]
    assert abs(mc - exact) < 0.02


def test_verdict_plain_words():
    a = [True] * 5 + [False] * 25
    b = [True] * 20 + [False] * 10
    v = verdict("A", "B", a, b)
    assert v.text == "B is better than A on this suite, p < 0.001"
    assert v.winner == "B" and v.test == "mcnemar" and "only B passed 15" in v.detail
    v = verdict("A", "B", b, a, suite="support-bot")
    assert v.text.startswith("A is better than B on support-bot")
    same = verdict("A", "B", [True] * 15 + [False] * 15, [True] * 16 + [False] * 14)
    assert same.text.startswith("no significant difference on 30 cases")
    assert same.winner is None
    assert verdict("A", "B", [], []).text == "no cases to compare"


def test_verdict_example_p_value_format():
    # 1 vs 12 discordant pairs: p = 0.0034
    a = [True] * 1 + [False] * 12 + [True] * 10
    b = [False] * 1 + [True] * 12 + [True] * 10
    v = verdict("A", "B", a, b)
    assert v.text == "B is better than A on this suite, p = 0.003"


def test_verdict_uses_bootstrap_for_partial_scores():
    a_scores = [0.2, 0.4, 0.3, 0.5] * 8
    b_scores = [0.6, 0.9, 0.7, 0.8] * 8
    passes = [False] * 32
    v = verdict("A", "B", passes, passes, a_scores, b_scores)
    assert v.test == "bootstrap" and v.winner == "B"
    assert v.detail.startswith("paired sign-flip test (Monte Carlo) on 32 cases, 32 with")
    assert "difference +0.400 (bootstrap 95% CI +0.3" in v.detail
    v = verdict("A", "B", passes, passes, [0.0] * 32, [0.0] * 32)
    assert v.test == "mcnemar"
    with pytest.raises(ValueError):
        verdict("A", "B", passes, passes, test="bootstrap")


def test_format_p():
    assert format_p(0.0004) == "p < 0.001"
    assert format_p(0.0034) == "p = 0.003"
    assert format_p(0.42) == "p = 0.42"


def test_bradley_terry_recovers_a_known_order():
    strengths = {"a": 1.5, "b": 0.5, "c": -0.5, "d": -1.5}
    rng = random.Random(3)
    comps = []
    for _ in range(800):
        x, y = rng.sample(sorted(strengths), 2)
        p = 1 / (1 + math.exp(-(strengths[x] - strengths[y])))
        comps.append((x, y) if rng.random() < p else (y, x))
    ratings = bradley_terry(comps, bootstrap=50, seed=0)
    assert [r.name for r in ratings] == ["a", "b", "c", "d"]
    assert sum(r.rating for r in ratings) / 4 == pytest.approx(1000.0)
    for r in ratings:
        assert r.low <= r.rating <= r.high
    # a unit of log-strength is about 174 Elo points
    gap = ratings[0].rating - ratings[-1].rating
    assert 350 < gap < 700
    assert bradley_terry(comps, bootstrap=50, seed=0) == ratings


def test_bradley_terry_ties_unbeaten_and_empty():
    r = bradley_terry([("x", "y", 0.5)] * 10, bootstrap=0)
    assert r[0].rating == pytest.approx(r[1].rating)
    unbeaten = bradley_terry([("x", "y")] * 5, bootstrap=20)
    assert unbeaten[0].name == "x" and math.isfinite(unbeaten[0].rating)
    assert bradley_terry([]) == []
    only = bradley_terry([], names=["solo"])
    assert only[0].rating == 1000.0 and only[0].games == 0
    with pytest.raises(ValueError):
        bradley_terry([("x", "y", 2)])
