"""European Open Source AI Index entries → ModelRecord, on real index files."""

from __future__ import annotations

from pathlib import Path

import pytest

from openpick.catalog.importers import detect_format
from openpick.catalog.importers.osai import PARAMETERS, parse_osai
from openpick.errors import InvalidInput

OSAI = Path(__file__).parents[1] / "fixtures" / "osai"
SHARED = Path(__file__).parents[3] / "shared" / "data" / "osai-index"


def test_amd_olmo():
    r = parse_osai(OSAI / "AMD OLMo.yaml")
    assert r.id == "amd/AMD-OLMo-1B-SFT-DPO"  # from the huggingface.co system link
    assert r.name == "AMD OLMo" and r.developer == "AMD"
    assert r.license == "Apache-2.0"
    assert r.release_date == "2024-10"
    assert set(r.osai) == set(PARAMETERS)
    assert r.osai["datasources_basemodel"].grade == "open"
    assert r.osai["datasources_basemodel"].link == "https://huggingface.co/datasets/allenai/dolma"
    assert r.osai["paper"].grade == "closed" and r.osai["paper"].link is None
    # a list of links: the first is kept
    assert r.osai["datasources_endmodel"].link == "https://huggingface.co/datasets/allenai/tulu-v2-sft-mixture"
    assert r.base_model == ["amd/AMD-OLMo-1B"] and r.base_model_relation == "finetune"
    assert r.sources == ["osai:AMD OLMo.yaml"]
    assert r.links["developer"] == "https://www.amd.com/en.html"


def test_mistral_large_license_spelling_is_normalised():
    r = parse_osai(OSAI / "Mistral.yaml")
    assert r.id == "mistralai/Mistral-Large-3-675B-Instruct-2512"
    assert r.license == "Apache-2.0" and r.license_original == "Apache 2.0"
    assert r.osai["datasources_basemodel"].grade == "closed"
    assert r.osai["weights_endmodel"].grade == "open"


def test_smollm():
    r = parse_osai(OSAI / "smollm.yaml")
    assert r.id == "HuggingFaceTB/SmolLM3-3B"
    assert r.developer == "HuggingFace"


def test_non_huggingface_link_gives_org_slash_name():
    r = parse_osai(OSAI / "llama-2-chat.yaml")
    assert r.id == "Meta/Llama-2"
    assert r.license == "unknown" and r.license_original == "Unclear"
    assert r.links["homepage"].startswith("https://ai.meta.com/")


def test_endmodel_license_spelled_with_a_space():
    r = parse_osai(OSAI / "StableAudio.yaml")
    assert r.license == "Stability AI Community License"
    assert r.id == "Stability-AI/Stable-Audio-Open"
    assert r.pipeline_tag == "text-to-audio"


def test_detected_as_osai():
    assert detect_format(OSAI / "smollm.yaml") == "osai"


def test_empty_template_is_rejected_with_the_file_name():
    path = OSAI / "a_submission_template.yaml"
    with pytest.raises(InvalidInput, match="system.name is missing") as err:
        parse_osai(path)
    assert err.value.path == str(path)


def test_bad_yaml_names_file_and_line():
    path = OSAI / "broken" / "Mistral-bad-indent.yaml"
    with pytest.raises(InvalidInput) as err:
        parse_osai(path)
    assert err.value.path == str(path) and err.value.line == 23
    assert "YAML error" in str(err.value)


def test_bad_grade_is_skipped_with_a_warning(tmp_path):
    text = (OSAI / "smollm.yaml").read_text().replace("class: open", "class: opne", 1)
    path = tmp_path / "smollm.yaml"
    path.write_text(text)
    warnings: list[str] = []
    r = parse_osai(path, warnings=warnings)
    assert len(r.osai) == len(PARAMETERS) - 1
    assert "'opne' is not open/partial/closed" in warnings[0]


def test_not_an_index_entry(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("system: just text\n")
    with pytest.raises(InvalidInput, match="no 'system:' mapping"):
        parse_osai(path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/osai-index is not beside this checkout")
def test_every_entry_in_the_index_parses():
    files = [p for p in sorted(SHARED.glob("*.yaml")) if p.name != "a_submission_template.yaml"]
    ids = [parse_osai(p).id for p in files]
    assert len(ids) > 150 and len(set(ids)) == len(ids)
