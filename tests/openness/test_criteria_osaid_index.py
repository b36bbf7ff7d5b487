"""The five course criteria, the OSAID 1.0 check and the Open Source AI Index score."""

from __future__ import annotations

from pathlib import Path

from openpick.catalog.importers.mof import parse_mof
from openpick.catalog.schema import Component, ModelRecord, OsaiGrade, ReleaseLicenses
from openpick.openness import assess
from openpick.openness.criteria import assess_criteria
from openpick.openness.osai_index import osai_score
from openpick.openness.osaid import check_osaid

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mof"


def rec(comps=None, osai=None, **release) -> ModelRecord:
    return ModelRecord(
        id="t/m", name="m", developer="t", license="unknown",
        release_licenses=ReleaseLicenses(**release),
        components={n: (c if isinstance(c, Component) else Component(license=c)) for n, c in (comps or {}).items()},
        osai={k: OsaiGrade(grade=g) for k, g in (osai or {}).items()},
    )


def results(record) -> dict[str, str]:
    return {c.key: c.result for c in assess_criteria(record)}


def test_pythia_meets_all_five():
    r = results(parse_mof(FIXTURES / "Pythia-6.9B.yml"))
    assert r == dict.fromkeys(
        ["training_data", "model_weights", "evaluation_code", "finetuning_code", "training_metrics"], "met"
    )


def test_llama2_weights_partial_rest_not_met():
    crit = {c.key: c for c in assess_criteria(parse_mof(FIXTURES / "Llama-2-7B.yml"))}
    assert crit["model_weights"].result == "partial"
    assert "Llama 2 Community License" in crit["model_weights"].reason
    assert crit["training_data"].result == "not_met"
    assert crit["training_metrics"].result == "not_met"


def test_partial_from_secondary_component_and_evidence_link():
    r = rec({"Data card": Component(license="CC-BY-4.0", link="https://example.org/datacard"),
             "Model metadata": "MIT"})
    crit = {c.key: c for c in assess_criteria(r)}
    assert crit["training_data"].result == "partial"
    assert crit["training_data"].evidence == "https://example.org/datacard"
    assert crit["training_metrics"].result == "partial"


def test_index_grades_can_raise_a_criterion():
    r = rec(osai={"datasources_basemodel": "open", "weights_endmodel": "partial", "trainingcode": "closed"})
    got = results(r)
    assert got["training_data"] == "met"
    assert got["model_weights"] == "partial"
    assert got["finetuning_code"] == "not_met"


def test_osaid_passes_for_olmo_like_release():
    result = check_osaid(parse_mof(FIXTURES / "Pythia-6.9B.yml"))
    assert result.passes and result.reasons == []


def test_osaid_fails_with_reasons():
    result = check_osaid(parse_mof(FIXTURES / "Llama-2-7B.yml"))
    assert not result.passes
    parts = {p.key: p for p in result.parts}
    assert not parts["parameters"].passes
    assert "not OSI-approved" in parts["parameters"].reasons[0]
    assert "Training code is not published" in parts["code"].reasons
    assert not parts["data_information"].passes


def test_osaid_needs_osi_not_just_open_data_for_weights():
    comps = {n: "MIT" for n in ("Training code", "Data preprocessing code", "Inference code")}
    comps["Model parameters (Final)"] = "CC-BY-4.0"
    comps["Data card"] = "CC-BY-4.0"
    result = check_osaid(rec(comps))
    assert [p.key for p in result.parts if not p.passes] == ["parameters"]


def test_osai_index_score():
    r = rec(osai={"datasources_basemodel": "open", "weights_endmodel": "partial", "licenses": "closed",
                  "paper": "open", "not_a_parameter": "open"})
    s = osai_score(r)
    assert s.available and s.graded == 4 and s.total_parameters == 12
    assert s.score == (1 + 0.5 + 0 + 1) / 4
    cats = {c.ref: c for c in s.categories}
    assert cats["availability"].score == 0.75
    assert cats["documentation"].score == 1.0
    assert cats["access"].score == 0.0


def test_osai_index_absent():
    s = osai_score(rec())
    assert not s.available and s.score is None


def test_assess_report_shape():
    report = assess(parse_mof(FIXTURES / "Granite-4.0-H-Small.yml"))
    data = report.model_dump(mode="json")
    assert data["id"] == "ibm-granite/granite-4.0-h-small"
    assert data["mof_class"] == 3
    assert data["mof_progress"] == {"1": 0.0, "2": 60.0, "3": 100.0}
    assert set(data["mof_classes"]["2"]) >= {"included", "missing", "invalid", "unlicensed"}
    assert [s["component"] for s in data["to_next_class"]] == [
        "Training code", "Inference code", "Evaluation code", "Evaluation data"]
    assert len(data["criteria"]) == 5
    assert data["license"]["id"] == "Apache-2.0" and data["license"]["osi_approved"]
    assert data["osaid"]["passes"] is False
    assert data["osai_index"]["available"] is False
