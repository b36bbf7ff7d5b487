"""Properties the statistics must hold for every input, checked with generated inputs.

The central one: no test may claim more than its data allow. With m informative cases
(discordant pass/fail pairs, or cases whose scores differ) no exact two-sided test can give a
p-value below 2/2^m, so fewer than 6 such cases can never yield a verdict of "better".
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpick.evals.stats import bradley_terry, mcnemar, paired_bootstrap, verdict, wilson

EXAMPLES = 200
# derandomized and without an example database: reruns try the same inputs, nothing is
# written into the tree; no deadline, the machine is shared and slow
PROPS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])

# scores: mostly a coarse grid (so ties and equal differences are common), sometimes any float
score = st.one_of(st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.75, 0.9, 1.0]),
                  st.floats(0.0, 1.0, allow_nan=False))
# one case: (A passed, B passed, A's score, B's score)
case = st.tuples(st.booleans(), st.booleans(), score, score)
cases = st.lists(case, max_size=40)
small_cases = st.lists(case, min_size=1, max_size=5)


def columns(cs):
    return ([c[0] for c in cs], [c[1] for c in cs], [c[2] for c in cs], [c[3] for c in cs])


def floor_p(m: int) -> float:
    """The smallest two-sided p an exact test can reach with m informative cases."""
    return min(1.0, 2.0 / 2**m)


def informative(v, pa, pb, sa, sb) -> int:
    """The cases the verdict's test can learn from."""
    if v.test == "mcnemar":
        return sum(x != y for x, y in zip(pa, pb))
    return sum(x != y for x, y in zip(sa, sb))


# ----------------------------------------------------------------------------- Wilson

