"""promptfoo configs read as suites: promptfoo's own examples (tests/fixtures/promptfoo),
hand-written configs for every mapped field, and the errors for what openpick cannot run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openpick.cli.main import app
from openpick.errors import InvalidInput
from openpick.evals.suite import items_hash, load_suite, parse_suite
from openpick.evals.suite.promptfoo import convert_file, detect, dump
from openpick.evals.suite.promptfoo_providers import spec_of

FIX = Path(__file__).parents[1] / "fixtures" / "promptfoo"
HAND = FIX / "handwritten" / "promptfooconfig.yaml"

# promptfoo's examples: (config, cases × prompts, prompt variant ids, models)
SUPPORTED = [
    ("getting-started/promptfooconfig.yaml", 4, ["v1", "v2"],
     ["openai:https://api.openai.com/v1#gpt-4.1", "openai:https://api.openai.com/v1#o4-mini"]),
    ("ollama/promptfooconfig.yaml", 20, ["openai_prompt", "llama_prompt"],
     ["ollama:llama4-scout", "ollama:llama4-maverick",
      "openai:https://api.openai.com/v1#gpt-5-mini"]),
    ("python-assert/promptfooconfig-inline.yaml", 2, ["v1"],
     ["openai:https://api.openai.com/v1#gpt-4.1-mini"]),
    ("python-assert/promptfooconfig-external.yaml", 5, ["v1"],
     ["openai:https://api.openai.com/v1#gpt-4.1-mini"]),
    ("csv-metadata/promptfooconfig.yaml", 3, ["v1"], ["openai:https://api.openai.com/v1#gpt-4.1"]),
    ("simple-csv/promptfooconfig.yaml", 8, ["prompts-1", "prompts-2"],
     ["openai:https://api.openai.com/v1#gpt-3.5-turbo"]),
    ("simple-cli/promptfooconfig.yaml", 8, ["v1", "v2"],
     ["openai:https://api.openai.com/v1#gpt-5"]),
    ("phi-vs-llama/promptfooconfig.yaml", 16, ["v1"], ["ollama:llama3", "ollama:phi3"]),
    ("gpt-4o-vs-4o-mini/promptfooconfig.yaml", 15, ["v1"],
     ["openai:https://api.openai.com/v1#gpt-5", "openai:https://api.openai.com/v1#gpt-5-mini"]),
    ("groq/promptfooconfig.yaml", 4, ["v1", "v2"], []),
    ("mistral-llama-comparison/promptfooconfig.yaml", 16, ["mistral_prompt", "llama_prompt"], []),
]
# these use javascript assertions: they load where Node.js is installed
NODE = [
    ("eval-self-grading/promptfooconfig.yaml", 4, ["prompts-1", "prompts-2"],
     ["openai:https://api.openai.com/v1#gpt-5.2"]),
    ("simple-test/promptfooconfig.yaml", 10, ["prompts-1", "prompts-2"],
     ["openai:https://api.openai.com/v1#gpt-4.1-mini"]),
    ("javascript-assert-external/promptfooconfig.yaml", 4, ["v1"],
     ["openai:https://api.openai.com/v1#gpt-4o"]),
    ("claude-vs-gpt/promptfooconfig.yaml", 15, ["prompt"],
     ["openai:https://api.openai.com/v1#gpt-4o"]),
]
if shutil.which("node"):
    SUPPORTED += NODE
else:
    print("Node.js is not installed: the examples with javascript assertions are checked for "
          "their error only")
# (config, line, words the error must say)
UNSUPPORTED = [
    ("json-output/promptfooconfig.yaml", 22, ["transform", "python"]),
    ("llama-cpp/promptfooconfig.yaml", 28, ["answer-relevance", "llm-rubric"]),
]


@pytest.mark.parametrize("name,n,variants,models", SUPPORTED, ids=[s[0] for s in SUPPORTED])
def test_promptfoo_examples_load_and_convert(name, n, variants, models, tmp_path):
    suite = load_suite(FIX / name)
    assert len(suite) == n and suite.variant_ids == variants and suite.models == models
    # the converted native suite loads on its own and asks and grades the same
    out = tmp_path / "suite.yaml"
    out.write_text(dump(convert_file(FIX / name)))
    native = load_suite(out)
    assert items_hash(native.items()) == items_hash(suite.items())


@pytest.mark.parametrize("name,line,words", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_promptfoo_examples_with_unsupported_features_name_file_line_and_instead(
        name, line, words):
    with pytest.raises(InvalidInput) as e:
        load_suite(FIX / name)
    assert e.value.path == str(FIX / name) and e.value.line == line
    assert all(w in str(e.value) for w in words), str(e.value)


def test_examples_map_their_prompts_and_default_tests():
    suite = load_suite(FIX / "ollama/promptfooconfig.yaml")
    first = suite.items()[0]
    assert first.messages == [{"role": "system", "content": "You are a helpful assistant."},
                              {"role": "user", "content": "Hi! How are you?"}]
    llama = suite.items(variants=["llama_prompt"])[0]
    assert llama.messages == [{"role": "user", "content": "User: Hi! How are you?\nAssistant:\n"}]
    assert [a.type for a in first.assertions] == ["not-icontains"] * 4
    csv = load_suite(FIX / "csv-metadata/promptfooconfig.yaml").items()[0]
    assert [(a.type, a.value) for a in csv.assertions][0] == ("contains", " algorithm")
    assert csv.assertions[1].base == "judge" and "machine learning" in csv.assertions[1].value
    assert csv.sampling.temperature == 0.7


def test_handwritten_config_maps_every_field():
    doc = convert_file(HAND)
    assert doc["description"].startswith("Every promptfoo field")
    assert doc["models"] == [
        "openai:http://127.0.0.1:8000/v1#qwen2.5", "ollama:llama3.2",
        "openai:http://127.0.0.1:9000/v1#mistral", "llama-server:phi3",
        "openai:http://localhost:8080/v1#gemma", "vllm:mistral", "fake:echo"]
    assert doc["defaults"]["temperature"] == 0.2 and doc["defaults"]["max_tokens"] == 64
    assert doc["x-promptfoo"]["evaluateOptions"] == {"maxConcurrency": 2, "repeat": 3}
    notes = " ".join(doc["x-promptfoo"]["notes"])
    assert "anthropic:messages:claude-3-haiku" in notes and "--concurrency 2" in notes
    suite = load_suite(HAND)
    ids = suite.case_ids
    assert ids[:5] == ["test-1", "test-2", "test-3", "test-4", "test-5.1"]
    assert ids[-6:] == ["tests.yaml:1", "tests.csv:1", "tests.csv:2", "tests.csv:3",
                        "tests.csv:4", "tests.jsonl:1"]
    by = {i.case_id: i for i in suite.items()}
    # list-valued vars: one case per combination, defaultTest vars under the test's
    combos = [(by[f"test-5.{k}"].vars["word"], by[f"test-5.{k}"].vars["topic"])
              for k in range(1, 7)]
    assert sorted(combos) == sorted((w, t) for w in ("one", "two") for t in "xyz")
    assert by["test-1"].vars == {"topic": "cats", "word": "Hello"}
    assert by["test-6"].vars["word"] == "filed"            # a file:// var
    assert by["test-6"].assertions[1].value == "Say filed"  # a file:// value
    assert all(i.assertions[0].type == "not-icontains" for i in suite.items())
    m = {a.type: a for a in by["test-2"].assertions}
    assert m["latency"].value == 60.0 and m["cost"].weight == 0
    assert m["levenshtein"].options == {"threshold": 4}
    j = {a.type: a for a in by["test-3"].assertions}
    assert j["not-is-json"].options == {"strict": True}
    assert j["contains-json"].value["required"] == ["a"]
    csv = by["tests.csv:4"]
    assert [a.type for a in csv.assertions][1:] == ["regex", "python"]
    assert csv.threshold == 0.5 and csv.description == "regex and python"
    assert by["tests.csv:1"].assertions[1].type == "equals"
    assert by["tests.csv:3"].assertions[1].value == ["DELTA", "zeta"]


def test_handwritten_prompt_forms():
    suite = load_suite(FIX / "handwritten/prompts.yaml")
    got = {i.variant: i.messages for i in suite.items()}
    assert list(got) == ["v1", "pair-1", "pair-2", "chat", "raw-chat", "chat-2", "dumped"]
    assert got["pair-2"] == [{"role": "user", "content": "Second why"}]
    assert got["chat"][0] == {"role": "system", "content": "Be brief."}
    assert got["raw-chat"] == [{"role": "user", "content": "Raw chat why"}]
    assert got["chat-2"][1]["content"] == "YAML chat why"
    assert got["dumped"] == [{"role": "user", "content": 'Dumped "why"'}]


def test_handwritten_graders_map_judges_and_similarity():
    (item,) = load_suite(FIX / "handwritten/graders.yaml").items()
    a = item.assertions
    assert (a[0].base, a[0].options) == ("judge", {"threshold": 0.7, "model": "ollama:judge"})
    assert a[1].options["model"] == "openai:https://api.openai.com/v1#gpt-4o-mini"
    assert (a[2].base, a[2].options) == ("similar", {"threshold": 0.8})
    assert a[3].value == ["hi", "hey"]


def test_compare_runs_the_handwritten_config_unchanged_on_the_echo_model():
    r = CliRunner().invoke(app, ["compare", str(HAND), "-m", "fake:echo", "--json"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    results = {x["case_id"]: x for x in json.loads(r.stdout)["results"]}
    failed = sorted(k for k, x in results.items() if not x["grade"]["passed"])
    assert failed == ["test-7"]        # the one that fails on purpose
    assert len(results) == 18
    reasons = [a["reason"] for a in results["test-2"]["grade"]["assertions"]]
    assert any("finish reason 'stop'" in x for x in reasons)
    assert any("4 words" in x for x in reasons)


def test_python_checks_follow_promptfoo_semantics():
    suite = load_suite(FIX / "python-assert/promptfooconfig-external.yaml")
    last = suite.items()[-1]
    ctx = last.context()
    # assert_with_config.py reads context["config"]["fruitList"]
    assert last.grade("passion fruit and guava", ctx).assertions[0].passed
    assert not last.grade("passion fruit and guava", ctx).assertions[1].passed  # banana
    inline = load_suite(FIX / "python-assert/promptfooconfig-inline.yaml").items()
    assert inline[0].grade("bananas are great").passed
    assert not inline[1].grade("no").passed
    assert inline[1].grade("Expected output").passed


def write(tmp_path, text: str, name: str = "promptfooconfig.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def one_assertion(kind: str, extra: str = "        value: x\n") -> str:
    return f"prompts: ['{{{{x}}}}']\ntests:\n  - vars: {{x: 1}}\n    assert:\n" \
           f"      - type: {kind}\n{extra}"


BAD = [
    (one_assertion("webhook"), 5, "webhook"),
    (one_assertion("icontains", "        value: a\n        transform: output.trim()\n"), 5,
     "transform"),
    (one_assertion("select-best"), 5, "openpick compare"),
    (one_assertion("not-llm-rubric"), 5, "cannot be negated"),
    (one_assertion("bleu"), 5, "similar or levenshtein"),
    (one_assertion("no-such-type"), 5, "unknown promptfoo assertion type"),
    ("prompts: ['{{x}}']\nproviders: [echo]\nscenarios: []\n", 3, "scenarios"),
    ("prompts: ['{{x}}']\nproviders: [echo]\nfoo: 1\n", 3, "unknown promptfoo config key 'foo'"),
    ("prompts: ['{{x}}']\ntests:\n  - vars: {x: 1}\n    options: {prefix: 'P: '}\n", 4, "prefix"),
    ("prompts: [file://missing.txt]\ntests: [{vars: {x: 1}}]\n", 1, "file not found"),
    ("prompts: ['{{y}}']\ntests:\n  - vars: {x: 1}\n", 3, "missing var"),
]


@pytest.mark.parametrize("text,line,words", BAD, ids=[b[2] for b in BAD])
def test_bad_configs_name_file_and_line(tmp_path, text, line, words):
    p = write(tmp_path, text)
    with pytest.raises(InvalidInput) as e:
        load_suite(p)
    assert e.value.path == str(p) and e.value.line == line, str(e.value)
    assert words in str(e.value)


def test_errors_in_test_files_name_that_file(tmp_path):
    (tmp_path / "t.csv").write_text("x,__expected\n1,webhook:http://127.0.0.1:1/check\n")
    p = write(tmp_path, "prompts: ['{{x}}']\ntests: file://t.csv\n")
    with pytest.raises(InvalidInput) as e:
        load_suite(p)
    assert e.value.path == str(tmp_path / "t.csv") and e.value.line == 2
    assert "webhook" in str(e.value)


def test_detection_by_keys():
    assert detect({"prompts": ["x"], "tests": []}) and detect({"providers": ["echo"]})
    assert not detect({"prompts": [{"id": "a", "template": "x"}], "cases": []})
    with pytest.raises(InvalidInput, match="unknown field 'providers'"):  # native keys win
        parse_suite("providers: [echo]\ncases:\n  - prompt: hi\n")


def test_provider_specs():
    assert spec_of("openai:chat:m", {"apiBaseUrl": "http://h:1/v1/"}) == "openai:http://h:1/v1#m"
    assert spec_of("openai:m", {"apiHost": "h.example"}) == "openai:https://h.example/v1#m"
    assert spec_of("openai:embedding:e", {}) is None
    assert spec_of("ollama:completion:q", {}) == "ollama:q"
    assert spec_of("llama", {"baseUrl": "http://h:8081"}) == "openai:http://h:8081/v1#default"
    assert spec_of("localai:chat:g", {}) == "openai:http://localhost:8080/v1#g"
    assert spec_of("https://h/v1/chat/completions",
                   {"body": {"model": "m", "messages": []}}) == "openai:https://h/v1#m"
    assert spec_of("http", {"url": "https://h/api", "body": {"model": "m"}}) is None
    assert spec_of("bedrock:claude", {}) is None


def test_cartesian_product_and_the_hash_covers_file_contents(tmp_path):
    (tmp_path / "p.txt").write_text("{{a}} {{b}}")
    p = write(tmp_path, "prompts: [file://p.txt]\ntests:\n  - vars: {a: [1, 2], b: [x, y]}\n")
    first = load_suite(p)
    assert [i.vars for i in first.items()] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"},
                                               {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    (tmp_path / "p.txt").write_text("{{a}}-{{b}}")
    second = load_suite(p)
    assert items_hash(second.items()) != items_hash(first.items())
    assert second.hash != first.hash  # the suite's own hash covers the files it read


def test_a_missing_var_in_a_test_file_points_at_the_configs_tests_line(tmp_path):
    (tmp_path / "t.yaml").write_text("- vars: {x: 1}\n- vars: {y: 2}\n")
    p = write(tmp_path, "prompts: ['{{x}}']\n\ntests: file://t.yaml\n")
    with pytest.raises(InvalidInput) as e:
        load_suite(p)
    assert (e.value.path, e.value.line) == (str(p), 3) and "missing var" in str(e.value)


JS = """prompts: ['Say {{word}}']
tests:
  - vars: {word: [hi, yo]}
    assert:
      - type: javascript
        value: output.includes('{{word}}') && context.vars.word.length === 2
      - type: javascript
        value: "const n = output.length; n / 10"
        threshold: 0.5
      - type: javascript
        value: |
          if (output.startsWith('x')) throw new Error('starts with x');
          return {pass: false, score: 0.9, reason: 'told ' + context.config.who};
        config: {who: me}
      - type: not-javascript
        value: file://check.js:isLong
      - type: python
        value: "{'pass': True, 'score': 0.2, 'reason': 'low'}"
        threshold: 0.5
      - type: python
        value: "'{{word}}' in output"
