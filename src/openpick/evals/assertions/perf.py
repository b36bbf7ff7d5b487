"""Performance thresholds on the measured answer: `latency` (total seconds), `ttft`
(seconds to first token) and `cost` (US dollars for this case), each passing when the
measurement is at most the value. A missing measurement (a server that does not stream,
a model without a price) fails with a reason that says so, rather than passing silently.
"""

from __future__ import annotations

from pathlib import Path

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register


def _positive(a: Assertion, base_dir: Path | None) -> Assertion:
    if isinstance(a.value, bool) or not isinstance(a.value, (int, float)) or a.value < 0:
        raise ValueError(f"{a.type}: value must be a number >= 0")
    return a


def _at_most(a: Assertion, measured: float | None, what: str, unit: str) -> Outcome:
    if measured is None:
        return Outcome(False, f"{what} was not measured")
    ok = measured <= a.value
    fmt = (lambda x: f"${x:.6f}") if unit == "$" else (lambda x: f"{x:.3f} s")
    return Outcome(ok, f"{what} {fmt(measured)} {'<=' if ok else '>'} {fmt(a.value)}")


@register("latency", validate=_positive, negatable=False, templated=False)
def latency(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    return _at_most(a, ctx.total_s, "latency", "s")


@register("ttft", validate=_positive, negatable=False, templated=False)
def ttft(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    return _at_most(a, ctx.ttft_s, "time to first token", "s")


@register("cost", validate=_positive, negatable=False, templated=False)
def cost(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    return _at_most(a, ctx.cost_usd, "cost", "$")