@PROPS
@given(st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_is_inside_0_1_and_holds_the_observed_rate(kn):
    k, n = kn
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= hi <= 1.0
    if n == 0:
        assert (lo, hi) == (0.0, 1.0)
    else:
        assert lo <= k / n <= hi
        assert hi - lo > 0          # never a zero-width claim of certainty


# ----------------------------------------------------------------------------- McNemar

@PROPS
@given(cases)
def test_mcnemar_p_is_a_probability_no_smaller_than_the_exact_floor(cs):
    pa, pb, _, _ = columns(cs)
    m = mcnemar(pa, pb)
    assert 0.0 < m.p_value <= 1.0
    assert m.p_value >= floor_p(m.a_only + m.b_only) * (1 - 1e-12)


@PROPS
@given(cases)
def test_mcnemar_is_symmetric_in_the_two_models(cs):
    pa, pb, _, _ = columns(cs)
    ab, ba = mcnemar(pa, pb), mcnemar(pb, pa)
    assert (ab.a_only, ab.b_only) == (ba.b_only, ba.a_only)
    assert ab.p_value == ba.p_value


# ----------------------------------------------------------------------------- paired scores

@PROPS
@given(cases)
def test_paired_p_is_a_probability_no_smaller_than_the_exact_floor(cs):
    _, _, sa, sb = columns(cs)
    r = paired_bootstrap(sa, sb)
    nonzero = sum(x != y for x, y in zip(sa, sb))
    assert r.nonzero <= nonzero
    assert 0.0 < r.p_value <= 1.0
    assert r.p_value >= floor_p(nonzero) * (1 - 1e-12)
    assert r.p_value >= floor_p(r.nonzero) * (1 - 1e-12)
    if cs:
        assert r.low <= r.diff + 1e-12 and r.diff <= r.high + 1e-12


@PROPS
@given(cases)
def test_paired_test_is_symmetric_in_the_two_models(cs):
    _, _, sa, sb = columns(cs)
    ab, ba = paired_bootstrap(sa, sb), paired_bootstrap(sb, sa)
    assert ab.p_value == ba.p_value
    assert (ab.nonzero, ab.exact) == (ba.nonzero, ba.exact)
    assert ab.diff == -ba.diff


# ----------------------------------------------------------------------------- verdicts

SWAP = {"A": "B", "B": "A", None: None}


@PROPS
@given(cases, st.sampled_from(["auto", "mcnemar", "bootstrap"]))
def test_verdict_swaps_its_winner_and_keeps_its_p_when_the_models_swap(cs, test):
    pa, pb, sa, sb = columns(cs)
    ab = verdict("A", "B", pa, pb, sa, sb, test=test)
    ba = verdict("A", "B", pb, pa, sb, sa, test=test)
    assert ab.test == ba.test
    assert ab.p_value == ba.p_value
    assert ba.winner == SWAP[ab.winner]


@PROPS
@given(cases, st.sampled_from(["auto", "mcnemar", "bootstrap"]))
def test_verdict_never_says_better_on_fewer_cases_than_can_reach_p_005(cs, test):
    pa, pb, sa, sb = columns(cs)
    v = verdict("A", "B", pa, pb, sa, sb, test=test)
    assert 0.0 < v.p_value <= 1.0
    m = informative(v, pa, pb, sa, sb)
    assert v.p_value >= floor_p(m) * (1 - 1e-12)
    if m < 6:       # 2/2^5 = 0.0625: five informative cases cannot reach 0.05
        assert v.winner is None and "better" not in v.text
    if v.winner is not None:
        assert v.p_value < 0.05


@PROPS
@given(small_cases, st.sampled_from(["auto", "mcnemar", "bootstrap"]))
def test_verdict_on_five_cases_or_fewer_is_never_better(cs, test):
    pa, pb, sa, sb = columns(cs)
    # even the most lopsided five: B passes and wins every case by the largest margin
    for args in [(pa, pb, sa, sb), ([False] * len(cs), [True] * len(cs),
                                    [0.0] * len(cs), [1.0] * len(cs))]:
        v = verdict("A", "B", *args, test=test)
        assert v.winner is None and v.p_value >= 0.0625


# ----------------------------------------------------------------------------- Bradley-Terry

name = st.sampled_from(["ant", "bee", "cat", "dog"])
vote = st.tuples(name, name, st.sampled_from([0.0, 0.5, 1.0])).filter(lambda v: v[0] != v[1])


def rewritten(votes, flips):
    """The same votes, some written from the other side: (a, b, o) is (b, a, 1 - o)."""
    return [(y, x, 1.0 - o) if f else (x, y, o) for (x, y, o), f in zip(votes, flips)]


@PROPS
@given(st.lists(vote, min_size=1, max_size=25).flatmap(
    lambda vs: st.tuples(st.just(vs), st.permutations(vs),
                         st.lists(st.booleans(), min_size=len(vs), max_size=len(vs)))))
def test_bradley_terry_ignores_the_order_the_votes_came_in(data):
    votes, shuffled, flips = data
    first = bradley_terry(votes, bootstrap=30, seed=0)
    again = bradley_terry(rewritten(shuffled, flips), bootstrap=30, seed=0)
    assert [r.name for r in first] == [r.name for r in again]
    for r, s in zip(first, again):
        assert r.games == s.games
        assert math.isclose(r.rating, s.rating, abs_tol=1e-9)
        assert math.isclose(r.low, s.low, abs_tol=1e-9)
        assert math.isclose(r.high, s.high, abs_tol=1e-9)


@PROPS
@given(st.lists(vote, min_size=1, max_size=25), st.permutations(["ant", "bee", "cat", "dog"]))
def test_bradley_terry_ignores_the_order_of_the_names_given(votes, names):
    a = bradley_terry(votes, names=names, bootstrap=10, seed=0)
    b = bradley_terry(votes, names=sorted(names), bootstrap=10, seed=0)
    assert a == b
    assert len(a) == 4 and math.isclose(sum(r.rating for r in a) / 4, 1000.0, abs_tol=1e-6)


# ----------------------------------------------------------------------------- honest ratings

ONE_VOTE_MAX_GAP = 125.0    # Elo points: one win under the N(0, 1) prior moves ratings ~117 apart


@PROPS
@given(st.lists(vote, min_size=1, max_size=25))
def test_bradley_terry_interval_is_never_zero_width_with_a_vote(votes):
    ratings = bradley_terry(votes)
    assert len(ratings) >= 2
    for r in ratings:
        assert r.low < r.rating < r.high
        assert r.high - r.low > 10.0     # at most 25 votes: nowhere near certainty


@PROPS
@given(vote)
def test_one_vote_never_gives_a_large_gap(v):
    ratings = bradley_terry([v])
    gap = ratings[0].rating - ratings[-1].rating
    assert 0.0 <= gap <= ONE_VOTE_MAX_GAP
    # and the two intervals overlap: one vote cannot tell two models apart
    assert ratings[-1].high > ratings[0].low


@PROPS
@given(st.lists(vote, min_size=1, max_size=15), st.integers(2, 4))
def test_bradley_terry_intervals_shrink_as_the_same_votes_repeat(votes, times):
    once = {r.name: r.high - r.low for r in bradley_terry(votes)}
    more = {r.name: r.high - r.low for r in bradley_terry(votes * times)}
    for m, width in once.items():
        assert more[m] < width + 1e-9


@PROPS
@given(st.lists(vote, min_size=1, max_size=15))
def test_bradley_terry_bootstrap_never_narrows_the_laplace_interval(votes):
    laplace = {r.name: r for r in bradley_terry(votes)}
    both = bradley_terry(votes, bootstrap=20, seed=1)
    for r in both:
        assert math.isclose(r.rating, laplace[r.name].rating, abs_tol=1e-9)
        assert r.low <= laplace[r.name].low + 1e-9 and r.high >= laplace[r.name].high - 1e-9


@PROPS
@given(st.lists(st.tuples(vote, st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=20)
       .flatmap(lambda vs: st.tuples(st.just(vs), st.permutations(vs),
                                     st.lists(st.booleans(), min_size=len(vs), max_size=len(vs)))))
def test_style_controlled_fit_ignores_order_and_side(data):
    """With covariates (a's minus b's style), writing a vote from the other side negates them."""
    from openpick.evals.stats import bradley_terry_fit

    rows, shuffled, flips = data

    def fit(rs, fl):
        comps, xs = [], []
        for ((a, b, o), x1, x2), f in zip(rs, fl):
            comps.append((b, a, 1.0 - o) if f else (a, b, o))
            xs.append([-x1, -x2] if f else [x1, x2])
        return bradley_terry_fit(comps, covariates=xs, covariate_names=["length", "bold"])

    first, again = fit(rows, [False] * len(rows)), fit(shuffled, flips)
    for r, s in zip(first.ratings, again.ratings):
        assert r.name == s.name and math.isclose(r.rating, s.rating, abs_tol=1e-7)
        assert math.isclose(r.high - r.low, s.high - s.low, abs_tol=1e-7)
        assert r.high - r.low > 0
    for c, d in zip(first.coefficients, again.coefficients):
        assert c.name == d.name and math.isclose(c.value, d.value, abs_tol=1e-9)
        assert c.low < c.value < c.high
