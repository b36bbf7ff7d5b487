"""Assertions: what a good answer looks like, one module per family.

    text    equals, contains, icontains, contains-any/-all, icontains-any/-all,
            starts-with, regex              (all negatable: not-contains, ...)
    json    is-json (optional JSON schema), contains-json (JSON somewhere in the output,
            optional schema), json-path (+ equals)
    number  number (within a tolerance)
    choice  choice (a multiple-choice letter)
    python  python (a user function check(output, case) -> bool | float)
    javascript  javascript (promptfoo's: an expression, body or file run by Node.js)
    code    code (run the case's tests against the extracted code, sandboxed)
    similar similar (embedding cosine, offline MiniLM)
    judge   judge (a rubric graded by a model the runner injects)
    perf    latency, ttft, cost (thresholds on measurements)
    measure levenshtein (edit distance), word-count, finish-reason

Use: `parse_assertion(raw)` then `validate(a, base_dir)` when a suite loads (the suite
loader does both), then `grade(assertions, output, context, threshold=...)` per answer.

Scoring: each assertion scores 0..1 (most are 0 or 1; contains-all, code, similar, judge
and python may give partial credit) with a weight (default 1). The case score is the
weighted mean. A case passes when every assertion passes, or, when the case sets a
`threshold`, when its score reaches it. Weight-0 assertions are reported but count for
neither score nor pass.
"""

from __future__ import annotations

from collections.abc import Iterable

# importing the family modules registers their checks
from openpick.evals.assertions import (  # noqa: F401
    choice, code, javascript, json, judge, measure, number, perf, python, similar, text,
)
from openpick.evals.assertions.base import (
    REGISTRY,
    Assertion,
    Check,
    GradeContext,
    Outcome,
    all_types,
    lookup,
    parse_assertion,
    register,
    run_check,
    validate,
)
from openpick.store.records import AssertionResult, Grade

__all__ = [
    "REGISTRY", "Assertion", "Check", "GradeContext", "Outcome", "all_types", "lookup",
    "parse_assertion", "register", "run_check", "validate", "grade", "combine",
]


def combine(results: list[AssertionResult], threshold: float | None = None) -> Grade:
    """The case's Grade from its assertion results (see the module doc for the rule)."""
    counted = [r for r in results if r.weight > 0]
    total = sum(r.weight for r in counted)
    score = sum(r.weight * r.score for r in counted) / total if total else 1.0
    score = min(1.0, max(0.0, score))
    if threshold is None:
        passed = all(r.passed for r in counted)
    else:
        passed = score >= threshold - 1e-12
    return Grade(passed=passed, score=score, threshold=threshold, assertions=list(results))


def grade(assertions: Iterable[Assertion], output: str, context: GradeContext | None = None,
          *, threshold: float | None = None) -> Grade:
    """Apply every assertion to `output` and combine them into a Grade.

    A check that raises fails its own assertion (with the error as reason); grading
    itself never raises for a bad output.
    """
    ctx = context if context is not None else GradeContext()
    results = [run_check(a, output, ctx) for a in assertions]
    return combine(results, threshold)
