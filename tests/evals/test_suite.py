"""Suite loading: every feature of the format, the bundled suites, every bad-suite path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from openpick.errors import InvalidInput, MissingDependency, NotFound
from openpick.evals.suite import bundled_suites, load_suite, parse_suite

FIX = Path(__file__).parents[1] / "fixtures" / "suites"


def items_by_id(suite):
    return {(i.case_id, i.variant): i for i in suite.items()}


# ----------------------------------------------------------------------------- good suites

def test_good_suite_renders_every_case():
    suite = load_suite(FIX / "good.yaml")
    assert suite.name == "good"
    assert suite.models == ["fake:echo"]
    assert len(suite.hash) == 64
    items = items_by_id(suite)
    cap = items[("capital", "default")]
    assert cap.messages == [
        {"role": "system", "content": "You are terse. Today is Monday."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    assert cap.prompt is None and cap.input == cap.messages
    assert cap.params() == {"max_tokens": 32, "temperature": 0.2, "top_p": 0.9, "seed": 7,
                            "stop": ["\n\n"]}
    assert cap.tags == ["facts"]
    # defaults.assert comes first, then the case's own; long form keeps its weight
    assert [a.type for a in cap.assertions] == ["not-icontains", "icontains", "regex"]
    assert cap.assertions[2].weight == 2
    assert cap.source.endswith("good.yaml:13")


def test_messages_case_keeps_its_system_and_overrides():
    chat = items_by_id(load_suite(FIX / "good.yaml"))[("chat", "default")]
    assert chat.messages == [
        {"role": "system", "content": "Custom system for Ada."},
        {"role": "user", "content": "Hi, I am Ada."},
    ]
    assert chat.sampling.max_tokens == 8 and chat.threshold == 0.5 and chat.weight == 3


def test_completion_mode_gives_a_plain_prompt():
    raw = items_by_id(load_suite(FIX / "good.yaml"))[("raw", "default")]
    assert raw.messages is None and raw.prompt == "Once upon a time"
    assert raw.request_kwargs()["prompt"] == "Once upon a time"
    assert raw.grade("Once upon a time there was").passed
    assert not raw.grade("Once").passed


def test_schema_file_and_typed_var_in_json_path():
    item = items_by_id(load_suite(FIX / "good.yaml"))[("schema", "default")]
    path_assert = item.assertions[-1]
    assert path_assert.options["equals"] == 30  # "{{age}}" kept the int
    assert item.grade('{"name": "Ada", "age": 30}').passed
    assert not item.grade('{"name": "Ada", "age": "30"}').passed


def test_csv_rows_become_cases():
    items = items_by_id(load_suite(FIX / "good.yaml"))
    italy = items[("italy", "default")]
    assert italy.messages[-1]["content"] == "Capital of Italy?"
    assert italy.messages[0]["content"] == "You are terse. Today is Sunday."
    assert italy.tags == ["csv", "eu", "south"]
    assert [a.type for a in italy.assertions] == ["not-icontains", "icontains", "equals"]
    assert italy.assertions[1].value == "Rome" and italy.assertions[2].value == "Rome"
    assert italy.source.endswith("rows.csv:2")
    spain = items[("rows.csv:2", "default")]  # no __id: file name + row number
    assert [a.type for a in spain.assertions] == ["not-icontains", "icontains"]


def test_jsonl_rows_become_cases():
    items = items_by_id(load_suite(FIX / "good.yaml"))
    first = items[("rows.jsonl:1", "default")]
    assert first.messages[-1]["content"] == "Add 1 and 2 (Saturday)"
    assert first.tags == ["arith"]
    assert first.assertions[-1].type == "equals" and first.assertions[-1].value == "3"


def test_jsonl_row_with_own_prompt():
    suite = load_suite(FIX / "good.yaml")
    # rows.csv and rows.jsonl share a stem; default ids use the whole file name
    ids = [i.case_id for i in suite.items()]
    assert len(ids) == len(set(ids))
    third = [i for i in suite.items() if i.vars.get("a") == 10][0]
    assert third.messages[-1]["content"] == "Sum 10+5"


def test_prompt_variants_multiply_cases():
    suite = load_suite(FIX / "variants.yaml")
    assert suite.variant_ids == ["terse", "polite", "chat"]
    assert len(suite) == 6
    items = items_by_id(suite)
    assert items[("sky", "terse")].messages == [
        {"role": "system", "content": "Default system."},
        {"role": "user", "content": "What color is the sky? One word."}]
    assert items[("sky", "polite")].messages == [
        {"role": "system", "content": "You are kind to Bob."},
        {"role": "user", "content": "Please answer, Bob: What color is the sky?"}]
    assert items[("grass", "chat")].messages[-1] == {"role": "user",
                                                     "content": "Q: What color is grass?"}
    assert [i.key for i in suite.items(variants=["polite"])] == [("sky", "polite"),
                                                                 ("grass", "polite")]
    with pytest.raises(NotFound, match="no prompt variant 'nope'"):
        suite.items(variants=["nope"])


def test_variants_wrap_a_case_prompt():
    items = items_by_id(load_suite(FIX / "wrap.yaml"))
    assert items[("sum", "plain")].messages[-1]["content"] == "What is 2 + 3?"
    assert items[("sum", "cot")].messages[-1]["content"] == "What is 2 + 3?\nThink step by step."


def test_filter_by_tags_and_case_ids():
    suite = load_suite(FIX / "good.yaml")
    assert [i.case_id for i in suite.items(tags=["facts"])] == ["capital"]
    assert suite.case_ids[:3] == ["capital", "chat", "raw"]
    assert "csv" in suite.tags


def test_parse_suite_from_text_and_python_case_dict(tmp_path):
    suite = parse_suite(textwrap.dedent("""
        cases:
          - prompt: "Say {{word}}"
            vars: {word: hi}
            assert: [{python: "case['vars']['word'] in output"}]
    """), base_dir=tmp_path)
    (item,) = suite.items()
    assert item.case_id == "case-1" and suite.name == "suite"
    assert item.grade("hi there").passed
    assert not item.grade("bye").passed
    assert item.case_dict()["messages"][-1]["content"] == "Say hi"


def test_judge_models_are_listed(tmp_path):
    suite = parse_suite('cases: [{id: a, prompt: x, assert: [{judge: "polite", model: m1}]}]')
    assert suite.needs_judge and suite.judge_models() == {"m1"}
    assert not load_suite(FIX / "variants.yaml").needs_judge


# ----------------------------------------------------------------------------- bundled

@pytest.mark.parametrize("name", ["starter", "math", "code", "extraction", "multilingual"])
def test_bundled_suites_are_real(name):
    suite = load_suite(name)
    assert len(suite.case_ids) >= 20
    assert len(suite.description) > 100  # says what it measures and what it does not
    assert all(i.assertions for i in suite.items())


def test_bundled_names():
    assert set(bundled_suites()) >= {"starter", "math", "code", "extraction", "multilingual",
                                     "demo"}
    assert load_suite("starter.yaml").name == "starter"


def test_demo_suite_is_small_and_mixed():
    suite = load_suite("demo")
    assert 20 <= len(suite) <= 24
    assert suite.models == ["smollm2-135m", "qwen2.5-coder-0.5b"]
    assert max(i.sampling.max_tokens for i in suite.items()) <= 160
    assert {"facts", "math", "code", "extraction", "multilingual"} <= set(suite.tags)


def test_bundled_code_suite_accepts_a_right_answer():
    item = items_by_id(load_suite("code"))[("fizzbuzz", "default")]
    answer = ("```python\ndef fizzbuzz(n):\n    if n % 15 == 0:\n        return 'FizzBuzz'\n"
              "    if n % 3 == 0:\n        return 'Fizz'\n    if n % 5 == 0:\n"
              "        return 'Buzz'\n    return str(n)\n```")
    assert item.grade(answer).passed
    assert not item.grade("```python\ndef fizzbuzz(n):\n    return str(n)\n```").passed


def test_unknown_bundled_name_suggests():
    with pytest.raises(NotFound, match="did you mean 'starter'"):
        load_suite("startr")


def test_missing_suite_file():
    with pytest.raises(NotFound, match="suite file not found"):
        load_suite("nowhere/suite.yaml")


# ----------------------------------------------------------------------------- bad suites

def fails(path_or_text, *, match: str, line: int | None = None, tmp_path=None,
          name: str = "suite.yaml", err=InvalidInput):
    if tmp_path is not None:
        p = tmp_path / name
        p.write_text(textwrap.dedent(path_or_text), encoding="utf-8")
        path_or_text = p
    with pytest.raises(err) as info:
        load_suite(path_or_text)
    e = info.value
    assert match in str(e), str(e)
    if line is not None:
        assert e.line == line, str(e)
    return e


def test_bad_yaml_names_file_and_line():
    e = fails(FIX / "bad" / "yaml_error.yaml", line=6, match="YAML error")
    assert e.path.endswith("yaml_error.yaml")
    assert "while scanning a quoted scalar at line 4" in str(e)


def test_unknown_assertion_names_line_and_field():
    e = fails(FIX / "bad" / "unknown_assertion.yaml", line=9,
              match="cases[1].assert[0]: unknown assertion type 'icontain'")
    assert "did you mean 'icontains'" in str(e)
    assert str(e).startswith(str(FIX / "bad" / "unknown_assertion.yaml") + ":9:")


def test_missing_var_names_line_and_field():
    fails(FIX / "bad" / "missing_var.yaml", line=4,
          match="cases[0].prompt: missing var: 'country' is undefined")


def test_duplicate_id_names_both_places():
    e = fails(FIX / "bad" / "duplicate_id.yaml", line=7, match="duplicate case id 'same'")
    assert "duplicate_id.yaml:3" in str(e)


def test_unreadable_data_file():
    fails(FIX / "bad" / "missing_data.yaml", line=5,
          match="data[0].file: cannot read data file does_not_exist.csv")


def test_bad_field_value():
    fails(FIX / "bad" / "bad_field.yaml", line=7,
          match="cases[0].max_tokens: invalid value -5 (an integer >= 1)")


def test_bad_jsonl_row_names_the_data_file_line():
    e = fails(FIX / "bad" / "bad_jsonl.yaml", line=2, match="not JSON")
    assert e.path.endswith("bad_rows.jsonl")


BAD = [
    # (suite text, expected message part, expected line)
    ("- just\n- a list\n", "a suite is a YAML mapping", 1),
    ("", "a suite is a YAML mapping", 1),
    ("cases:\n  - id: a\n    prompt: x\n    prompt: y\n", "YAML error: duplicate key 'prompt'", 4),
    ("cases:\n  - {[a]: 1}\n", "YAML error: found an unhashable key", 2),
    ("name: x\ncase: []\n", "unknown field 'case' (did you mean 'cases'?)", 2),
    ("cases:\n  - id: a\n    promt: hi\n", "cases[0]: unknown field 'promt'", 3),
    ("cases: {a: 1}\n", "cases: must be a list", 1),
    ("cases:\n  - just text\n", "cases[0]: each case is a mapping", 1),
    ("cases: []\n", "the suite has no cases", 1),
    ("name: [x]\ncases: [{prompt: a}]\n", "name: must be a string", 1),
    ("models: [1]\ncases: [{prompt: a}]\n", "models: must be a list", 1),
    ("defaults: [1]\ncases: [{prompt: a}]\n", "defaults: must be a mapping", 1),
    ("defaults:\n  temprature: 0\ncases: [{prompt: a}]\n", "did you mean 'temperature'", 2),
    ('defaults:\n  "\\n": 0\ncases: [{prompt: a}]\n', "defaults: unknown field '\\n'", 2),
    ("defaults:\n  temperature: hot\ncases: [{prompt: a}]\n", "defaults.temperature: invalid", 2),
    ("defaults:\n  top_p: 2\ncases: [{prompt: a}]\n", "defaults.top_p: invalid value 2", 2),
    ("defaults:\n  seed: 1.5\ncases: [{prompt: a}]\n", "defaults.seed: invalid", 2),
    ("defaults:\n  stop: [1]\ncases: [{prompt: a}]\n", "defaults.stop: invalid", 2),
    ("defaults:\n  mode: batch\ncases: [{prompt: a}]\n", "defaults.mode: invalid", 2),
    ("defaults:\n  threshold: 2\ncases: [{prompt: a}]\n", "defaults.threshold: must be", 2),
    ("cases:\n  - id: a\n    prompt: x\n    weight: -1\n", "cases[0].weight: must be", 4),
    ("cases:\n  - id: [a]\n    prompt: x\n", "cases[0].id: id must be a non-empty string", 2),
    ("cases:\n  - id: a\n    prompt: x\n    tags: [1]\n", "cases[0].tags: must be a list", 4),
    ("cases:\n  - id: a\n    prompt: x\n    vars: [1]\n", "cases[0].vars: must be a mapping", 4),
    ("cases:\n  - id: a\n", "cases[0]: needs a prompt or messages", 2),
    ("cases:\n  - id: a\n    prompt: 3\n", "cases[0].prompt: must be a string", 3),
    ("cases:\n  - id: a\n    prompt: x\n    messages: [{role: user, content: y}]\n",
     "give prompt or messages, not both", 2),
    ("cases:\n  - id: a\n    messages: [{role: bot, content: y}]\n", "role must be one of", 3),
    ("cases:\n  - id: a\n    messages: [{role: user}]\n", "each message is {role", 3),
    ("cases:\n  - id: a\n    messages: []\n", "must be a non-empty list", 3),
    ("cases:\n  - id: a\n    prompt: 'x {{ y'\n", "cases[0].prompt: template error", 3),
    ("cases:\n  - id: a\n    prompt: '{{ x.__class__ }}'\n    vars: {x: 1}\n",
     "cases[0].prompt", 3),
    ("cases:\n  - id: a\n    prompt: x\n    assert: 5\n", "cases[0].assert: must be a list", 4),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - regex: '(['\n",
     "cases[0].assert[0]: regex: invalid regular expression", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {contains: a, weight: -2}\n",
     "weight must be a number >= 0", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {contains: a, tolerance: 1}\n",
     "contains: unknown option 'tolerance'", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {number: lots}\n",
     "number: expected a number", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {contains: '{{nope}}'}\n",
     "cases[0].assert[0]: missing var", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {not-code: 'assert 1'}\n",
     "cannot be negated", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {contains: a, equals: b}\n",
     "one assertion per mapping", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - contains\n",
     "needs a value", 4),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {code: 'def ('}\n",
     "code: tests do not compile", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {is-json: {type: nonsense}}\n",
     "is-json: invalid JSON schema", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {is-json: missing.json}\n",
     "cannot read schema file", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {json-path: '$$bad'}\n",
     "bad JSON path", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {python: 'missing.py:check'}\n",
     "python: file not found", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {python: 'def check(:'}\n",
     "inline code does not compile", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {choice: Z}\n",
     "choice: expected one letter", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {latency: fast}\n",
     "latency: value must be a number", 5),
    ("cases:\n  - id: a\n    prompt: x\n    assert:\n      - {judge: ''}\n",
     "judge: value must be the rubric", 5),
    ("cases:\n  - id: a\n    prompt: x\n    mode: completion\n    system: hi\n",
     "mode completion has no system prompt", 2),
    ("prompts: []\ncases: [{id: a, prompt: x}]\n", "prompts: must be a non-empty list", 1),
    ("prompts:\n  - {template: x}\ncases: [{id: a}]\n", "prompts[0].id: a variant needs an id", 2),
    ("prompts:\n  - {id: a, template: x}\n  - {id: a, template: y}\ncases: [{id: c}]\n",
     "duplicate prompt variant id 'a'", 3),
    ("prompts:\n  - {id: a}\ncases: [{id: c}]\n", "give exactly one of template or messages", 2),
    ("prompts:\n  - {id: a, template: '{{q}}'}\ncases:\n  - id: c\n    vars: {x: 1}\n",
     "missing var: 'q' is undefined", 4),
    ("prompts:\n  - {id: a, template: 'fixed'}\ncases:\n  - id: c\n    prompt: own\n",
     "does not use {{prompt}}", 5),
    ("prompts:\n  - {id: a, template: '{{q}}'}\ncases:\n  - id: c\n"
     "    messages: [{role: user, content: x}]\n", "cannot take the suite's prompt variants", 5),
    ("cases: [{id: a, prompt: x}]\ndata: x.csv\n", "data: must be a list", 2),
    ("cases: [{id: a, prompt: x}]\ndata:\n  - {prompt: x}\n", "data[0].file: needs `file:`", 3),
    ("cases: [{id: a, prompt: x}]\ndata:\n  - {file: rows.txt}\n",
     "unsupported data file type", 3),
]


@pytest.mark.parametrize("text,match,line", BAD, ids=[b[1][:40] for b in BAD])
def test_bad_suites(tmp_path, text, match, line):
    e = fails(text, match=match, line=line, tmp_path=tmp_path)
    assert e.path == str(tmp_path / "suite.yaml") or e.path.startswith(str(tmp_path))


def test_data_row_errors(tmp_path):
    (tmp_path / "rows.csv").write_text("q,__weird\nhello,1\n", encoding="utf-8")
    e = fails("data: [{file: rows.csv, prompt: '{{q}}'}]\n", tmp_path=tmp_path,
              match="unknown special column '__weird'", line=2)
    assert e.path.endswith("rows.csv")
    (tmp_path / "rows.csv").write_text("q\nhello\n", encoding="utf-8")
    e = fails("data: [{file: rows.csv, prompt: '{{nope}}'}]\n", tmp_path=tmp_path,
              match="missing var: 'nope' is undefined (data row 1 of rows.csv)", line=1)
    assert e.path.endswith("suite.yaml")
    (tmp_path / "rows.csv").write_bytes(b"q\n\xff\xfe\x00bad\n")
    fails("data: [{file: rows.csv, prompt: '{{q}}'}]\n", tmp_path=tmp_path,
          match="is not UTF-8", line=1)
    (tmp_path / "rows.csv").write_text("q\n", encoding="utf-8")
    fails("data: [{file: rows.csv, prompt: '{{q}}'}]\n", tmp_path=tmp_path,
          match="has no rows", line=1)
    (tmp_path / "rows.jsonl").write_text('{"q": 1}\n[1, 2]\n', encoding="utf-8")
    fails("data: [{file: rows.jsonl, prompt: '{{q}}'}]\n", tmp_path=tmp_path,
          match="each line must be a JSON object", line=2)
    (tmp_path / "rows.jsonl").write_text('{"q": 1, "__tags": 5}\n', encoding="utf-8")
    fails("data: [{file: rows.jsonl, prompt: '{{q}}'}]\n", tmp_path=tmp_path,
          match="__tags must be a list", line=1)
    (tmp_path / "rows.jsonl").write_text('{"q": 1, "__id": "x"}\n{"q": 2, "__id": "x"}\n',
                                         encoding="utf-8")
    e = fails("data: [{file: rows.jsonl, prompt: '{{q}}'}]\n", tmp_path=tmp_path,
              match="duplicate case id 'x'", line=2)
    assert e.path.endswith("rows.jsonl")


def test_data_rows_without_a_prompt(tmp_path):
    (tmp_path / "rows.csv").write_text("q\nhello\n", encoding="utf-8")
    fails("data: [rows.csv]\n", tmp_path=tmp_path, match="needs a prompt or messages")
    (tmp_path / "rows.csv").write_text("q,__prompt\nhello,Say {{q}}\n", encoding="utf-8")
    suite = parse_suite("data: [rows.csv]\n", base_dir=tmp_path)
    assert suite.items()[0].messages[-1]["content"] == "Say hello"


def test_unreadable_suite_file(tmp_path):
    p = tmp_path / "suite.yaml"
    p.write_bytes(b"\xff\xfe\xfa")
    fails(p, match="not UTF-8")


def test_similar_without_the_package_says_pip(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    def fake_find_spec(name, *a):
        return None if name == "sentence_transformers" else real(name, *a)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    e = fails("cases: [{id: a, prompt: x, assert: [{similar: hello}]}]\n", tmp_path=tmp_path,
              match="pip install 'openpick[similar]'", err=MissingDependency)
    assert "\n" not in str(e)


def test_a_case_field_is_declared_once(tmp_path):
    # Adding a case field is one line in schema.CaseBody: cases and data entries accept it,
    # unknown-field errors list it, and items carry it (item.spec), with no other change.
    from openpick.evals.suite import schema

    class WithPriority(schema.CaseSpec):
        priority: int | None = schema.F(None, "must be an integer")

    fields = schema.SuiteFile.model_fields["cases"]
    old = fields.annotation
    try:
        fields.annotation = list[WithPriority] | None
        schema.SuiteFile.model_rebuild(force=True)
        suite = parse_suite("cases:\n  - {id: a, prompt: hi, priority: 3}\n", path=tmp_path / "s.yaml")
        assert suite.items()[0].spec.priority == 3
        with pytest.raises(InvalidInput, match=r"cases\[0\].priority: must be an integer"):
            parse_suite("cases:\n  - {id: a, prompt: hi, priority: high}\n")
    finally:
        fields.annotation = old
        schema.SuiteFile.model_rebuild(force=True)
    with pytest.raises(InvalidInput, match="unknown field 'priority'"):
        parse_suite("cases:\n  - {id: a, prompt: hi, priority: 3}\n")


def test_a_multi_line_assertion_type_is_named_on_one_line(tmp_path):
    # Found by the fuzz tests: tests written where the type key belongs.
    text = 'cases:\n  - id: a\n    prompt: x\n    assert:\n      - "assert f(1)\\nassert f(2)": 1\n'
    with pytest.raises(InvalidInput) as e:
        parse_suite(text, path=tmp_path / "s.yaml")
    assert "unknown assertion type 'assert f(1)\\nassert f(2)'" in str(e.value)
    assert "\n" not in str(e.value)
