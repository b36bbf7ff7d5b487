"""merge_records: union lists, fill gaps, keep both values of a disagreement with their sources."""

from __future__ import annotations

import sys
from pathlib import Path

from openpick.catalog.catalog import all_records, get_record
from openpick.catalog.importers import import_paths
from openpick.catalog.importers.hf_card import parse_hf_card
from openpick.catalog.importers.osai import parse_osai
from openpick.catalog.loader import load_bundled
from openpick.catalog.merge import merge_records
from openpick.catalog.schema import Component, Evaluation, ModelRecord

FIX = Path(__file__).parents[1] / "fixtures"
sys.path.insert(0, str(FIX / "gguf"))
from make_tiny import write_tiny_gguf  # noqa: E402

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def rec(**kw) -> ModelRecord:
    base = {"id": "acme/m", "name": "m", "developer": "acme", "license": "MIT"}
    return ModelRecord(**{**base, **kw})


def test_lists_union_and_missing_fields_fill():
    a = rec(tags=["x"], languages=["en"], sources=["bundled"], parameters=7)
    b = rec(tags=["x", "y"], languages=["fr"], sources=["hf-card:README.md"], context_length=4096,
            evaluations=[Evaluation(benchmark="MMLU", value=60.0, source="s")])
    m = merge_records(a, b)
    assert m.tags == ["x", "y"] and m.languages == ["en", "fr"]
    assert m.sources == ["bundled", "hf-card:README.md"]
    assert m.parameters == 7 and m.context_length == 4096
    assert len(m.evaluations) == 1 and m.conflicts == []
    assert merge_records(m, b).evaluations == m.evaluations  # no duplicates


def test_scalar_disagreement_keeps_base_and_names_each_source():
    a = rec(parameters=135_000_000, sources=["bundled"])
    b = rec(parameters=134_515_008, sources=["gguf:m.gguf"])
    m = merge_records(a, b)
    assert m.parameters == 135_000_000
    [c] = m.conflicts
    assert c.field == "parameters"
    assert c.values == {"bundled": "135000000", "gguf:m.gguf": "134515008"}
    # a third source that disagrees joins the same conflict
    m3 = merge_records(m, rec(parameters=1, sources=["mof:m.yml"]))
    [c3] = m3.conflicts
    assert c3.values["mof:m.yml"] == "1" and len(c3.values) == 3


def test_inputs_are_not_modified():
    a = rec(tags=["x"], parameters=1, sources=["a"])
    b = rec(tags=["y"], parameters=2, sources=["b"])
    before = (a.model_dump(), b.model_dump())
    merge_records(a, b)
    assert (a.model_dump(), b.model_dump()) == before


def test_dict_fields_merge_key_by_key():
    a = rec(links={"huggingface": "h"}, components={"Datasets": Component(link="d1")}, sources=["a"])
    b = rec(links={"paper": "p", "huggingface": "other"},
            components={"Datasets": Component(link="d2", license="CC-BY-4.0"),
                        "Model card": Component(license="MIT")}, sources=["b"])
    m = merge_records(a, b)
    assert m.links == {"huggingface": "h", "paper": "p"}
    assert m.components["Datasets"].link == "d1"
    assert m.components["Datasets"].license == "CC-BY-4.0"  # filled
    assert "Model card" in m.components
    fields = {c.field for c in m.conflicts}
    assert fields == {"links.huggingface", "components.Datasets.link"}


def test_what_a_source_does_not_know_is_no_conflict():
    a = rec(pipeline_tag="text-generation", license="Apache-2.0", name="SmolLM2 135M", sources=["bundled"])
    b = ModelRecord(id="acme/m", name="m", developer="acme", license="unknown", sources=["gguf:x"])
    m = merge_records(a, b)
    assert m.conflicts == [] and m.license == "Apache-2.0"
    # spelling-only differences are the same value
    m2 = merge_records(rec(name="BioMistral 7B", sources=["a"]), rec(name="biomistral-7b", sources=["b"]))
    assert m2.conflicts == []
    # unknown in the base is filled from the incoming source
    m3 = merge_records(rec(license="unknown", sources=["a"]), rec(license="MIT", license_original="mit", sources=["b"]))
    assert m3.license == "MIT" and m3.license_original == "mit"


def test_real_card_merges_cleanly_into_the_bundled_record():
    bundled = next(r for r in load_bundled() if r.id == SMOL)
    card = parse_hf_card(FIX / "hf_cards" / "HuggingFaceTB__SmolLM2-135M-Instruct.md")
    m = merge_records(bundled, card)
    assert m.conflicts == []
    assert m.sources == ["bundled", "hf-card:HuggingFaceTB__SmolLM2-135M-Instruct.md"]
    assert m.base_model == ["HuggingFaceTB/SmolLM2-135M"]
    assert "onnx" in m.tags and m.name == bundled.name


def test_gguf_with_other_facts_keeps_both_through_the_catalog(tmp_path):
    gguf = write_tiny_gguf(tmp_path / "smol.gguf", context_length=4096)
    [res] = import_paths([gguf], record_id=SMOL)
    assert res.ok, res.error
    merged = get_record(SMOL)
    bundled = next(r for r in load_bundled() if r.id == SMOL)
    assert merged.parameters == bundled.parameters and merged.context_length == bundled.context_length
    by_field = {c.field: c.values for c in merged.conflicts}
    assert by_field["context_length"] == {"bundled": str(bundled.context_length), "gguf:smol.gguf": "4096"}
    assert by_field["parameters"]["gguf:smol.gguf"] == "136"
    assert any(a.kind == "gguf" for a in merged.artifacts)
    assert any(a.kind == "package" for a in merged.artifacts)
    assert sum(r.id == SMOL for r in all_records()) == 1


def test_osai_grades_merge_into_a_card_record():
    card = parse_hf_card(FIX / "hf_cards" / "HuggingFaceTB__SmolLM2-135M-Instruct.md", record_id="amd/AMD-OLMo-1B-SFT-DPO")
    osai = parse_osai(FIX / "osai" / "AMD OLMo.yaml")
    m = merge_records(card, osai)
    assert len(m.osai) == 12 and m.developer == "AMD"  # the card's guess from the id gives way
    assert m.release_date == "2024-10"
