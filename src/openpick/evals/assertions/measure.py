"""Measures of the output's form: `levenshtein` (edit distance to a reference),
`word-count` (how many words) and `finish-reason` (why the model stopped).

    assert:
      - levenshtein: "Bonjour le monde"   # passes at distance <= threshold (default 5)
        threshold: 3
      - word-count: 12                    # exactly 12 words
      - word-count: {min: 5, max: 40}     # or a range (either end optional)
      - finish-reason: stop               # stop or length (what the engine reported)

Words are runs of non-space characters. The finish reason is the engine's own ("stop":
the model ended its answer or hit a stop string, "length": it ran out of `max_tokens`);
promptfoo's spelling of the same check matches case-insensitively, and so does this one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register, short


def distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions, each 1), in one row of
    memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _prepare_levenshtein(a: Assertion, base_dir: Path | None) -> Assertion:
    if isinstance(a.value, (list, dict, bool)):
        raise ValueError(f"{a.type}: value must be the reference text")
    threshold = a.options.get("threshold", 5)
    if not _number(threshold) or threshold < 0:
        raise ValueError(f"{a.type}: threshold must be a number >= 0 (the largest distance)")
    return replace(a, value=str(a.value), prepared=float(threshold))


@register("levenshtein", options=("threshold",), validate=_prepare_levenshtein)
def levenshtein(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    d = distance(output, a.value)
    ok = d <= a.prepared
    return Outcome(ok, f"edit distance {d} to {short(a.value)} "
                       f"{'<=' if ok else '>'} {a.prepared:g}", detail={"distance": d})


def _prepare_word_count(a: Assertion, base_dir: Path | None) -> Assertion:
    value = a.value
    if _number(value) and value >= 0 and float(value).is_integer():
        return replace(a, prepared=(int(value), int(value)))
    if isinstance(value, dict) and value and set(value) <= {"min", "max"} \
            and all(_number(v) and v >= 0 for v in value.values()):
        low, high = value.get("min", 0), value.get("max", float("inf"))
        if low > high:
            raise ValueError(f"{a.type}: min {low} is more than max {high}")
        return replace(a, prepared=(low, high))
    raise ValueError(f"{a.type}: value must be a whole number of words or {{min: N, max: M}}")


@register("word-count", validate=_prepare_word_count, templated=False)
def word_count(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    n = len(output.split())
    low, high = a.prepared
    ok = low <= n <= high
    want = f"{low}" if low == high else (
        f"at least {low}" if high == float("inf") else f"{low} to {high:g}")
    return Outcome(ok, f"{n} words (want {want})", detail={"words": n})


def _prepare_finish(a: Assertion, base_dir: Path | None) -> Assertion:
    if not isinstance(a.value, str) or not a.value.strip():
        raise ValueError(f"{a.type}: value must be a finish reason such as stop or length")
    return a.with_value(a.value.strip())


@register("finish-reason", validate=_prepare_finish)
def finish_reason(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    got = ctx.finish_reason
    if got is None:
        return Outcome(False, "the engine reported no finish reason")
    ok = got.casefold() == a.value.casefold()
    return Outcome(ok, f"finish reason {got!r}" + ("" if ok else f", expected {a.value!r}"))
