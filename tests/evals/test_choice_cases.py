"""Multiple-choice cases (`choices:` + `answer:`): parsed, scored by the engine's
loglikelihood instead of generated, graded acc (pass) and acc_norm (detail), cached."""

from __future__ import annotations

import textwrap

import pytest

from openpick.errors import InvalidInput
from openpick.evals import choices as C
from openpick.evals.runner import RunOptions, compare
from openpick.evals.suite import load_suite, parse_suite

SUITE = """\
name: mc
cases:
  - id: capital
    prompt: "Question: capital of {{country}}?\\nAnswer:"
    vars: {country: France}
    choices: [Lyon, Paris, "{{country}}ville"]
    answer: Paris
  - id: by-index
    prompt: "2 + 2 ="
    choices: [3, 4, 5]
    answer: 1
    choice_prefix: "  "
"""


def suite(text: str = SUITE):
    return parse_suite(textwrap.dedent(text), path="mc.yaml")


def test_choices_parse_with_templates_index_and_text_answers():
    first, second = suite().items()
    assert first.choices == ["Lyon", "Paris", "Franceville"] and first.answer == 1
    assert first.prompt == "Question: capital of France?\nAnswer:" and first.messages is None
    assert first.continuations() == [" Lyon", " Paris", " Franceville"]
    assert second.choices == ["3", "4", "5"] and second.answer == 1
    assert second.continuations()[0] == "  3"
    assert first.assertions == []


def test_a_choices_case_with_a_system_prompt_is_a_chat():
    (item,) = suite("""\
        defaults: {system: "Be brief."}
        cases:
          - {prompt: "Pick one", choices: [a, b], answer: b}
        """).items()
    assert item.prompt is None and item.messages[0] == {"role": "system", "content": "Be brief."}
    assert item.score_request().context[1].content == "Pick one"


@pytest.mark.parametrize("body, field, line, words", [
    ("choices: [a, b]\n    answer: c", "cases[0].answer", 4, "not one of the choices"),
    ("choices: [a, b]\n    answer: 2", "cases[0].answer", 4, "from 0 to 1"),
    ("answer: 1", "cases[0].answer", 3, "needs `choices:`"),
    ("choices: [a, b]", "cases[0]", 3, "needs `answer:`"),
    ("choices: [a]\n    answer: 0", "cases[0].choices", 3, "two or more"),
    ("choices: [a, a]\n    answer: 0", "cases[0].choices[1]", 3, "listed twice"),
    ("choices: [a, b]\n    answer: 0\n    assert: [{equals: a}]", "cases[0].assert", 5,
     "takes no assert"),
])
def test_bad_choice_cases_name_field_and_line(body, field, line, words):
    text = f"cases:\n  - prompt: hi\n    {body}\n"
    with pytest.raises(InvalidInput) as e:
        parse_suite(text, path="mc.yaml")
    assert e.value.path == "mc.yaml" and e.value.line == line
    assert field in e.value.message and words in e.value.message


def test_data_rows_become_choice_cases_with_expected_as_answer(tmp_path):
    (tmp_path / "rows.csv").write_text("q,a,b,__expected\nsky?,blue,green,blue\n"
                                       "grass?,blue,green,1\n")
    (tmp_path / "s.yaml").write_text(
        'data:\n  - file: rows.csv\n    prompt: "{{q}}"\n    choices: ["{{a}}", "{{b}}"]\n')
    items = load_suite(tmp_path / "s.yaml").items()
    assert [(i.choices, i.answer) for i in items] == [(["blue", "green"], 0),
                                                     (["blue", "green"], 1)]


def test_choice_fields_change_the_suite_hash_but_plain_suites_keep_theirs():
    a = suite().items()
    b = suite(SUITE.replace("answer: Paris", "answer: Lyon")).items()
    from openpick.evals.suite import items_hash

    assert items_hash(a) != items_hash(b)
    plain = parse_suite("cases: [{prompt: hi}]").items()[0]
    assert "choices" not in plain.fingerprint()


# -- grading ---------------------------------------------------------------------------------
def _scores(*lps):
    from openpick.engines.base import ChoiceScore

    return [ChoiceScore(logprob=lp, tokens=1, is_greedy=i == 0) for i, lp in enumerate(lps)]


def test_acc_is_the_pass_and_acc_norm_divides_by_characters():
    item = suite().items()[0]  # Lyon, Paris (answer), Franceville
    grade = C.grade(item, _scores(-3.0, -4.0, -10.0))
    a = grade.assertions[0]
    assert not grade.passed and a.detail["chosen"] == 0 and a.detail["acc"] == 0.0
    # per character: -0.75, -0.8, -0.909 → still Lyon; make Franceville long and likely
    grade = C.grade(item, _scores(-3.0, -3.5, -5.5))
    d = grade.assertions[0].detail
    assert d["chosen"] == 0 and d["chosen_norm"] == 2 and d["acc_norm"] == 0.0
    grade = C.grade(item, _scores(-3.0, -1.0, -9.0))
    assert grade.passed and grade.score == 1.0 and "(the answer)" in grade.assertions[0].reason
    assert [c["chars"] for c in grade.assertions[0].detail["choices"]] == [4, 5, 11]


# -- the runner ------------------------------------------------------------------------------
def _run(items, options=None, models=("fake:echo",)):
    return compare(_Suite(items), list(models), options or RunOptions())


def _Suite(items):
    from openpick.evals.suite import Suite

    return Suite.of(items, name="mc")


def test_the_runner_scores_instead_of_generating_and_caches_the_scores():
    opts = RunOptions(engine_options={"fake:echo": {"logprobs": {"Paris": -0.5, "4": -0.1}}})
    run, results = _run(suite().items(), opts)
    assert run.status == "finished"
    first, second = results
    assert first.output == "Paris" and first.passed and second.output == "4" and second.passed
    assert first.input == "Question: capital of France?\nAnswer:"
    detail = first.grade.assertions[0].detail
    assert [c["logprob"] for c in detail["choices"]] == [-5.0, -0.5, -12.0]
    assert detail["choices"][1]["is_greedy"] and detail["prefix"] == " "
    again_run, again = _run(suite().items(), opts)
    assert again_run.id != run.id  # a finished run is not reused: a new run, from the cache
    assert all(r.cached for r in again) and again[0].grade == first.grade


def test_a_model_that_cannot_score_is_refused_before_anything_runs():
    with pytest.raises(InvalidInput, match="cannot score continuations.*llama-cpp"):
        _run(suite().items(), models=("openai:http://127.0.0.1:9/v1#m",))


def test_a_scoring_failure_is_an_error_on_its_case_only(monkeypatch):
    from openpick.engines.fake import FakeEngine

    real = FakeEngine.loglikelihood

    def flaky(self, context, continuations):
        if "2 + 2" in context:
            raise RuntimeError("native trouble")
        return real(self, context, continuations)

    monkeypatch.setattr(FakeEngine, "loglikelihood", flaky)
    run, (ok, bad) = _run(suite().items())
    assert run.status == "finished" and ok.error is None and ok.output is not None
    assert bad.output is None and "native trouble" in bad.error


def test_the_bundled_multiple_choice_suite_loads():
    s = load_suite("multiple-choice")
    items = s.items()
    assert 10 <= len(items) <= 20
    assert all(i.choices and len(i.choices) == 4 and i.prompt for i in items)
    assert len({i.answer for i in items}) == 4  # the answer is not always in one place
