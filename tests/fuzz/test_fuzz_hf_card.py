"""Fuzz the Hugging Face model card importer (parse_hf_card, what `openpick catalog import
README.md` runs): mutated real cards, generated front matter with any YAML value in each field
the importer reads (model-index included), and cards whose `---` framing is broken."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzzkit import fuzz_settings, mutated, parse_or_reject
from openpick.catalog.importers.hf_card import parse_hf_card
from openpick.catalog.schema import ModelRecord
from fuzzkit import maybe, yaml_values
from test_fuzz_catalog_records import HARD_YAML

pytestmark = pytest.mark.fuzz

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hf_cards"
FILES = sorted(FIXTURES.glob("**/*.md"))
CORPUS = [p.read_bytes() for p in FILES]


def parse(tmp_path: Path, data: bytes, parser: str, **kw):
    path = tmp_path / "some-org__some-model.md"  # the id comes from the name if not the card
    path.write_bytes(data)
    warnings: list[str] = []
    result = parse_or_reject(parser, lambda: parse_hf_card(path, warnings=warnings, **kw),
                             names=(str(path),))
    if isinstance(result, ModelRecord):
        assert result.sources == [f"hf-card:{path.name}"]
    assert all(isinstance(w, str) and "\n" not in w for w in warnings), warnings
    return result


def test_corpus_is_real():
    assert len(FILES) >= 8, FILES
    assert parse_hf_card(FIXTURES / "bigscience__bloom.md").id == "bigscience/bloom"


@fuzz_settings(0.5)
@given(data=mutated(CORPUS))
def test_mutated_cards(tmp_path, data):
    parse(tmp_path, data, "hf-card/mutated")


_ID = st.sampled_from(["org/name", "a/b", "x", "a/b/c", "/b", "https://huggingface.co/a/b"])
_METRIC = st.fixed_dictionaries({}, optional={
    "type": maybe(st.sampled_from(["acc", "unknown", "f1"])), "name": yaml_values,
    "value": maybe(st.floats() | st.integers() | st.sampled_from(["1.5", "n/a", "9" * 400]))})
_RESULT = st.fixed_dictionaries({}, optional={
    "dataset": maybe(st.fixed_dictionaries({}, optional={"name": yaml_values,
                                                         "type": maybe(st.text(max_size=9))})),
    "source": maybe(st.fixed_dictionaries({"url": maybe(st.text(max_size=20))})),
    "metrics": maybe(st.lists(maybe(_METRIC), max_size=3))})
_CARD = {
    "license": st.sampled_from(["apache-2.0", "mit", "other", "llama2", ""]),
    "license_name": st.text(max_size=10), "license_link": st.text(max_size=20),
    "base_model": _ID | st.lists(_ID, max_size=3),
    "base_model_relation": st.sampled_from(["finetune", "adapter", "quantized", "merge", "x"]),
    "library_name": st.sampled_from(["peft", "transformers"]),
    "datasets": st.lists(st.text(max_size=12), max_size=3),
    "pipeline_tag": st.sampled_from(["text-generation", "fill-mask"]),
    "language": st.lists(st.sampled_from(["en", "eng", "fr-CA", "code", "xx", "zh_Hant"]),
                         max_size=4),
    "tags": st.lists(st.sampled_from(["medical", "moe", "chat", "gguf", "lora", "x"]), max_size=4),
    "model-index": st.lists(st.fixed_dictionaries({"name": maybe(_ID)}, optional={
        "results": maybe(st.lists(maybe(_RESULT), max_size=3))}), max_size=2),
}


@st.composite
def cards(draw) -> bytes:
    card = {k: draw(maybe(v)) for k, v in _CARD.items() if draw(st.booleans())}
    text = yaml.safe_dump(card, allow_unicode=True) if card else ""
    return f"---\n{text}---\n# Model card\n".encode()


@fuzz_settings(0.25)
@given(data=cards())
def test_generated_cards(tmp_path, data):
    parse(tmp_path, data, "hf-card/generated")


@fuzz_settings(0.25)
@given(data=cards(), record_id=st.text(max_size=12) | _ID)
def test_generated_cards_with_id(tmp_path, data, record_id):
    """`openpick catalog import --id ORG/NAME card.md`: the id is the user's too."""
    parse(tmp_path, data, "hf-card/generated+id", record_id=record_id or None)


def _card(yaml_text: bytes) -> bytes:
    return b"---\n" + yaml_text + b"---\nprose\n"


HARD = [_card(h.replace(b"id: org/a\n", b"")) for h in HARD_YAML] + [
    b"", b"---", b"---\n", b"\n\n---\n---\n", b"---\n...\n", b"---\r\nlicense: mit\r\n---\r\n",
    b"\xef\xbb\xbf---\nlicense: mit\n---\n", b"---\n" * 5000,
    _card(b"license: [[[mit]]]\n"), _card(b"base_model_relation: [merge]\nbase_model: a/b\n"),
    _card(b"model-index:\n- name: a/b\n  results:\n  - dataset: {name: d}\n    metrics:\n"
          b"    - {type: acc, value: " + b"9" * 400 + b"}\n"),
    _card(b"model-index: {name: a/b}\n"), _card(b"tags: {a: 1}\nlanguage: {en: 1}\n"),
]


@pytest.mark.parametrize("data", HARD, ids=range(len(HARD)))
def test_hard_cards(tmp_path, data):
    parse(tmp_path, data, "hf-card/hard")
