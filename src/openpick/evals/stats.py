"""Honest statistics for small suites: intervals, paired tests, ratings, plain verdicts.

- `wilson(k, n)`: 95% Wilson score interval for a pass rate (good at small n and at 0 or n).
- `mcnemar(a, b)`: exact McNemar test for paired pass/fail on the same cases: a two-sided
  binomial test on the discordant pairs (cases exactly one model passed).
- `paired_bootstrap(a, b)`: the mean score difference b − a with a bootstrap 95% interval
  (resampling cases) and the two-sided p-value of a paired sign-flip test on the per-case
  differences: exact for up to 20 differing cases, seeded Monte Carlo above (reruns agree).
  With m differing cases no p-value below 2/2^m is possible, so fewer than 6 never reach 0.05.
- `bradley_terry(comparisons)`: ratings from pairwise wins (the arena), on an Elo-like scale:
  a Gaussian prior on the strengths, Laplace (Hessian) 95% intervals that stay wide with
  few votes; `bradley_terry_fit` adds covariates (style control) and their coefficients.
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

PRIOR_SD = 1.0      # prior sd of a log-strength: 1 unit ≈ 174 Elo points on the default scale


@dataclass(frozen=True)
class Rating:
    name: str
    rating: float       # Elo-like: 400 points ≈ 10:1 odds; the mean rating is `anchor`
    low: float          # 95% interval (Laplace; see `bradley_terry_fit`)
    high: float
    games: int


@dataclass(frozen=True)
class Coefficient:
    """A covariate's effect (style control): log-odds of winning per unit of the covariate."""

    name: str
    value: float
    low: float          # 95% Laplace interval, like the ratings'
    high: float


@dataclass(frozen=True)
class BTFit:
    ratings: list[Rating]               # best first
    coefficients: list[Coefficient]     # in the order the covariates were named
    prior_sd: float
    method: str                         # "laplace" or "laplace+bootstrap"


def _canonical(comparisons: Sequence[tuple], covariates) -> list[tuple]:
    """(a, b, outcome, x) with a <= b: a comparison written from its other side is
    (b, a, 1 − outcome, −x). Sorted, so the fit does not depend on the order given."""
    rows = []
    for i, c in enumerate(comparisons):
        if len(c) == 2:
            a, b, o = c[0], c[1], 1.0
        elif len(c) == 3 and c[2] in (0, 0.5, 1):
            a, b, o = c[0], c[1], float(c[2])
        else:
            raise ValueError(f"a comparison is (winner, loser) or (a, b, 1|0|0.5), got {c!r}")
        x = tuple(float(v) for v in covariates[i]) if covariates is not None else ()
        rows.append((a, b, o, x) if a <= b else (b, a, 1.0 - o, tuple(-v for v in x)))
    return sorted(rows)


def _map_fit(z, out, prior_sd: float):
    """Newton's method on the penalized negative log-likelihood

        f(w) = Σ_n [o_n·log(1 + e^(−d_n)) + (1 − o_n)·log(1 + e^(d_n))] + |w|² / (2·prior_sd²),
        d = z·w,

    strictly convex (the prior adds 1/prior_sd² to every eigenvalue of the Hessian), so the
    minimum is unique. Returns (w, H) with H the Hessian at the minimum."""
    import numpy as np
    from scipy.special import expit

    prec = 1.0 / prior_sd ** 2
    eye = np.eye(z.shape[1])

    def f(w):
        d = z @ w
        return float(np.sum(out * np.logaddexp(0.0, -d) + (1 - out) * np.logaddexp(0.0, d))
                     + 0.5 * prec * (w @ w))

    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = expit(z @ w)
        grad = z.T @ (p - out) + prec * w
        hess = (z.T * (p * (1 - p))) @ z + prec * eye
        step = np.linalg.solve(hess, grad)
        t, f0 = 1.0, f(w)
        while t > 1e-10 and f(w - t * step) > f0 - 1e-4 * t * float(grad @ step):
            t /= 2
        w = w - t * step
        if float(np.max(np.abs(t * step))) < 1e-13:
            break
    p = expit(z @ w)
    return w, (z.T * (p * (1 - p))) @ z + prec * eye


