"""The assertion vocabulary: a parsed `Assertion`, a check's `Outcome`, the registry.

A check is a plain function `(assertion, output, context) -> Outcome` registered under a
name with the options it accepts. Parsing and validation happen when a suite loads, so a
typo in an assertion is an error before any model runs; checking happens per output.
Negation (`not-contains`) is applied here, once, so checks only describe facts.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Keys every assertion accepts besides its type key and its own options.
COMMON_KEYS = frozenset({"weight"})


@dataclass(frozen=True)
class Assertion:
    """One assertion of a case, parsed and validated (see `parse_assertion`)."""

    type: str                     # as written, e.g. "not-icontains"
    base: str                     # the registered check, e.g. "icontains"
    negate: bool = False
    value: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    # Filled by validators: compiled regex, loaded schema, resolved function, ...
    prepared: Any = None

    def with_value(self, value: Any, options: Mapping[str, Any] | None = None) -> Assertion:
        opts = self.options if options is None else options
        return replace(self, value=value, options=dict(opts))

    def fingerprint(self) -> dict[str, Any]:
        """What was written (not `prepared`: compiled or loaded helpers whose repr differs
        between processes), as plain data."""
        return {"type": self.type, "value": _plain(self.value),
                "options": _plain(dict(self.options)), "weight": self.weight}


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


@dataclass
class Outcome:
    """What a check found. `score` defaults to 1.0 / 0.0 from `passed`.

    `reason` states the fact in words that stay true under negation ("contains 'paris'").
    """

    passed: bool
    reason: str = ""
    score: float | None = None
    detail: dict[str, Any] | None = None


@dataclass
class GradeContext:
    """What a check may look at besides the output. The runner fills it per answer.

    `case` is what user `python` checks receive: id, variant, vars, tags, prompt/messages.
    `judge` is a callable the runner injects for `judge` assertions: prompt in, text out.
    """

    case: dict[str, Any] = field(default_factory=dict)
    ttft_s: float | None = None
    total_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    judge: Callable[[str], str] | None = None
    finish_reason: str | None = None   # "stop" or "length", as the engine reported it

    @classmethod
    def from_result(cls, case: dict[str, Any] | None = None, result: Any = None, *,
                    cost_usd: float | None = None,
                    judge: Callable[[str], str] | None = None) -> GradeContext:
        """Build from an engine `Result` (duck-typed: `.timings`, `.usage`,
        `.finish_reason`) or a CaseResult."""
        timings = getattr(result, "timings", None)
        usage = getattr(result, "usage", None)
        src_t = timings if timings is not None else result
        src_u = usage if usage is not None else result
        return cls(
            case=dict(case or {}),
            ttft_s=getattr(src_t, "ttft_s", None),
            total_s=getattr(src_t, "total_s", None),
            prompt_tokens=getattr(src_u, "prompt_tokens", None),
            completion_tokens=getattr(src_u, "completion_tokens", None),
            cost_usd=cost_usd,
            judge=judge,
            finish_reason=getattr(result, "finish_reason", None),
        )


CheckFn = Callable[[Assertion, str, GradeContext], Outcome]
Validator = Callable[[Assertion, "Path | None"], Assertion]


@dataclass(frozen=True)
class Check:
    name: str
    fn: CheckFn
    options: frozenset[str]
    negatable: bool
    validate: Validator | None
    templated: bool          # string values get the case's {{vars}} rendered into them
    needs_value: bool


REGISTRY: dict[str, Check] = {}


def register(name: str, *, options: tuple[str, ...] = (), negatable: bool = True,
             validate: Validator | None = None, templated: bool = True,
             needs_value: bool = True) -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        REGISTRY[name] = Check(name, fn, frozenset(options), negatable, validate, templated,
                               needs_value)
        return fn
    return deco


def all_types() -> list[str]:
    """Every accepted type name, negated forms included."""
    names = []
    for c in REGISTRY.values():
        names.append(c.name)
        if c.negatable:
            names.append("not-" + c.name)
    return sorted(names)


def lookup(type_name: str) -> tuple[Check, bool]:
    """(check, negate) for a written type; ValueError with a suggestion when unknown."""
    if type_name in REGISTRY:
        return REGISTRY[type_name], False
    if type_name.startswith("not-") and type_name[4:] in REGISTRY:
        check = REGISTRY[type_name[4:]]
        if not check.negatable:
            raise ValueError(f"assertion type '{check.name}' cannot be negated with not-")
        return check, True
    close = difflib.get_close_matches(type_name, all_types(), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    # repr keeps a multi-line key (a value written where the type belongs) on one line
    shown = f"'{type_name}'" if type_name.isprintable() and len(type_name) <= 80 \
        else short(type_name)
    raise ValueError(f"unknown assertion type {shown}{hint}")


def _is_type_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    return key in REGISTRY or (key.startswith("not-") and key[4:] in REGISTRY)


def parse_assertion(raw: Any) -> Assertion:
    """Parse one assertion as written in YAML. Two forms are accepted:

    shorthand  `{icontains: paris}`, `{number: 42, tolerance: 0.5, weight: 2}`
    long form  `{type: icontains, value: paris, weight: 2}` (promptfoo's)

    A bare string names a check that needs no value (`- is-json`).
    Raises ValueError naming the problem; the suite loader adds file, line and field.
    """
    if isinstance(raw, str):
        check, negate = lookup(raw)
        if check.needs_value:
            raise ValueError(f"assertion '{raw}' needs a value, e.g. {{{raw}: ...}}")
        return Assertion(type=raw, base=check.name, negate=negate)
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError("an assertion is a mapping such as {icontains: paris}")
    data = dict(raw)
    if "type" in data:
        type_name = data.pop("type")
        if not isinstance(type_name, str):
            raise ValueError("assertion 'type' must be a string")
        value = data.pop("value", None)
    else:
        type_name = _pick_type_key(data)
        value = data.pop(type_name)
    check, negate = lookup(type_name)
    weight = data.pop("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        raise ValueError(f"{type_name}: weight must be a number >= 0, got {weight!r}")
    unknown = sorted(k for k in data if k not in check.options)
    if unknown:
        allowed = ", ".join(sorted(check.options | COMMON_KEYS)) or "weight"
        raise ValueError(f"{type_name}: unknown option '{unknown[0]}' (allowed: {allowed})")
    if check.needs_value and value is None:
        raise ValueError(f"{type_name}: a value is required")
    return Assertion(type=type_name, base=check.name, negate=negate, value=value,
                     options=data, weight=float(weight))


def _pick_type_key(data: dict) -> str:
    keys = [k for k in data if _is_type_key(k)]
    if not keys:
        first = next(iter(data))
        try:
            lookup(str(first))
        except ValueError as e:
            raise ValueError(str(e)) from None
        raise ValueError(f"no assertion type among keys {list(data)}")
    if len(keys) == 1:
        return keys[0]
    # {json-path: $.a, equals: 3}: "equals" is an option of json-path, not a second type.
    for k in keys:
        opts = lookup(k)[0].options
        if all(o == k or o in opts for o in keys):
            return k
    raise ValueError(f"one assertion per mapping, got several types: {keys}")


def validate(assertion: Assertion, base_dir: Path | None = None) -> Assertion:
    """Run the check's own validation (compile regex, load schema, ...) and return the
    assertion ready to check. ValueError on a bad value."""
    check = REGISTRY[assertion.base]
    return check.validate(assertion, base_dir) if check.validate else assertion


def run_check(assertion: Assertion, output: str, context: GradeContext):
    """Apply one assertion; an exception inside a check fails that assertion, not the run."""
    from openpick.store.records import AssertionResult

    check = REGISTRY[assertion.base]
    try:
        out = check.fn(assertion, output, context)
    except Exception as e:  # a check bug or a user function error is a failed assertion
        out = Outcome(False, f"error while checking: {type(e).__name__}: {e}")
    score = out.score if out.score is not None else (1.0 if out.passed else 0.0)
    score = min(1.0, max(0.0, float(score)))
    passed = out.passed
    if assertion.negate:
        passed, score = not passed, 1.0 - score
    return AssertionResult(type=assertion.type, passed=passed, score=score,
                           weight=assertion.weight, reason=out.reason, detail=out.detail)


def short(text: Any, limit: int = 80) -> str:
    """A quoted, shortened form of a value for reasons."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return repr(s)