"""


def need_node():
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed (no `node` on PATH)")


def test_javascript_and_python_checks_follow_promptfoo_semantics(tmp_path):
    need_node()
    (tmp_path / "check.js").write_text("module.exports.isLong = (output) => output.length > 20;\n")
    items = load_suite(write(tmp_path, JS)).items()
    assert [i.vars["word"] for i in items] == ["hi", "yo"]
    got = items[0].grade("Say hi", items[0].context()).assertions
    assert got[0].passed and got[0].reason == "JavaScript returned true"  # {{word}} rendered
    assert got[1].passed and abs(got[1].score - 0.6) < 1e-9               # 6 chars / 10 >= 0.5
    assert not got[2].passed and got[2].reason == "told me" and got[2].score == 0.9
    assert got[3].passed                                                   # not longer than 20
    assert not got[4].passed and "less than threshold 0.5: low" in got[4].reason
    assert got[5].passed
    assert not items[1].grade("Say hi", items[1].context()).assertions[5].passed  # 'yo'
    thrown = items[0].grade("x", items[0].context()).assertions[2]
    assert not thrown.passed and "starts with x" in thrown.reason


def test_javascript_without_node_is_rejected_before_any_model_runs(tmp_path, monkeypatch):
    p = write(tmp_path, JS)
    monkeypatch.setenv("PATH", str(tmp_path))     # a PATH without node
    with pytest.raises(InvalidInput) as e:
        load_suite(p)
    assert (e.value.path, e.value.line) == (str(p), 5), str(e.value)
    assert "(javascript)" in str(e.value) and "install Node.js" in str(e.value)
    assert "python" in str(e.value) and "\n" not in str(e.value)


def test_the_load_filter_reads_a_json_var():
    items = load_suite(FIX / "simple-csv/promptfooconfig.yaml").items()
    first = items[0].messages[-1]["content"]
    assert "- Tone: formal\n- Length: brief" in first
    other = items[1].messages[-1]["content"]
    assert '{"tone":"formal","length":"brief"}' in other   # the var itself stays text


def test_path_like_prompts_and_request_shaped_chats(tmp_path):
    items = load_suite(FIX / "mistral-llama-comparison/promptfooconfig.yaml").items()
    assert items[0].messages[-1]["content"] == "<s>[INST]hello world[/INST]\n"
    claude = load_suite(FIX / "claude-vs-gpt/promptfooconfig.yaml").items() \
        if shutil.which("node") else None
    if claude is not None:
        assert claude[0].messages[0] == {"role": "system", "content": "Be concise"}
        assert claude[0].messages[1]["content"].startswith("Answer this riddle:\nI speak")
    p = write(tmp_path, "prompts: ['Is 1/2 a half?']\ntests: [{vars: {}}]\n")
    assert load_suite(p).items()[0].messages[-1]["content"] == "Is 1/2 a half?"


def test_native_javascript_file_check(tmp_path):
    need_node()
    (tmp_path / "check.js").write_text("export default async (output, context) => "
                                       "output.length > context.config.min;\n")
    (tmp_path / "suite.yaml").write_text(
        "cases:\n  - prompt: hi\n    assert:\n      - javascript: check.js\n"
        "        config: {min: 3}\n")
    (item,) = load_suite(tmp_path / "suite.yaml").items()
    assert item.grade("long enough").passed and not item.grade("no").passed


@pytest.mark.parametrize("name,line", [("eval-self-grading/promptfooconfig.yaml", 12),
                                       ("simple-test/promptfooconfig.yaml", 32),
                                       ("javascript-assert-external/promptfooconfig.yaml", 9),
                                       ("claude-vs-gpt/promptfooconfig.yaml", 34)])
def test_javascript_examples_without_node_name_file_line_and_instead(name, line, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))     # a PATH without node
    with pytest.raises(InvalidInput) as e:
        load_suite(FIX / name)
    assert (e.value.path, e.value.line) == (str(FIX / name), line)
    assert "(javascript): Node.js is not installed" in str(e.value)
    assert "install Node.js" in str(e.value) and "python" in str(e.value)
