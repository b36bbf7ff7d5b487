"""Fuzz the suite loader: generated suites in the right shape with wrong parts, mutated real
suite files, and mutated data files (CSV, JSONL) behind a suite. Each input loads, or is
rejected with one line naming the file (see conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from fuzzkit import fuzz_settings, mutated, parse_or_reject
from hypothesis import given
from hypothesis import strategies as st

from openpick.evals.suite import BUNDLED_DIR, load_suite, parse_suite

pytestmark = pytest.mark.fuzz

FIX = Path(__file__).parent.parent / "fixtures" / "suites"
REAL = sorted(FIX.glob("*.yaml")) + sorted(BUNDLED_DIR.glob("*.yaml"))
CORPUS = [p.read_bytes() for p in REAL]

# -- generated: the suite's own keys, values of every kind --------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**20), st.floats(),
                    st.text(max_size=12), st.sampled_from(
                        ["{{x}}", "{{ prompt }}", "{% for %}", "{{ x.__class__ }}", "paris",
                         "chat", "completion", "rows.csv", "rows.jsonl", "user", "bot", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
assertion = st.one_of(
    st.dictionaries(st.sampled_from(["contains", "icontains", "not-contains", "equals", "regex",
                                     "number", "is-json", "json-path", "choice", "latency",
                                     "judge", "code", "weight", "threshold", "nope"]),
                    values, min_size=1, max_size=2),
    values)
message = st.one_of(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "bot"]),
                                           "content": values}), values)


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a valid value (so whole suites load and the later checks run), sometimes
    anything."""
    return st.one_of(valid, valid, valid, values)


text = st.text(max_size=16)
template = st.one_of(text, st.sampled_from(["{{x}}", "Q {{ x }}?", "{{ prompt }}!", "{{nope}}",
                                            "{% if x %}y{% endif %}", "{{ x | upper }}"]))
good_assert = st.dictionaries(st.sampled_from(["contains", "icontains", "not-icontains",
                                               "regex", "starts-with"]),
                              template, min_size=1, max_size=1)
case_keys = {
    "id": mostly(st.text(min_size=1, max_size=8)), "prompt": mostly(template),
    "messages": st.lists(message, max_size=3),
    "vars": mostly(st.dictionaries(st.sampled_from(["x", "y", "prompt"]), text, max_size=2)),
    "tags": mostly(st.lists(text, max_size=2)),
    "assert": mostly(st.lists(st.one_of(good_assert, good_assert, assertion), max_size=3)),
    "weight": mostly(st.floats(0, 10)), "threshold": mostly(st.floats(0, 1)),
    "max_tokens": mostly(st.integers(1, 64)), "temperature": mostly(st.floats(0, 2)),
    "top_p": mostly(st.floats(0.01, 1)), "seed": mostly(st.integers(0, 2**31)),
    "stop": mostly(st.lists(st.text(min_size=1, max_size=3), max_size=2)),
    "system": mostly(template), "mode": mostly(st.sampled_from(["chat", "completion"])),
    "description": mostly(text),
}
good_message = st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]),
                                      "content": template})
others = {k: v for k, v in case_keys.items() if k not in ("prompt", "messages")}
case = st.one_of(
    st.fixed_dictionaries({"prompt": template}, optional=others),
    st.fixed_dictionaries({"messages": st.lists(good_message, min_size=1, max_size=2)},
                          optional=others),
    st.fixed_dictionaries({}, optional={**case_keys, "promt": values}))
entry = st.one_of(st.fixed_dictionaries({"file": st.sampled_from(
    ["rows.csv", "rows.jsonl", "missing.csv", "x.txt", ""])}, optional=case_keys), values)
variant = st.one_of(st.fixed_dictionaries({}, optional={
    "id": values, "template": values, "messages": st.lists(message, max_size=2),
    "system": values}), values)
