"""Text checks: equals, contains, icontains, contains-any/-all (and i- forms), starts-with,
regex. Every one is negatable with `not-`.

`equals` and `starts-with` ignore whitespace around the output (models often end with a
newline); everything else looks at the output as it is.
"""

from __future__ import annotations

import re
from dataclasses import replace

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register, short


def _as_text(a: Assertion, base_dir=None) -> Assertion:
    if isinstance(a.value, (list, dict)):
        raise ValueError(f"{a.type}: expects a single text value, got {type(a.value).__name__}")
    if isinstance(a.value, bool):
        raise ValueError(f"{a.type}: expects text, got {a.value!r}")
    return a.with_value(str(a.value))


def _as_list(a: Assertion, base_dir=None) -> Assertion:
    values = a.value
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise ValueError(f"{a.type}: expects a non-empty list of texts")
    if any(isinstance(v, (list, dict)) for v in values):
        raise ValueError(f"{a.type}: every item must be a text")
    return a.with_value([str(v) for v in values])


@register("equals", validate=_as_text)
def equals(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    ok = output.strip() == a.value.strip()
    return Outcome(ok, f"equals {short(a.value)}" if ok
                   else f"{short(output.strip())} differs from {short(a.value)}")


@register("contains", validate=_as_text)
def contains(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    ok = a.value in output
    return Outcome(ok, ("contains " if ok else "does not contain ") + short(a.value))


@register("icontains", validate=_as_text)
def icontains(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    ok = a.value.casefold() in output.casefold()
    return Outcome(ok, ("contains " if ok else "does not contain ") + short(a.value)
                   + " (ignoring case)")


def _found(values: list[str], output: str, fold: bool) -> list[str]:
    hay = output.casefold() if fold else output
    return [v for v in values if (v.casefold() if fold else v) in hay]


def _any(a: Assertion, output: str, fold: bool) -> Outcome:
    hits = _found(a.value, output, fold)
    if hits:
        return Outcome(True, f"contains {short(hits[0])}")
    return Outcome(False, f"contains none of {a.value}")


def _all(a: Assertion, output: str, fold: bool) -> Outcome:
    hits = _found(a.value, output, fold)
    missing = [v for v in a.value if v not in hits]
    score = len(hits) / len(a.value)
    if not missing:
        return Outcome(True, f"contains all of {a.value}", score)
    return Outcome(False, f"missing {missing}", score)


@register("contains-any", validate=_as_list)
def contains_any(a, output, ctx):
    return _any(a, output, False)


@register("icontains-any", validate=_as_list)
def icontains_any(a, output, ctx):
    return _any(a, output, True)


@register("contains-all", validate=_as_list)
def contains_all(a, output, ctx):
    return _all(a, output, False)


@register("icontains-all", validate=_as_list)
def icontains_all(a, output, ctx):
    return _all(a, output, True)


@register("starts-with", validate=_as_text)
def starts_with(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    ok = output.lstrip().startswith(a.value)
    return Outcome(ok, ("starts with " if ok else "does not start with ") + short(a.value))


def _compile(a: Assertion, base_dir=None) -> Assertion:
    a = _as_text(a)
    flags = re.IGNORECASE if a.options.get("ignore_case") else 0
    if a.options.get("multiline"):
        flags |= re.MULTILINE
    try:
        pattern = re.compile(a.value, flags)
    except re.error as e:
        raise ValueError(f"{a.type}: invalid regular expression {a.value!r}: {e}") from None
    return replace(a, prepared=pattern)


@register("regex", options=("ignore_case", "multiline"), validate=_compile)
def regex(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    m = a.prepared.search(output)
    if m:
        return Outcome(True, f"matches /{a.value}/ at {short(m.group(0), 40)}")
    return Outcome(False, f"does not match /{a.value}/")
