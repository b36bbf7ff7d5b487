"""Fuzz openpick record YAML (catalog/loader.load_record_file, what `openpick catalog check`
and the imported-records store read): mutated bundled records, generated records with values
of every YAML type in every field, and YAML that is hard on a parser (deep nesting, alias
bombs, timestamps that are not dates, over-long integers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzzkit import fuzz_settings, maybe, mutated, parse_or_reject, yaml_values
from openpick.catalog.loader import bundled_dir, load_record_file
from openpick.catalog.schema import ModelRecord

pytestmark = pytest.mark.fuzz

RECORDS = sorted(bundled_dir().glob("*.yaml"))
CORPUS = [p.read_bytes() for p in RECORDS]

def load(tmp_path: Path, data: bytes, parser: str):
    path = tmp_path / "org__model.yaml"
    path.write_bytes(data)
    result = parse_or_reject(parser, lambda: load_record_file(path), names=(str(path),))
    assert isinstance(result, ModelRecord) or str(path) in str(result)
    return result


def test_corpus_is_real():
    assert len(CORPUS) > 50, "the bundled catalog should hold many records"
    assert all(b"id:" in c and b"license:" in c for c in CORPUS)


@fuzz_settings(0.5)
@given(data=mutated(CORPUS))
def test_mutated_records(tmp_path, data):
    load(tmp_path, data, "record-yaml/mutated")


_FIELDS = list(ModelRecord.model_fields)
_GOOD = {
    "id": st.sampled_from(["org/name", "a/b", "x", "/", "a/b/c", ""]),
    "name": st.text(max_size=20), "developer": st.text(max_size=20),
    "license": st.sampled_from(["Apache-2.0", "MIT", "unknown"]),
    "release_date": st.sampled_from(["2024", "2024-02", "2024-02-01", "2024-13-45", "soon"]),
    "languages": st.lists(st.sampled_from(["en", "fr", "eng", "EN", ""]), max_size=3),
    "parameters": st.integers(-10, 10**15),
    "components": st.dictionaries(st.text(max_size=8), st.fixed_dictionaries(
        {}, optional={"present": yaml_values, "license": yaml_values, "link": yaml_values})),
}


@st.composite
def records(draw) -> dict:
    required = ("id", "name", "developer", "license")
    rec = {k: draw(maybe(v)) for k, v in _GOOD.items() if k in required or draw(st.booleans())}
    for name in draw(st.lists(st.sampled_from(_FIELDS + ["typo_field"]), max_size=6)):
        rec[name] = draw(yaml_values)
    return rec


@fuzz_settings(0.5)
@given(rec=records())
def test_generated_records(tmp_path, rec):
    load(tmp_path, yaml.safe_dump(rec, allow_unicode=True).encode(), "record-yaml/generated")


# YAML that stresses the parser itself rather than openpick's checks.
HEAD = b"id: org/a\nname: a\ndeveloper: d\nlicense: MIT\n"
HARD_YAML = [
    HEAD + b"release_date: 2024-13-45\n",       # a timestamp that is no date
    HEAD + b"parameters: " + b"9" * 5000 + b"\n",  # past int's digit limit
    HEAD + b"tags: " + b"[" * 5000 + b"]" * 5000 + b"\n",  # deep nesting
    HEAD + b"tags: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n",
    b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    + HEAD + b"tags: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",  # alias bomb
    b"\xef\xbb\xbf" + HEAD,                       # BOM
    HEAD + b"\x00",
    b"\xff\xfe\x00\x00",
    b"? [a, b]\n: 1\n",                                             # unhashable key
    b"id: !!python/object/apply:os.system [echo hi]\nlicense: MIT\n",
    HEAD + b"release_date: !!binary aGVsbG8=\n",
    b"--- a\n--- b\n",                                              # two documents
]


@pytest.mark.parametrize("data", HARD_YAML, ids=range(len(HARD_YAML)))
def test_hard_yaml(tmp_path, data):
    load(tmp_path, data, "record-yaml/hard")