suite_doc = st.fixed_dictionaries({"cases": mostly(st.lists(case, min_size=1, max_size=4))}, optional={
    "name": mostly(text), "description": mostly(text),
    "models": mostly(st.lists(st.sampled_from(["smollm2-135m", "fake:echo"]), max_size=2)),
    "defaults": mostly(st.fixed_dictionaries({}, optional={
        k: case_keys[k] for k in ("system", "max_tokens", "temperature", "top_p", "seed",
                                  "stop", "mode", "assert", "threshold")})),
    "prompts": st.one_of(st.just([{"id": "a", "template": "{{ prompt }} / {{ x }}"}]),
                         st.lists(variant, max_size=3), values),
    "data": mostly(st.lists(entry, max_size=2)),
    "x-anchor": values,
})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("suite-fuzz")
    for p in FIX.iterdir():
        if p.is_file():
            shutil.copy(p, d / p.name)
    return d


def test_generated_suites(workdir):
    @fuzz_settings(0.4)
    @given(suite_doc)
    def run(doc):
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        parse_or_reject("suite (generated)",
                        lambda: parse_suite(text, path=workdir / "gen.yaml", base_dir=workdir),
                        names=("gen.yaml", "rows.csv", "rows.jsonl", "missing.csv", "x.txt"))

    run()


def test_mutated_suite_files(workdir):
    @fuzz_settings(0.4)
    @given(mutated(CORPUS))
    def run(data):
        path = workdir / "mutant.yaml"
        path.write_bytes(data)
        parse_or_reject("suite (mutated files)", lambda: load_suite(path),
                        names=("mutant.yaml", "rows.csv", "rows.jsonl", "checks.py",
                               "person.schema.json"))

    run()


DATA_CORPUS = [(FIX / "rows.csv").read_bytes(), (FIX / "rows.jsonl").read_bytes()]


def test_mutated_data_files(workdir):
    suites = {".csv": (workdir / "rows.csv"), ".jsonl": (workdir / "rows.jsonl")}
    text = {ext: (f"data:\n  - file: fz{ext}\n    prompt: 'Q {{{{ question | default(1) }}}}'\n"
                  f"    assert: [{{icontains: a}}]\n") for ext in suites}

    @fuzz_settings(0.2)
    @given(mutated(DATA_CORPUS), st.sampled_from(sorted(suites)))
    def run(data, ext):
        (workdir / f"fz{ext}").write_bytes(data)
        parse_or_reject("suite (data files, mutated)",
                        lambda: parse_suite(text[ext], path=workdir / "data.yaml",
                                            base_dir=workdir),
                        names=("data.yaml", f"fz{ext}"))

    run()


HEAD = b"name: hard\ncases:\n  - id: a\n    prompt: hi\n"
HARD = [
    HEAD + b"    vars: {d: 2024-13-45}\n",                    # a timestamp that is no date
    HEAD + b"    vars: {n: " + b"9" * 5000 + b"}\n",           # past int's digit limit
    HEAD + b"    vars: {x: " + b"[" * 5000 + b"]" * 5000 + b"}\n",  # deep nesting
    HEAD + b"    tags: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n",
    b"x-a: &a [x, x, x, x, x, x, x, x, x]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nx-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nx-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    + HEAD + b"    tags: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",  # alias bomb
    b"\xef\xbb\xbf" + HEAD,                                   # BOM
    HEAD + b"\x00",
    b"\xff\xfe\x00\x00",                                       # UTF-32 BOM: not UTF-8
    b"? [a, b]\n: 1\n",                                        # unhashable key
    b"name: !!python/object/apply:os.system [echo hi]\ncases: [{prompt: a}]\n",
    b"--- {cases: [{prompt: a}]}\n--- {cases: [{prompt: b}]}\n",  # two documents
    HEAD + b"    assert: [{regex: '(a+)+$'}]\n    vars: {s: " + b"a" * 50 + b"}\n",
    HEAD + b"    max_tokens: .inf\n",
    HEAD + b"    temperature: .nan\n",
    HEAD + b"    weight: 1e400\n",
]


@pytest.mark.parametrize("data", HARD, ids=range(len(HARD)))
def test_hard_yaml(workdir, data):
    path = workdir / "hard.yaml"
    path.write_bytes(data)
    parse_or_reject("suite (hard)", lambda: load_suite(path), names=("hard.yaml",))
