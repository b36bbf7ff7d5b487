"""Honest statistics for small suites: intervals, paired tests, ratings, plain verdicts.

- `wilson(k, n)`: 95% Wilson score interval for a pass rate (good at small n and at 0 or n).
- `mcnemar(a, b)`: exact McNemar test for paired pass/fail on the same cases: a two-sided
  binomial test on the discordant pairs (cases exactly one model passed).
- `paired_bootstrap(a, b)`: the mean score difference b − a with a bootstrap 95% interval
  (resampling cases) and the two-sided p-value of a paired sign-flip test on the per-case
  differences: exact for up to 20 differing cases, seeded Monte Carlo above (reruns agree).
  With m differing cases no p-value below 2/2^m is possible, so fewer than 6 never reach 0.05.
- `bradley_terry(comparisons)`: ratings from pairwise wins (the arena), on an Elo-like scale,
  with bootstrap 95% intervals.
- `verdict(...)`: one plain sentence, e.g. "B is better than A on this suite, p = 0.003"
  or "no significant difference on 30 cases".

numpy and scipy are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


# ----------------------------------------------------------------------------- pass rates

def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, n], got k={k}, n={n}")
    p = k / n
    z2 = z * z
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # the interval always holds k/n; at k = 0 or n rounding could leave it a hair outside
    return max(0.0, min(p, center - half)), min(1.0, max(p, center + half))


@dataclass(frozen=True)
class PassRate:
    passed: int
    n: int
    rate: float
    low: float
    high: float


def pass_rate(passes: Sequence[bool]) -> PassRate:
    k, n = sum(1 for p in passes if p), len(passes)
    lo, hi = wilson(k, n)
    return PassRate(k, n, k / n if n else 0.0, lo, hi)


def percentile(values: Sequence[float | None], q: float) -> float | None:
    """The q-th percentile (0..100) of the values that are not None; None when empty."""
    import numpy as np

    vals = [v for v in values if v is not None]
    return float(np.percentile(vals, q)) if vals else None


# ----------------------------------------------------------------------------- paired tests

@dataclass(frozen=True)
class McNemar:
    n: int              # paired cases
    a_only: int         # cases only A passed
    b_only: int         # cases only B passed
    p_value: float


def mcnemar(a_passed: Sequence[bool], b_passed: Sequence[bool]) -> McNemar:
    """Exact (binomial) McNemar test on paired pass/fail results, two-sided."""
    if len(a_passed) != len(b_passed):
        raise ValueError("paired results must have the same length")
    a_only = sum(1 for a, b in zip(a_passed, b_passed) if a and not b)
    b_only = sum(1 for a, b in zip(a_passed, b_passed) if b and not a)
    return McNemar(len(a_passed), a_only, b_only, mcnemar_p(a_only, b_only))


def mcnemar_p(a_only: int, b_only: int) -> float:
    """Two-sided exact p-value from the discordant counts (1.0 when there are none).

    Under the null each discordant pair goes either way with probability 1/2; the binomial is
    then symmetric, so the two-sided p is twice the smaller tail, capped at 1 (2/2^d at best
    with d discordant pairs). Written with min() so swapping the models gives the same p.
    """
    d = a_only + b_only
    if d == 0:
        return 1.0
    from scipy.stats import binom

    return float(min(1.0, 2.0 * binom.cdf(min(a_only, b_only), d, 0.5)))


@dataclass(frozen=True)
class Bootstrap:
    """The paired score comparison: the mean difference with a bootstrap 95% interval, and
    the p-value of an exact (or, for many cases, Monte Carlo) paired sign-flip test. The
    name is kept from when the p-value came from the bootstrap too."""

    n: int
    mean_a: float
    mean_b: float
    diff: float         # mean(b) − mean(a)
    low: float          # bootstrap 95% percentile interval of the difference
    high: float
    p_value: float      # two-sided, paired sign-flip test
    nonzero: int = 0    # cases whose scores differ: the only ones the sign-flip test can use
    exact: bool = True  # all 2^nonzero sign patterns enumerated (else seeded Monte Carlo)


EXACT_SIGN_FLIP_MAX = 20    # up to this many non-zero differences, enumerate every pattern


def sign_flip_p(diffs: Sequence[float], *, resamples: int = 10_000,
                seed: int = 0) -> tuple[float, int, bool]:
    """Two-sided paired permutation (sign-flip) p-value of the mean of `diffs`.

    Under the null of no difference each case's difference is as likely positive as negative,
    so every sign pattern of the m non-zero differences is equally likely; the p-value is the
    share of patterns whose |sum| is at least the observed one. Exact enumeration when
    m <= EXACT_SIGN_FLIP_MAX, so its floor is 2/2^m; above that a seeded Monte Carlo with the
    +1 correction, whose floor 1/(resamples + 1) is above 2/2^m. Returns (p, m, exact).
    """
    import numpy as np

    d = np.asarray(diffs, dtype=float)
    scale = max(1.0, float(np.max(np.abs(d)))) if d.size else 1.0
    d = d[np.abs(d) > 1e-12 * scale]          # zero differences carry no sign to flip
    m = int(d.size)
    if m == 0:
        return 1.0, 0, True
    mags = np.abs(d)
    observed = abs(float(np.sum(d)))
    tol = 1e-9 * float(np.sum(mags))          # float noise must not make a pattern "less extreme"
    if observed <= tol:
        return 1.0, m, True
    if m <= EXACT_SIGN_FLIP_MAX:
        # |sum| is symmetric under flipping every sign, so fix the first sign: 2^(m-1) patterns
        sums = np.array([mags[0]])
        for x in mags[1:]:
            sums = np.concatenate([sums + x, sums - x])
        extreme = int(np.count_nonzero(np.abs(sums) >= observed - tol))
        return extreme / sums.size, m, True
    rng = np.random.default_rng(seed)
    extreme, left = 0, resamples
    while left:
        rows = min(left, max(1, 2_000_000 // m))  # bounded memory per chunk
        signs = rng.integers(0, 2, size=(rows, m)) * 2.0 - 1.0
        extreme += int(np.count_nonzero(np.abs(signs @ mags) >= observed - tol))
        left -= rows
    p = (extreme + 1) / (resamples + 1)
    return max(p, 2.0 ** (1 - m)), m, False   # never below what exact enumeration allows


def paired_bootstrap(a_scores: Sequence[float], b_scores: Sequence[float], *,
                     resamples: int = 10_000, seed: int = 0) -> Bootstrap:
    """Paired comparison of the mean score difference b − a over cases.

    The 95% interval comes from resampling cases (a percentile bootstrap); the two-sided
    p-value from the paired sign-flip test (`sign_flip_p`), which is exact for small suites.
    A bootstrap p-value is not used: when every difference is the same, every resample has
    the same mean and it would claim significance from a single case. Seeded, so reruns agree.
    """
    import numpy as np

    a = np.asarray(a_scores, dtype=float)
    b = np.asarray(b_scores, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired scores must have the same length")
    n = a.size
    if n == 0:
        return Bootstrap(0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0, True)
    d = b - a
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    low, high = np.percentile(d[idx].mean(axis=1), [2.5, 97.5])
    p, m, exact = sign_flip_p(d, resamples=resamples, seed=seed)
    return Bootstrap(n, float(a.mean()), float(b.mean()), float(d.mean()), float(low),
                     float(high), float(p), m, exact)


# ----------------------------------------------------------------------------- verdicts

@dataclass(frozen=True)
class Verdict:
    text: str                   # the plain sentence
    winner: str | None          # the better model's name, None when no significant difference
    p_value: float
    test: str                   # "mcnemar" or "bootstrap" (the scores: sign-flip p, bootstrap CI)
    n: int
    detail: str                 # the counts behind it, for a report's small print


def format_p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def verdict(name_a: str, name_b: str, a_passed: Sequence[bool], b_passed: Sequence[bool],
            a_scores: Sequence[float] | None = None, b_scores: Sequence[float] | None = None,
            *, alpha: float = 0.05, test: str = "auto", suite: str = "this suite",
            seed: int = 0) -> Verdict:
    """Compare two models on the same cases (aligned lists) in one plain sentence.

    test="mcnemar" uses pass/fail; "bootstrap" uses scores (the paired sign-flip test, with
    a bootstrap interval); "auto" (default) uses the scores only when they are given and some
    are partial (not 0 or 1), since then pass/fail throws information away, and McNemar
    otherwise. One test, chosen up front:
    trying both and reporting the smaller p would overstate the evidence.
    """
    n = len(a_passed)
    if len(b_passed) != n:
        raise ValueError("paired results must have the same length")
    if test not in ("auto", "mcnemar", "bootstrap"):
        raise ValueError("test must be auto, mcnemar or bootstrap")
    have_scores = a_scores is not None and b_scores is not None
    if test == "bootstrap" and not have_scores:
        raise ValueError("the bootstrap test needs scores")
    if test == "auto":
        partial = have_scores and any(0.0 < s < 1.0 for s in [*a_scores, *b_scores])
        test = "bootstrap" if partial else "mcnemar"
    cases = f"{n} case{'s' if n != 1 else ''}"
    if n == 0:
        return Verdict("no cases to compare", None, 1.0, test, 0, "")
    if test == "mcnemar":
        m = mcnemar(a_passed, b_passed)
        p, sign = m.p_value, m.b_only - m.a_only
        detail = (f"exact McNemar on {cases}: only {name_a} passed {m.a_only}, "
                  f"only {name_b} passed {m.b_only}")
    else:
        bs = paired_bootstrap(a_scores, b_scores, seed=seed)
        p, sign = bs.p_value, bs.diff
        how = "exact" if bs.exact else "Monte Carlo"
        detail = (f"paired sign-flip test ({how}) on {cases}, {bs.nonzero} with different "
                  f"scores: mean score {name_a} {bs.mean_a:.3f}, {name_b} {bs.mean_b:.3f}, "
                  f"difference {bs.diff:+.3f} (bootstrap 95% CI {bs.low:+.3f} to {bs.high:+.3f})")
    if p < alpha and sign != 0:
        better, worse = (name_b, name_a) if sign > 0 else (name_a, name_b)
        text = f"{better} is better than {worse} on {suite}, {format_p(p)}"
        return Verdict(text, better, p, test, n, detail)
    text = f"no significant difference on {cases} ({format_p(p)})"
    return Verdict(text, None, p, test, n, detail)


# ----------------------------------------------------------------------------- Bradley-Terry

@dataclass(frozen=True)
class Rating:
    name: str
    rating: float       # Elo-like: 400 points ≈ 10:1 odds; the mean rating is `anchor`
    low: float          # bootstrap 95% interval
    high: float
    games: int


def _fit_bt(names: list[str], wins, l2: float):
    """Maximum-likelihood log-strengths; wins[i, j] = (fractional) wins of i over j.

    A small L2 pull toward 0 keeps the fit finite when a model won (or lost) every game.
    """
    import numpy as np
    from scipy.optimize import minimize

    k = len(names)

    def nll(theta):
        diff = theta[:, None] - theta[None, :]
        # -log P(i beats j) = log(1 + exp(-(θi − θj)))
        loss = np.sum(wins * np.logaddexp(0.0, -diff)) + l2 * np.sum(theta ** 2)
        q = wins / (1.0 + np.exp(diff))  # w_ij · (1 − σ(θi − θj))
        grad = -q.sum(axis=1) + q.sum(axis=0) + 2 * l2 * theta
        return loss, grad

    res = minimize(nll, np.zeros(k), jac=True, method="L-BFGS-B")
    theta = res.x - res.x.mean()
    return theta


def bradley_terry(comparisons: Sequence[tuple], *, names: Sequence[str] | None = None,
                  bootstrap: int = 200, seed: int = 0, scale: float = 400.0,
                  anchor: float = 1000.0, l2: float = 0.01) -> list[Rating]:
    """Ratings from pairwise comparisons, best first.

    Each comparison is `(winner, loser)` or `(a, b, outcome)` with outcome 1 (a won),
    0 (b won) or 0.5 (a tie: half a win each). Ratings are on an Elo-like scale
    (`scale`/ln(10) per unit of log-strength, mean `anchor`); intervals come from
    resampling the comparisons `bootstrap` times (seeded). The result depends only on the
    multiset of comparisons, not on their order: they are put in a canonical order (each
    written from its alphabetically first model, then sorted) before resampling.
    """
    import numpy as np

    triples = []
    for c in comparisons:
        if len(c) == 2:
            triples.append((c[0], c[1], 1.0))
        elif len(c) == 3 and c[2] in (0, 0.5, 1):
            triples.append((c[0], c[1], float(c[2])))
        else:
            raise ValueError(f"a comparison is (winner, loser) or (a, b, 1|0|0.5), got {c!r}")
    triples = sorted((x, y, o) if x <= y else (y, x, 1.0 - o) for x, y, o in triples)
    all_names = sorted({*(names or []), *(t[0] for t in triples), *(t[1] for t in triples)})
    if not all_names:
        return []
    index = {m: i for i, m in enumerate(all_names)}
    k = len(all_names)
    ia = np.array([index[t[0]] for t in triples], dtype=int)
    ib = np.array([index[t[1]] for t in triples], dtype=int)
    out = np.array([t[2] for t in triples], dtype=float)

    def wins_of(sel):
        w = np.zeros((k, k))
        np.add.at(w, (ia[sel], ib[sel]), out[sel])
        np.add.at(w, (ib[sel], ia[sel]), 1.0 - out[sel])
        return w

    to_elo = scale / math.log(10)
    all_sel = np.arange(len(triples))
    theta = _fit_bt(all_names, wins_of(all_sel), l2) if triples else np.zeros(k)
    point = anchor + to_elo * theta
    if bootstrap and triples:
        rng = np.random.default_rng(seed)
        samples = np.empty((bootstrap, k))
        for s in range(bootstrap):
            sel = rng.integers(0, len(triples), size=len(triples))
            samples[s] = anchor + to_elo * _fit_bt(all_names, wins_of(sel), l2)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    else:
        low, high = point.copy(), point.copy()
    games = np.bincount(np.concatenate([ia, ib]), minlength=k) if triples else np.zeros(k, int)
    ratings = [Rating(m, float(point[i]), float(low[i]), float(high[i]), int(games[i]))
               for i, m in enumerate(all_names)]
    return sorted(ratings, key=lambda r: -r.rating)
