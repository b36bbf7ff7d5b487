"""Training data: bad files are one error naming file, line and field; the seeded split;
the leak check against a suite."""

from __future__ import annotations

import json

import pytest

from openpick.errors import InvalidInput
from openpick.evals.suite import load_suite
from openpick.tune.dataset import leak_check, load_examples, split, suite_prompt_keys

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}


def _jsonl(tmp_path, rows, name="train.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize("bad, line, field", [
    ("{not json", 2, None),
    ([1, 2], 2, None),
    ({"prompt": "q"}, 2, "completion"),
    ({"prompt": "q", "completion": ""}, 2, "completion"),
    ({"prompt": "q", "completion": "a", "answer": "x"}, 2, "answer"),
    ({"messages": [{"role": "bot", "content": "x"}]}, 2, "messages[0].role"),
    ({"messages": [{"role": "user", "content": 3}]}, 2, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "only a question"}]}, 2, "messages"),
    ({"messages": "hello"}, 2, "messages"),
    ({**GOOD, "prompt": "both"}, 2, "prompt"),
])
def test_bad_jsonl_row_names_file_line_and_field(tmp_path, bad, line, field):
    path = _jsonl(tmp_path, [GOOD, json.dumps(bad) if not isinstance(bad, str) else bad])
    with pytest.raises(InvalidInput) as e:
        load_examples(path)
    text = str(e.value)
    assert text.startswith(f"{path}:{line}: ")
    if field:
        assert f"field {field}:" in text
    assert "\n" not in text


def test_blank_lines_are_skipped_and_lines_still_count(tmp_path):
    path = _jsonl(tmp_path, [GOOD, "", '{"prompt": 1, "completion": "a"}'])
    with pytest.raises(InvalidInput, match=r":3: field prompt"):
        load_examples(path)


def test_csv_rows_and_their_errors(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("prompt,completion,system\nWhere is it?,shipping,Route it\n"
                    "Refund please,returns,\n")
    rows = load_examples(path)
    assert [r.messages for r in rows] == [
        (("system", "Route it"), ("user", "Where is it?"), ("assistant", "shipping")),
        (("user", "Refund please"), ("assistant", "returns"))]
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,completion\nok,fine\nno answer,\n")
    with pytest.raises(InvalidInput, match=r"bad.csv:3: field completion: missing"):
        load_examples(bad)
    wide = tmp_path / "wide.csv"
    wide.write_text("prompt,completion\na,b,c\n")
    with pytest.raises(InvalidInput, match=r"wide.csv:2: more cells"):
        load_examples(wide)


def test_missing_empty_and_binary_files(tmp_path):
    with pytest.raises(InvalidInput, match="no such data file"):
        load_examples(tmp_path / "nope.jsonl")
    empty = _jsonl(tmp_path, [""], "empty.jsonl")
    with pytest.raises(InvalidInput, match="no training rows"):
        load_examples(empty)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidInput, match="not a UTF-8"):
        load_examples(binary)


def test_split_is_seeded_and_keeps_rows_on_both_sides(tmp_path):
    rows = load_examples(_jsonl(tmp_path, [{"prompt": f"q{i}", "completion": "a"}
                                           for i in range(20)]))
    a = split(rows, 0.25, seed=1)
    assert a == split(rows, 0.25, seed=1)
    assert a != split(rows, 0.25, seed=2)
    train, held = a
    assert len(held) == 5 and len(train) == 15
    assert {r.source for r in train}.isdisjoint({r.source for r in held})
    with pytest.raises(InvalidInput, match="cannot be split"):
        split(rows[:1], 0.1, seed=0)


def test_leak_check_refuses_rows_that_are_suite_cases(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\ncases:\n  - id: parcel\n    prompt: Where is my parcel?\n"
                     "    assert: [{equals: shipping}]\n")
    keys = suite_prompt_keys(load_suite(suite).items())
    clean = load_examples(_jsonl(tmp_path, [{"prompt": "Where is my order?",
                                             "completion": "shipping"}], "clean.jsonl"))
    leak_check(clean, keys, "clean.jsonl")  # no error
    leaky = load_examples(_jsonl(tmp_path, [GOOD, {"prompt": "  where is my PARCEL ",
                                                   "completion": "shipping"}], "leak.jsonl"))
    with pytest.raises(InvalidInput, match=r"1 training row.*leak.jsonl:2 is case 'parcel'"):
        leak_check(leaky, keys, "leak.jsonl")


def test_bundled_example_shares_no_case_with_its_suite():
    from openpick.tune import examples

    ex = examples.load("support-routing")
    rows = load_examples(ex["data"])
    items = load_suite(ex["suite"]).items()
    leak_check(rows, suite_prompt_keys(items), ex["data"])
    assert len(rows) >= 200 and len(items) >= 50
    labels = {it.assertions[0].value for it in items}
    assert labels == {"billing", "shipping", "technical", "account", "returns"}
