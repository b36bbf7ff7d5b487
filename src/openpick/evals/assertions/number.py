"""`number`: the answer's number equals the expected one within a tolerance.

Which number is "the answer": an explicit marker wins (`\\boxed{42}`, `#### 42`,
`answer is 42`, `answer: 42`, the last such marker); otherwise the last number in the
output (`pick: last`, the default, as in GSM8K-style grading), or `pick: first`, or
`pick: any` (any number in the output matches). Numbers may have thousands separators
(1,234), decimals, a sign, an exponent, or be a simple fraction (3/4).

`tolerance` is absolute (`0.01`) or relative with a percent sign (`"1%"`); default exact
up to floating-point noise.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register

_NUM = (r"(?:(?<![\w\)])[-−])?(?<![\w.,])"
        r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
NUMBER = re.compile(rf"({_NUM})(?:\s*/\s*(\d+)(?![\d.]))?")
_MARKERS = [
    re.compile(r"\\boxed\{\s*([^{}]*?)\s*\}"),
    re.compile(r"####\s*([^\n]*)"),
    re.compile(r"\banswer\b(?:\s+is)?\s*[:=]?\s*(?:\*\*)?\s*([^\n]*)", re.IGNORECASE),
]


def _to_float(num: str, denom: str | None) -> float | None:
    value = float(num.replace(",", "").replace("−", "-"))
    if denom is not None:
        d = float(denom)
        return value / d if d else None
    return value


def numbers(text: str) -> list[float]:
    out = []
    for m in NUMBER.finditer(text):
        v = _to_float(m.group(1), m.group(2))
        if v is not None and math.isfinite(v):
            out.append(v)
    return out


def answer_numbers(output: str, pick: str = "last") -> list[float]:
    """The candidate answer(s): one number, or all of them for pick=any."""
    if pick != "any":
        for marker in _MARKERS:
            hits = [_marked(m.group(1)) for m in marker.finditer(output)]
            hits = [h for h in hits if h is not None]
            if hits:
                return [hits[-1]]
    found = numbers(output)
    if not found or pick == "any":
        return found
    return [found[0] if pick == "first" else found[-1]]


def _marked(text: str) -> float | None:
    """The number a marker points at: "answer is 42." → 42; "answer is 12 + 30 = 42" → 42."""
    if "=" in text:
        after = numbers(text.rsplit("=", 1)[1])
        if after:
            return after[0]
    found = numbers(text)
    return found[0] if found else None


def _parse_tolerance(tol) -> tuple[float, bool]:
    if tol is None:
        return 0.0, False
    if isinstance(tol, str) and tol.strip().endswith("%"):
        return float(tol.strip()[:-1]) / 100.0, True
    if isinstance(tol, bool):
        raise ValueError
    return float(tol), False


def _prepare(a: Assertion, base_dir: Path | None) -> Assertion:
    try:
        expected = float(str(a.value).replace(",", "")) if not isinstance(a.value, bool) else None
    except ValueError:
        expected = None
    if expected is None:
        raise ValueError(f"{a.type}: expected a number, got {a.value!r}")
    try:
        tol, relative = _parse_tolerance(a.options.get("tolerance"))
    except (TypeError, ValueError):
        raise ValueError(
            f"{a.type}: tolerance must be a number or a percentage like '1%'") from None
    if tol < 0:
        raise ValueError(f"{a.type}: tolerance must be >= 0")
    pick = a.options.get("pick", "last")
    if pick not in ("last", "first", "any"):
        raise ValueError(f"{a.type}: pick must be last, first or any, got {pick!r}")
    return replace(a, value=expected, prepared=(tol, relative, pick))


@register("number", options=("tolerance", "pick"), validate=_prepare)
def number(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    tol, relative, pick = a.prepared
    want = a.value
    allowed = tol * abs(want) if relative else tol
    allowed = max(allowed, 1e-9 * max(1.0, abs(want)))
    found = answer_numbers(output, pick)
    if not found:
        return Outcome(False, "no number in the output")
    for got in found:
        if abs(got - want) <= allowed:
            within = f" within {_fmt(allowed)} of " if tol else " = "
            return Outcome(True, f"answer {_fmt(got)}{within}{_fmt(want)}")
    shown = ", ".join(_fmt(x) for x in found[:5])
    return Outcome(False, f"answer {shown} is not {_fmt(want)}"
                   + (f" ± {_fmt(allowed)}" if tol else ""))


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"
