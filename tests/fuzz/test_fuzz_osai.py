"""Fuzz the European Open Source AI Index importer (parse_osai, what `openpick catalog import
entry.yaml` runs): mutated real index entries (the fixtures and, where present, the whole
index in /work/shared/data/osai-index) and generated entries with any YAML value in each of
the fields the importer reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzzkit import fuzz_settings, mutated, parse_or_reject
from openpick.catalog.importers.osai import PARAMETERS, parse_osai
from openpick.catalog.schema import ModelRecord
from fuzzkit import maybe, yaml_values
from test_fuzz_catalog_records import HARD_YAML

pytestmark = pytest.mark.fuzz

FIXTURES = Path(__file__).parents[1] / "fixtures" / "osai"
INDEX = Path("/work/shared/data/osai-index")  # the full index, on machines that have it
FILES = sorted(FIXTURES.glob("**/*.yaml")) + sorted(INDEX.glob("*.yaml"))
CORPUS = [p.read_bytes() for p in FILES]


def parse(tmp_path: Path, data: bytes, parser: str):
    path = tmp_path / "entry.yaml"
    path.write_bytes(data)
    warnings: list[str] = []
    result = parse_or_reject(parser, lambda: parse_osai(path, warnings=warnings),
                             names=(str(path),))
    if isinstance(result, ModelRecord):
        assert result.sources == ["osai:entry.yaml"]
    assert all(isinstance(w, str) and "\n" not in w for w in warnings), warnings
    return result


def test_corpus_is_real():
    assert len(FILES) >= 6, FILES
    assert all(b"system:" in c for c in CORPUS[:5])


@fuzz_settings(0.5)
@given(data=mutated(CORPUS))
def test_mutated_entries(tmp_path, data):
    parse(tmp_path, data, "osai/mutated")


_URL = st.sampled_from(["https://huggingface.co/org/model", "https://example.org/x", "",
                        "https://huggingface.co/datasets/a/b", "http://huggingface.co/a/b/c"])
_SYSTEM = {
    "name": st.text(min_size=1, max_size=20), "link": _URL | st.lists(_URL, max_size=3),
    "endmodellicense": st.sampled_from(["Apache-2.0", "MIT", "other", "unknown", ""]),
    "endmodel license": st.text(max_size=10),
    "releasedate": st.sampled_from(["2024", "2024-02", "2024-02-01", "soon"]) | st.dates(),
    "type": st.sampled_from(["text", "code", "image", "video", "audio", "other"]),
}
_GRADE = st.fixed_dictionaries({}, optional={
    "class": maybe(st.sampled_from(["open", "partial", "closed", "Open ", "n/a"])),
    "link": maybe(_URL | st.lists(_URL, max_size=3)), "notes": yaml_values})


@st.composite
def entries(draw) -> dict:
    entry: dict = {}
    if draw(st.integers(0, 9)):  # now and then no system: at all
        system = st.fixed_dictionaries({"name": maybe(_SYSTEM["name"])}, optional={
            k: maybe(v) for k, v in _SYSTEM.items() if k != "name"})
        entry["system"] = draw(st.one_of(system, system, system, yaml_values))
    if draw(st.booleans()):
        entry["org"] = draw(maybe(st.fixed_dictionaries(
            {}, optional={"name": maybe(st.text(max_size=20)), "link": maybe(_URL)})))
    for ref in draw(st.lists(st.sampled_from(PARAMETERS), max_size=len(PARAMETERS))):
        entry[ref] = draw(maybe(_GRADE))
    return entry


@fuzz_settings(0.5)
@given(entry=entries())
def test_generated_entries(tmp_path, entry):
    parse(tmp_path, yaml.safe_dump(entry, allow_unicode=True).encode(), "osai/generated")


_SMOLLM = (FIXTURES / "smollm.yaml").read_bytes()
HARD = [h.replace(b"id: org/a\n", b"system:\n  name: x\n") for h in HARD_YAML] + [
    _SMOLLM.replace(b"releasedate: 2025-07", b"releasedate: 2025-13-45"),
    _SMOLLM.replace(b"endmodellicense: Apache-2.0", b"endmodellicense: " + b"9" * 5000),
    _SMOLLM.replace(b"endmodellicense: Apache-2.0", b"endmodellicense: {a: [1, {b: 2}]}"),
    _SMOLLM.replace(b"name: SmolLM", b"name: [a, b]"),
    _SMOLLM + b"\nsystem: 7\n",
    b"system:\n  name: x\n  link: &l [" + b"*l, " * 3 + b"]\n",
]


@pytest.mark.parametrize("data", HARD, ids=range(len(HARD)))
def test_hard_entries(tmp_path, data):
    parse(tmp_path, data, "osai/hard")