def bradley_terry_fit(comparisons: Sequence[tuple], *, names: Sequence[str] | None = None,
                      covariates: Sequence[Sequence[float]] | None = None,
                      covariate_names: Sequence[str] | None = None,
                      prior_sd: float = PRIOR_SD, bootstrap: int = 0, seed: int = 0,
                      scale: float = 400.0, anchor: float = 1000.0) -> BTFit:
    """Bradley-Terry with a Gaussian prior, and honest intervals at any number of votes.

    Each comparison is `(winner, loser)` or `(a, b, outcome)` with outcome 1 (a won),
    0 (b won) or 0.5 (a tie: half a win each). The model: P(a beats b) = σ(θa − θb + x·β),
    with x the comparison's covariates (a's minus b's, e.g. style control's length and
    markdown differences; none by default). The method, step by step, so it can be redone:

    1. Prior: every log-strength θi and every coefficient βj is N(0, prior_sd²) a priori
       (default 1, i.e. 174 Elo points). It is what keeps one vote from claiming a large
       gap: one win moves the two ratings about 117 points apart, not 584.
    2. Fit: the posterior mode (MAP), minimizing −log-likelihood + |θ|²/2σ² + |β|²/2σ²
       (Newton's method; the problem is strictly convex). The mode has mean θ = 0.
    3. Interval (Laplace): the Hessian H of that objective at the mode is the posterior
       precision, H = Σ_n p_n(1 − p_n)·z_n·z_nᵀ + I/σ², with z_n = (e_a − e_b, x_n) and
       p_n the fitted P(a beats b). A rating is relative to the mean, so its variance is
       the diagonal of P·H⁻¹·P (P = I − 11ᵀ/k, on the θ block); the 95% interval is
       θi ± 1.96·sd. With no votes it is the prior's, ±1.96·σ·√(1 − 1/k). H is finite
       and at least I/σ², so with two or more models no interval is ever zero-width; each
       vote adds a p(1 − p)·z·zᵀ term, so intervals narrow as votes accumulate.
    4. Scale: rating = anchor + (scale / ln 10)·θ, so 400 points is 10:1 odds.
    5. Optional bootstrap (`bootstrap` > 0): the comparisons are resampled (seeded) and
       refitted; each interval is then the envelope of the Laplace interval and the
       bootstrap's 2.5–97.5 percentiles, never narrower than the Laplace one (a bootstrap
       of one vote alone would be zero-width: every resample is that vote).

    The result depends only on the multiset of comparisons, not on their order or the
    order of `names` (a canonical order is used throughout).
    """
    import numpy as np

    if prior_sd <= 0:
        raise ValueError(f"prior_sd must be > 0, got {prior_sd}")
    if covariates is not None and len(covariates) != len(comparisons):
        raise ValueError("give one covariate row per comparison")
    rows = _canonical(comparisons, covariates)
    p = len(rows[0][3]) if rows else len(covariate_names or [])
    if any(len(r[3]) != p for r in rows):
        raise ValueError("every covariate row must have the same length")
    cov_names = list(covariate_names or [f"x{j}" for j in range(p)])
    if len(cov_names) != p:
        raise ValueError(f"{len(cov_names)} covariate names for {p} covariates")
    all_names = sorted({*(names or []), *(r[0] for r in rows), *(r[1] for r in rows)})
    if not all_names:
        return BTFit([], [], prior_sd, "laplace")
    index = {m: i for i, m in enumerate(all_names)}
    k, n = len(all_names), len(rows)
    z = np.zeros((n, k + p))
    for r, (a, b, _, x) in enumerate(rows):
        z[r, index[a]] += 1.0
        z[r, index[b]] -= 1.0
        z[r, k:] = x
    out = np.array([r[2] for r in rows], dtype=float)

    w, hess = _map_fit(z, out, prior_sd)
    cov = np.linalg.inv(hess)
    centre = np.eye(k + p)
    centre[:k, :k] -= 1.0 / k          # ratings are relative to their mean; β as they are
    sd = np.sqrt(np.clip(np.diag(centre @ cov @ centre.T), 0.0, None))
    point = np.concatenate([w[:k] - w[:k].mean(), w[k:]])  # mean 0 already, less float noise
    low, high = point - Z95 * sd, point + Z95 * sd
    method = "laplace"
    if bootstrap and n:
        rng = np.random.default_rng(seed)
        samples = np.empty((bootstrap, k + p))
        for s in range(bootstrap):
            sel = rng.integers(0, n, size=n)
            ws, _ = _map_fit(z[sel], out[sel], prior_sd)
            samples[s] = np.concatenate([ws[:k] - ws[:k].mean(), ws[k:]])
        b_low, b_high = np.percentile(samples, [2.5, 97.5], axis=0)
        low, high = np.minimum(low, b_low), np.maximum(high, b_high)
        method = "laplace+bootstrap"

    to_elo = scale / math.log(10)
    games = np.abs(z[:, :k]).sum(axis=0) if n else np.zeros(k)
    ratings = [Rating(m, float(anchor + to_elo * point[i]), float(anchor + to_elo * low[i]),
                      float(anchor + to_elo * high[i]), int(games[i]))
               for i, m in enumerate(all_names)]
    coefs = [Coefficient(c, float(point[k + j]), float(low[k + j]), float(high[k + j]))
             for j, c in enumerate(cov_names)]
    return BTFit(sorted(ratings, key=lambda r: -r.rating), coefs, prior_sd, method)


def bradley_terry(comparisons: Sequence[tuple], *, names: Sequence[str] | None = None,
                  prior_sd: float = PRIOR_SD, bootstrap: int = 0, seed: int = 0,
                  scale: float = 400.0, anchor: float = 1000.0) -> list[Rating]:
    """Ratings from pairwise comparisons, best first: `bradley_terry_fit` without covariates
    (a Gaussian prior on the strengths, Laplace 95% intervals)."""
    return bradley_terry_fit(comparisons, names=names, prior_sd=prior_sd, bootstrap=bootstrap,
                             seed=seed, scale=scale, anchor=anchor).ratings
