"""Hugging Face model-card front matter → ModelRecord, on real cards' front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from openpick.catalog.importers.hf_card import parse_hf_card
from openpick.errors import InvalidInput

CARDS = Path(__file__).parents[1] / "fixtures" / "hf_cards"
REAL = sorted(CARDS.glob("*.md"))


@pytest.mark.parametrize("card", REAL, ids=[p.stem for p in REAL])
def test_every_real_card_parses_with_the_id_from_its_file_name(card):
    record = parse_hf_card(card)
    assert record.id == card.stem.replace("__", "/")
    assert record.sources == [f"hf-card:{card.name}"]
    assert record.links["huggingface"] == f"https://huggingface.co/{record.id}"


def test_biomistral_card():
    r = parse_hf_card(CARDS / "BioMistral__BioMistral-7B.md")
    assert r.license == "Apache-2.0" and r.license_original == "apache-2.0"
    assert r.languages == ["fr", "en", "de", "nl", "es", "pt", "pl", "ro", "it"]
    assert "medical" in r.domains and "biology" in r.domains
    assert r.tags == ["medical", "biology"]
    assert r.pipeline_tag == "text-generation"
    assert r.components["Datasets"].present
    assert r.components["Datasets"].link == "https://huggingface.co/datasets/pubmed"
    assert r.base_model == [] and r.base_model_relation is None


def test_base_model_list_is_a_finetune():
    r = parse_hf_card(CARDS / "HuggingFaceTB__SmolLM2-135M-Instruct.md")
    assert r.base_model == ["HuggingFaceTB/SmolLM2-135M"]
    assert r.base_model_relation == "finetune"
    assert r.languages == ["en"]


def test_mergekit_card_is_a_merge_of_two_bases():
    r = parse_hf_card(CARDS / "BioMistral__BioMistral-7B-DARE.md")
    assert r.base_model == ["BioMistral/BioMistral-7B", "mistralai/Mistral-7B-Instruct-v0.1"]
    assert r.base_model_relation == "merge"


def test_base_model_as_a_string_and_model_index_evaluations():
    r = parse_hf_card(CARDS / "HuggingFaceH4__zephyr-7b-beta.md")
    assert r.base_model == ["mistralai/Mistral-7B-v0.1"]
    assert r.license == "MIT"
    assert len(r.evaluations) == 9
    arc = r.evaluations[0]
    assert arc.benchmark == "AI2 Reasoning Challenge (25-Shot)"
    assert arc.metric == "acc_norm"
    assert arc.value == pytest.approx(62.03071672354948)
    assert arc.source.startswith("https://huggingface.co/spaces/HuggingFaceH4/open_llm_leaderboard")
    mt = next(e for e in r.evaluations if e.benchmark == "MT-Bench")
    assert mt.metric == "score" and mt.value == pytest.approx(7.34)  # type "unknown" → the name
    # both training datasets are kept as links; the MOF component points at the first
    assert set(k for k in r.links if k.startswith("dataset:")) == {
        "dataset:HuggingFaceH4/ultrachat_200k", "dataset:HuggingFaceH4/ultrafeedback_binarized"}


def test_bloom_languages_keep_iso639_1_and_drop_the_rest_with_warnings():
    warnings: list[str] = []
    r = parse_hf_card(CARDS / "bigscience__bloom.md", warnings=warnings)
    assert len(r.languages) == 42 and "fon" not in r.languages and "zh" in r.languages
    dropped = {w.split("'")[1] for w in warnings}
    assert dropped == {"fon", "nso", "tum", "zhs", "zht"}
    assert "code" in r.domains  # the pseudo-language 'code'
    assert r.license == "BIGSCIENCE-BLOOM-RAIL-1.0"
    # results without a source of their own cite the card
    assert [e.benchmark for e in r.evaluations] == ["arc_challenge", "arc_easy", "boolq", "gsarti/flores_101_afr"]
    assert {e.source for e in r.evaluations} == {"https://huggingface.co/bigscience/bloom"}
    assert r.evaluations[3].metric == "byte_perplexity"


def test_license_other_uses_license_name_and_link():
    r = parse_hf_card(CARDS / "mistralai__Mistral-Large-Instruct-2407.md")
    assert r.license == "MISTRAL-RESEARCH"
    assert r.license_original == "other"
    assert r.links["license"] == "https://mistral.ai/licenses/MRL-0.1.md"
    assert "ko" in r.languages  # 'ru ' with a trailing space is still Russian
    assert "ru" in r.languages


def test_three_letter_codes_are_mapped(tmp_path):
    card = tmp_path / "acme__polyglot.md"
    card.write_text("---\nlicense: mit\nlanguage: [eng, fra, deu, zho, en-US, xyz]\n---\n")
    warnings: list[str] = []
    r = parse_hf_card(card, warnings=warnings)
    assert r.languages == ["en", "fr", "de", "zh"]
    assert warnings == ["language 'xyz' has no ISO 639-1 code; dropped"]


def test_language_as_a_single_string(tmp_path):
    card = tmp_path / "acme__mono.md"
    card.write_text("---\nlicense: mit\nlanguage: ja\n---\n")
    assert parse_hf_card(card).languages == ["ja"]


def test_id_sources(tmp_path):
    card = CARDS / "BioMistral__BioMistral-7B.md"
    assert parse_hf_card(card, record_id="me/my-copy").id == "me/my-copy"
    # a README.md in an org/name folder
    folder = tmp_path / "BioMistral" / "BioMistral-7B"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(card.read_text())
    assert parse_hf_card(folder / "README.md").id == "BioMistral/BioMistral-7B"
    # a folder named org__name (as a download tool saves it)
    flat = tmp_path / "mistralai__Mistral-7B-v0.1"
    flat.mkdir()
    (flat / "README.md").write_text((CARDS / "mistralai__Mistral-7B-v0.1.md").read_text())
    assert parse_hf_card(flat / "README.md").id == "mistralai/Mistral-7B-v0.1"
    # a model-index name with an org wins over the folder
    indexed = tmp_path / "x" / "y"
    indexed.mkdir(parents=True)
    (indexed / "README.md").write_text("---\nlicense: mit\nmodel-index:\n- name: acme/indexed\n  results: []\n---\n")
    assert parse_hf_card(indexed / "README.md").id == "acme/indexed"


def test_no_id_to_be_found(tmp_path):
    card = tmp_path / "card.md"
    card.write_text("---\nlicense: mit\n---\n")
    with pytest.raises(InvalidInput, match="--id"):
        parse_hf_card(card)


def test_card_without_license_is_unknown_with_a_warning(tmp_path):
    card = tmp_path / "acme__nolicense.md"
    card.write_text("---\npipeline_tag: text-generation\n---\n")
    warnings: list[str] = []
    assert parse_hf_card(card, warnings=warnings).license == "unknown"
    assert warnings == ["the card states no license"]


BROKEN = CARDS / "broken"


def test_bad_yaml_names_file_and_line():
    path = BROKEN / "HuggingFaceH4__zephyr-7b-beta-bad-indent.md"
    with pytest.raises(InvalidInput) as err:
        parse_hf_card(path)
    assert err.value.path == str(path)
    assert err.value.line == 14  # the mis-indented 'type: ai2_arc' line, counted in the file
    assert str(err.value).startswith(f"{path}:14: YAML error")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name, message, line", [
    ("mistralai__Mistral-7B-v0.1-unclosed.md", "not closed", 1),
    ("no-front-matter.md", "no front matter", 1),
    ("list-front-matter.md", "must be a mapping", 2),
])
def test_malformed_front_matter(name, message, line):
    with pytest.raises(InvalidInput, match=message) as err:
        parse_hf_card(BROKEN / name)
    assert err.value.line == line and err.value.path == str(BROKEN / name)


def test_not_utf8(tmp_path):
    card = tmp_path / "acme__binary.md"
    card.write_bytes(b"---\nlicense: \xff\xfe\n---\n")
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_hf_card(card)
