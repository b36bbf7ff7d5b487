"""levenshtein, word-count, finish-reason and contains-json: pass, fail, bad values."""

from __future__ import annotations

import pytest

from openpick.evals.assertions import GradeContext, grade, parse_assertion, validate
from openpick.evals.assertions.measure import distance


def check(raw, output, ctx=None):
    return grade([validate(parse_assertion(raw))], output, ctx).assertions[0]


@pytest.mark.parametrize("a,b,d", [("", "", 0), ("kitten", "sitting", 3), ("abc", "", 3),
                                   ("flaw", "lawn", 2), ("été", "ete", 2)])
def test_distance(a, b, d):
    assert distance(a, b) == d == distance(b, a)


def test_levenshtein_default_and_given_threshold():
    assert check({"levenshtein": "hello world"}, "hallo wurld!").passed      # 3 <= 5
    r = check({"levenshtein": "hello", "threshold": 1}, "help")
    assert not r.passed and "edit distance 2" in r.reason
    assert check({"not-levenshtein": "abc", "threshold": 0}, "abd").passed


def test_word_count_exact_and_range():
    assert check({"word-count": 3}, " one two\nthree ").passed
    assert not check({"word-count": 3}, "one two").passed
    assert check({"word-count": {"min": 2}}, "a b c d").passed
    r = check({"word-count": {"min": 1, "max": 2}}, "a b c")
    assert not r.passed and "3 words" in r.reason


def test_finish_reason_from_the_result():
    class Result:
        finish_reason = "length"
        timings = usage = None

    ctx = GradeContext.from_result({}, Result())
    assert ctx.finish_reason == "length"
    assert check({"finish-reason": "LENGTH"}, "x", ctx).passed
    assert not check({"finish-reason": "stop"}, "x", ctx).passed
    r = check({"finish-reason": "stop"}, "x", GradeContext())
    assert not r.passed and "no finish reason" in r.reason


def test_contains_json_is_lenient_and_takes_a_schema():
    assert check({"contains-json": None}, 'Here: {"a": 1} ok').passed
    assert not check("contains-json", "no json here").passed
    schema = {"type": "object", "required": ["b"]}
    assert not check({"contains-json": schema}, 'x {"a": 1}').passed
    assert check({"is-json": None}, 'x {"a": 1}').passed
    assert not check({"is-json": None, "strict": True}, 'x {"a": 1}').passed


@pytest.mark.parametrize("raw,msg", [
    ({"levenshtein": "a", "threshold": -1}, "threshold"),
    ({"levenshtein": ["a"]}, "reference text"),
    ({"word-count": 2.5}, "whole number"),
    ({"word-count": {"min": 5, "max": 2}}, "more than max"),
    ({"word-count": {"least": 1}}, "whole number"),
    ({"finish-reason": ""}, "finish reason"),
])
def test_bad_values(raw, msg):
    with pytest.raises(ValueError, match=msg):
        validate(parse_assertion(raw))
