"""Text, JSON, number, choice, python and perf assertions: pass and fail for each, negation,
weights and thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from openpick.evals.assertions import (
    GradeContext,
    all_types,
    combine,
    grade,
    parse_assertion,
    validate,
)
from openpick.evals.assertions.choice import read_choice
from openpick.evals.assertions.json import extract_json, parse_path
from openpick.evals.assertions.number import answer_numbers
from openpick.store.records import AssertionResult

FIX = Path(__file__).parents[1] / "fixtures" / "suites"


def check(raw, output, ctx=None, base_dir=FIX):
    a = validate(parse_assertion(raw), base_dir)
    g = grade([a], output, ctx)
    return g.assertions[0]


CASES = [
    # (assertion, passing output, failing output)
    ({"equals": "Paris"}, "  Paris\n", "Paris."),
    ({"equals": 42}, "42", "42.0"),
    ({"contains": "Paris"}, "It is Paris.", "It is paris."),
    ({"icontains": "paris"}, "It is PARIS.", "It is Lyon."),
    ({"contains-any": ["red", "blue"]}, "blue sky", "green grass"),
    ({"icontains-any": ["RED", "Blue"]}, "BLUE sky", "green"),
    ({"contains-all": ["a", "b"]}, "a and b", "only a"),
    ({"icontains-all": ["A", "B"]}, "a and b", "only a"),
    ({"starts-with": "Yes"}, "\n Yes, it is.", "Well, yes."),
    ({"regex": r"^\d+$"}, "123", "12a"),
    ({"regex": "hello", "ignore_case": True}, "HELLO", "bye"),
    ({"regex": "^b", "multiline": True}, "a\nb", "a b"),
    ({"is-json": None}, '{"a": 1}', "{a: 1}"),
    ("is-json", "Sure:\n```json\n[1, 2]\n```", "no json here"),
    ({"is-json": {"type": "object", "required": ["a"]}}, 'Here: {"a": 1} ok', '{"b": 1}'),
    ({"is-json": "person.schema.json"}, '{"name": "A", "age": 3}', '{"name": "A", "age": "3"}'),
    ({"is-json": None, "strict": True}, ' {"a": 1} ', 'x {"a": 1}'),
    ({"json-path": "$.a.b[1]", "equals": 3}, '{"a": {"b": [1, 3.0]}}', '{"a": {"b": [1, 2]}}'),
    ({"json-path": "$.ok", "equals": True}, '{"ok": true}', '{"ok": 1}'),
    ({"json-path": "$['key with space']"}, '{"key with space": 0}', '{"other": 0}'),
    ({"json-path": "$.items[-1]", "equals": "z"}, '{"items": ["a", "z"]}', '{"items": []}'),
    ({"number": 42}, "17 + 25 = 42", "The answer is 41."),
    ({"number": 1234.5}, "It costs $1,234.50 in total.", "It costs 1234"),
    ({"number": -27}, "15 - 42 = -27", "27"),
    ({"number": 0.75, "tolerance": 0.001}, "3/4", "0.7"),
    ({"number": 100, "tolerance": "5%"}, "about 104", "about 106"),
    ({"number": 42}, "The answer is 12 + 30 = 42, since 30 + 12 = 42.", "Answer: 40 (not 42)"),
    ({"number": 7, "pick": "first"}, "7 days, or 168 hours", "168 hours = 7 days"),
    ({"number": 3, "pick": "any"}, "1, 2, 3, 4", "1, 2, 4"),
    ({"number": 5}, "\\boxed{5} is the result, not 6", "no digits"),
    ({"choice": "B"}, "The answer is (B).", "A"),
    ({"choice": "c"}, "C) Paris", "(D)"),
    ({"choice": "B", "choices": "ABCD"}, "b", "I think it's (A) or maybe not"),
    ({"python": "checks.py:long_enough"}, "one two three", "one two"),
    ({"python": "len(output) < 5"}, "hi", "too long"),
    ({"python": "x = output.strip()\nreturn x.isdigit()"}, " 12 ", "1a"),
    ({"python": "def check(output, case):\n    return 'ok' in output"}, "ok!", "no"),
    ({"python": "checks.py:fraction", "threshold": 0.5}, "xx..", "x..."),
]


@pytest.mark.parametrize("raw,good,bad", CASES, ids=[str(c[0])[:48] for c in CASES])
def test_each_assertion_passes_and_fails(raw, good, bad):
    ok = check(raw, good)
    assert ok.passed, ok.reason
    no = check(raw, bad)
    assert not no.passed, no.reason
    assert no.reason


TEXT = ["equals", "contains", "icontains", "contains-any", "icontains-any", "contains-all",
        "icontains-all", "starts-with", "regex"]


@pytest.mark.parametrize("name", TEXT)
def test_text_assertions_are_negatable(name):
    value = "b" if name not in ("contains-any", "icontains-any", "contains-all",
                                "icontains-all") else ["b"]
    assert check({f"not-{name}": value}, "a").passed
    result = check({f"not-{name}": value}, "b")
    assert not result.passed and result.type == f"not-{name}"
    assert f"not-{name}" in all_types()


def test_negation_flips_partial_scores():
    r = check({"not-contains-all": ["a", "b", "c", "d"]}, "a")
    assert r.passed and r.score == pytest.approx(0.75)


def test_contains_all_gives_partial_credit():
    r = check({"contains-all": ["a", "b", "c", "d"]}, "a b")
    assert not r.passed and r.score == 0.5 and "missing" in r.reason


def test_json_schema_failure_says_where():
    r = check({"is-json": {"type": "object", "properties": {"age": {"type": "integer"}}}},
              '{"age": "x"}')
    assert "$.age" in r.reason and r.detail["errors"]


def test_json_helpers():
    assert extract_json('text {"a": [1]} more') == {"a": [1]}
    assert parse_path('$.a[0]["b c"].d') == ["a", 0, "b c", "d"]
    assert parse_path("a.b") == ["a", "b"]
    with pytest.raises(ValueError):
        parse_path("$.a[x]")
    with pytest.raises(ValueError):
        extract_json("nothing", strict=True)


def test_number_extraction():
    assert answer_numbers("17 + 25 = 42") == [42]
    assert answer_numbers("Answer: 1,000") == [1000]
    assert answer_numbers("#### 12\nthen 13") == [12]
    assert answer_numbers("5-3 is 2") == [2]
    assert answer_numbers("x is −4") == [-4]
    assert answer_numbers("none") == []
    assert check({"number": 1}, "no number").reason == "no number in the output"


def test_choice_reading():
    assert read_choice("Answer: C") == "C"
    assert read_choice("a cat is an animal") is None
    assert read_choice("I pick (D) because") == "D"
    assert read_choice("**B**. Paris") == "B"


def test_python_returns_dict_and_sees_the_case():
    ctx = GradeContext(case={"id": "case-7"})
    r = check({"python": "checks.py"}, "about case-7", ctx)
    assert r.passed and r.score == 0.25 and r.reason == "id mentioned?"


def test_python_errors_fail_the_assertion_not_the_run():
    r = check({"python": "1 / 0"}, "x")
    assert not r.passed and "ZeroDivisionError" in r.reason
    r = check({"python": "'text'"}, "x")
    assert not r.passed and "return a bool" in r.reason


def test_perf_thresholds():
    ctx = GradeContext(ttft_s=0.2, total_s=1.5, cost_usd=0.002)
    assert check({"latency": 2}, "", ctx).passed
    assert not check({"latency": 1}, "", ctx).passed
    assert check({"ttft": 0.5}, "", ctx).passed
    assert not check({"ttft": 0.1}, "", ctx).passed
    assert check({"cost": 0.01}, "", ctx).passed
    assert not check({"cost": 0.001}, "", ctx).passed
    missing = check({"ttft": 1}, "", GradeContext())
    assert not missing.passed and "not measured" in missing.reason


def test_context_from_an_engine_result():
    from openpick.engines.base import ModelIdentity, Result, Timings, Usage

    result = Result(text="x", finish_reason="stop", usage=Usage(prompt_tokens=3,
                    completion_tokens=5), timings=Timings(ttft_s=0.1, total_s=0.4),
                    model=ModelIdentity(engine="fake", name="m"))
    ctx = GradeContext.from_result({"id": "a"}, result, cost_usd=0.5)
    assert (ctx.ttft_s, ctx.total_s, ctx.prompt_tokens, ctx.completion_tokens, ctx.cost_usd) \
        == (0.1, 0.4, 3, 5, 0.5)


def test_weights_and_threshold():
    a = [validate(parse_assertion({"contains": "x", "weight": 3})),
         validate(parse_assertion({"contains": "y"}))]
    g = grade(a, "x")
    assert not g.passed and g.score == pytest.approx(0.75)
    g = grade(a, "x", threshold=0.7)
    assert g.passed and g.threshold == 0.7
    assert not grade(a, "y", threshold=0.7).passed


def test_zero_weight_is_informational():
    a = [validate(parse_assertion({"contains": "x"})),
         validate(parse_assertion({"latency": 0.001, "weight": 0}))]
    g = grade(a, "x", GradeContext(total_s=5))
    assert g.passed and g.score == 1.0
    assert not g.assertions[1].passed


def test_no_assertions_pass():
    g = combine([])
    assert g.passed and g.score == 1.0


def test_combine_clamps_and_keeps_results():
    r = [AssertionResult(type="t", passed=True, score=1.0, weight=2.0)]
    assert combine(r).assertions == r


def test_long_form_and_bad_specs():
    a = parse_assertion({"type": "not-icontains", "value": "x", "weight": 2})
    assert a.negate and a.base == "icontains" and a.weight == 2
    for raw, msg in [
        ({"nope": 1}, "unknown assertion type 'nope'"),
        ({"type": 5}, "'type' must be a string"),
        ([1], "an assertion is a mapping"),
        ({"number": None}, "a value is required"),
        ({"not-judge": "x"}, "cannot be negated"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_assertion(raw)
    with pytest.raises(ValueError, match="expects a non-empty list"):
        validate(parse_assertion({"contains-all": []}))
    with pytest.raises(ValueError, match="expects a single text"):
        validate(parse_assertion({"contains": ["a"]}))
    with pytest.raises(ValueError, match="pick must be"):
        validate(parse_assertion({"number": 1, "pick": "middle"}))
    with pytest.raises(ValueError, match="tolerance"):
        validate(parse_assertion({"number": 1, "tolerance": "lots"}))
