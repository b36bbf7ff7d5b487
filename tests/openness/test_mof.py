"""MOF class and progress, checked against values worked out by hand from the Model
Openness Tool's rules (ModelEvaluator.php: evaluate, handleTechnicalReportOmission,
getProgress, getClassification).

Required components: class III (6): Model architecture, Model parameters (Final),
Evaluation results, Model card, Data card, Technical report. Class II adds 4: Training
code, Inference code, Evaluation code, Evaluation data (total 10). Class I adds 4:
Datasets, Data preprocessing code, Model parameters (Intermediate), Research paper
(total 14). Optional: Sample model outputs (III), Supporting libraries (II), Model
metadata (I).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openpick.catalog.importers.mof import components, parse_mof
from openpick.catalog.schema import Component, ModelRecord, ReleaseLicenses
from openpick.openness.mof import evaluate, php_round

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mof"

ALL = [c.name for c in components()]
REQUIRED = [c.name for c in components() if c.required]
CLASS3 = ["Model architecture", "Model parameters (Final)", "Evaluation results", "Model card", "Data card", "Technical report"]
CLASS2 = ["Training code", "Inference code", "Evaluation code", "Evaluation data"]
CLASS1 = ["Datasets", "Data preprocessing code", "Model parameters (Intermediate)", "Research paper"]


def record(comps: dict[str, str | None], **release) -> ModelRecord:
    """A record listing `comps` (name → license, None = not stated)."""
    return ModelRecord(
        id="test/model", name="model", developer="test", license="unknown",
        release_licenses=ReleaseLicenses(**release),
        components={n: Component(license=lic) for n, lic in comps.items()},
    )


def progress(result) -> tuple[float, float, float]:
    return tuple(round(result.progress[k], 6) for k in ("3", "2", "1"))


# ------------------------------------------------------------------ real MOT files

@pytest.mark.parametrize(
    "file, mof_class, p3, p2, p1",
    [
        # All 16 listed components fall back to Apache-2.0 (Datasets: MIT); the technical
        # report is included, so no stand-in: 6/6, 10/10, 14/14.
        ("Amber", 1, 100, 100, 100),
        # 13 components under Apache-2.0, Research paper CC-BY-4.0, no technical report:
        # the paper stands in (III 5+1=6/6, II 9+1=10/10), class I total drops to 13: 13/13.
        ("OLMo-7B-hf", 1, 100, 100, 100),
        # Same shape as OLMo with explicit MIT code licenses and a CC-BY-SA-4.0 paper.
        ("Pythia-6.9B", 1, 100, 100, 100),
        # Architecture and weights under 'Llama 2 Community License' (not open: invalid),
        # the paper unlicensed: nothing included, 0/6; classes below: 0.
        ("Llama-2-7B", 0, 0, 0, 0),
        # 'Apache 2.0' is not an SPDX id (invalid); everything else unlicensed: 0.
        ("Falcon-40B", 0, 0, 0, 0),
        # III: architecture, weights, model card via distribution Apache-2.0 = 3, plus the
        # CC-BY-4.0 paper standing in for the unlicensed technical report = 4/6 = 66.67;
        # II and I are 0 because III is not met.
        ("Mistral-7B-Instruct-v0.2", 0, 400 / 6, 0, 0),
        # Only the six class-III components, all Apache-2.0: III 6/6; II 6/10 = 60; I 0.
        ("Granite-4.0-H-Small", 3, 100, 60, 0),
        # Everything but intermediate weights, with a technical report: III 6/6, II 10/10,
        # I 13/14 = 92.86 (no stand-in, so no decrement).
        ("Polyglot-Ko", 2, 100, 100, 1300 / 14),
        # No technical report, no evaluation data: III 5+paper = 6/6; II 8+paper = 9/10.
        ("GPT-NeoX-20B", 3, 100, 90, 0),
        # Release licenses: code Apache-2.0, distribution CC-BY-NC-4.0. Architecture takes
        # the code license (included); weights, model card, results fall to CC-BY-NC-4.0
        # (invalid); the arXiv paper license is invalid: 1/6.
        ("Galactica", 0, 100 / 6, 0, 0),
    ],
)
def test_real_files(file, mof_class, p3, p2, p1):
    result = evaluate(parse_mof(FIXTURES / f"{file}.yml"))
    assert result.mof_class == mof_class
    assert progress(result) == (round(p3, 6), round(p2, 6), round(p1, 6))


def test_mistral_lists():
    r = evaluate(parse_mof(FIXTURES / "Mistral-7B-Instruct-v0.2.yml"))
    c3 = r.classes["3"]
    assert set(c3.included) == {"Model architecture", "Model parameters (Final)", "Model card", "Research paper"}
    assert set(c3.missing) == {"Evaluation results", "Data card"}  # technical report dropped from missing
    assert c3.unlicensed == ["Technical report"]
    assert c3.progress_rounded == 67
    assert r.research_paper_stands_in
    assert [s.component for s in r.to_next_class] == ["Evaluation results", "Data card"]


def test_galactica_release_type_fallback():
    r = evaluate(parse_mof(FIXTURES / "Galactica.yml"))
    by = {c.name: c for c in r.components}
    assert (by["Model architecture"].license, by["Model architecture"].license_source) == ("Apache-2.0", "release:code")
    assert (by["Model card"].license, by["Model card"].license_source) == ("CC-BY-NC-4.0", "distribution")
    assert by["Model card"].status == "invalid"
    assert by["Research paper"].license_source == "component"


def test_granite_lift_to_class_two():
    r = evaluate(parse_mof(FIXTURES / "Granite-4.0-H-Small.yml"))
    assert r.next_class == 2
    assert [s.component for s in r.to_next_class] == CLASS2
    assert all(s.action == "add" for s in r.to_next_class)


# ------------------------------------------------------------------ edge cases

def test_everything_open_is_class_one():
    r = evaluate(record({n: "Apache-2.0" for n in ALL}))
    assert r.mof_class == 1
    assert progress(r) == (100, 100, 100)
    assert r.next_class is None and r.to_next_class == []


def test_unlicensed_component():
    comps = {n: "Apache-2.0" for n in CLASS3}
    comps["Model card"] = "unlicensed"
    r = evaluate(record(comps))
    assert r.classes["3"].unlicensed == ["Model card"]
    assert progress(r) == (round(500 / 6, 6), 0, 0)
    assert r.mof_class == 0
    (step,) = r.to_next_class
    assert (step.component, step.action) == ("Model card", "license")


def test_empty_license_string_is_unlicensed_without_fallback():
    comps = {n: None for n in CLASS3}
    comps["Model card"] = ""
    r = evaluate(record(comps, distribution="MIT"))
    assert r.classes["3"].unlicensed == ["Model card"]


def test_no_license_anywhere_is_unlicensed():
    r = evaluate(record({n: None for n in CLASS3}))
    assert set(r.classes["3"].unlicensed) == set(CLASS3)
    assert r.classes["3"].progress == 0


def test_non_open_license_is_invalid():
    comps = {n: "MIT" for n in CLASS3}
    comps["Model parameters (Final)"] = "CC-BY-NC-4.0"
    r = evaluate(record(comps))
    assert r.classes["3"].invalid == ["Model parameters (Final)"]
    assert r.mof_class == 0
    (step,) = r.to_next_class
    assert (step.action, step.current_license) == ("relicense", "CC-BY-NC-4.0")


def test_license_ids_are_matched_exactly_like_the_tool():
    comps = {n: "MIT" for n in CLASS3}
    comps["Model card"] = "mit"  # lower case is not the SPDX id
    r = evaluate(record(comps))
    assert r.classes["3"].invalid == ["Model card"]


def test_type_inappropriate_open_license_counts_with_warning():
    comps = {n: "Apache-2.0" for n in CLASS3}  # Apache-2.0 is a code/document license
    r = evaluate(record(comps))
    assert r.mof_class == 3
    assert r.not_type_appropriate == ["Model parameters (Final)"]  # a data component
    assert "Model parameters (Final)" in r.warnings[0]
    comps["Model parameters (Final)"] = "CDLA-Permissive-2.0"  # a data license
    assert evaluate(record(comps)).not_type_appropriate == []


def test_open_data_and_fsf_and_openmdw_licenses_are_open():
    for lic in ("CC-BY-SA-4.0", "ODbL-1.0", "GFDL-1.3", "OGL-UK-3.0", "OpenMDW-1.0", "GPL-3.0-only"):
        r = evaluate(record({n: lic for n in CLASS3}))
        assert r.mof_class == 3, lic


def test_release_type_license_beats_distribution():
    comps = {n: None for n in CLASS3}
    r = evaluate(record(comps, distribution="CC-BY-NC-4.0", code="MIT", data="CDLA-Permissive-2.0", document="CC-BY-4.0"))
    assert r.mof_class == 3
    src = {c.name: c.license_source for c in r.components if c.present}
    assert src["Model architecture"] == "release:code"
    assert src["Model parameters (Final)"] == "release:data"
    assert src["Model card"] == "release:document"


def test_distribution_fallback():
    r = evaluate(record({n: None for n in CLASS3}, distribution="BSD-3-Clause"))
    assert r.mof_class == 3
    assert {c.license_source for c in r.components if c.present} == {"distribution"}


def test_component_license_beats_release_licenses():
    comps = {n: None for n in CLASS3}
    comps["Data card"] = "Proprietary"
    r = evaluate(record(comps, distribution="MIT", document="CC-BY-4.0"))
    assert r.classes["3"].invalid == ["Data card"]


def test_research_paper_stands_in_for_technical_report():
    comps = {n: "MIT" for n in CLASS3 if n != "Technical report"}
    without = evaluate(record(comps))
    assert without.classes["3"].missing == ["Technical report"]
    assert progress(without)[0] == round(500 / 6, 6)
    step = without.to_next_class[0]
    assert step.component == "Technical report" and "Research paper" in step.alternative

    comps["Research paper"] = "CC-BY-4.0"
    with_paper = evaluate(record(comps))
    assert with_paper.mof_class == 3
    assert with_paper.research_paper_stands_in
    assert "Technical report" not in with_paper.classes["3"].missing
    assert "Research paper" in with_paper.classes["3"].included


def test_unlicensed_paper_removes_report_from_missing_but_does_not_count():
    comps = {n: "MIT" for n in CLASS3 if n != "Technical report"}
    comps["Research paper"] = "unlicensed"
    r = evaluate(record(comps))
    assert r.classes["3"].missing == []
    assert "Research paper" in r.classes["3"].unlicensed
    assert r.mof_class == 0 and progress(r)[0] == round(500 / 6, 6)
    (step,) = r.to_next_class
    assert step.component == "Technical report"
    assert "relicense the Research paper" in step.alternative


def test_class_one_total_drops_by_one_when_paper_replaces_report():
    comps = {n: "MIT" for n in REQUIRED if n != "Technical report"}
    r = evaluate(record(comps))
    assert progress(r) == (100, 100, 100)  # 13 / 13
    comps["Datasets"] = "Proprietary"
    r = evaluate(record(comps))
    assert progress(r) == (100, 100, round(1200 / 13, 6))


def test_both_report_and_paper_is_fine():
    r = evaluate(record({n: "MIT" for n in REQUIRED}))
    assert progress(r) == (100, 100, 100)
    assert not r.research_paper_stands_in


def test_class_above_not_met_gives_zero_progress():
    comps = {n: "MIT" for n in REQUIRED}
    comps["Data card"] = "Proprietary"  # class III not met
    r = evaluate(record(comps))
    assert progress(r) == (round(500 / 6, 6), 0, 0)
    assert r.mof_class == 0
    # Class III met, class II short of one (90%), so class I is 0.
    comps["Data card"] = "MIT"
    comps["Evaluation data"] = None  # no license anywhere: unlicensed, class II not met
    r = evaluate(record(comps))
    assert progress(r) == (100, 90, 0)
    assert r.mof_class == 3


def test_optional_components_do_not_count_but_are_reported():
    comps = {n: "MIT" for n in CLASS3}
    comps["Sample model outputs"] = "Proprietary"
    comps["Model metadata"] = "MIT"
    r = evaluate(record(comps))
    assert r.mof_class == 3
    assert r.classes["3"].invalid == ["Sample model outputs"]
    assert r.classes["1"].optional_included == ["Model metadata"]


def test_absent_component_flag_counts_as_missing():
    rec = record({n: "MIT" for n in CLASS3})
    rec.components["Data card"] = Component(present=False, license="MIT")
    r = evaluate(rec)
    assert r.classes["3"].missing == ["Data card"]


def test_php_round():
    assert php_round(66.6666) == 67
    assert php_round(92.5) == 93  # Python's round() would give 92
    assert php_round(0) == 0


# ------------------------------------------------------------------ lifting

def _apply(rec: ModelRecord, steps) -> ModelRecord:
    fixed = rec.model_copy(deep=True)
    open_for = {"code": "Apache-2.0", "data": "CDLA-Permissive-2.0", "document": "CC-BY-4.0"}
    types = {c.name: c.content_type for c in components()}
    for s in steps:
        fixed.components[s.component] = Component(license=open_for[types[s.component]])
    return fixed


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yml")), ids=lambda p: p.stem)
def test_following_the_lift_steps_reaches_the_next_class(path):
    rec = parse_mof(path)
    result = evaluate(rec)
    while result.next_class is not None:
        target = result.next_class
        assert result.to_next_class, "a class not reached must name what is missing"
        rec = _apply(rec, result.to_next_class)
        result = evaluate(rec)
        assert 1 <= result.mof_class <= target  # at least the target (I is the highest)
    assert result.mof_class == 1
