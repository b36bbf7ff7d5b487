"""MOF release YAML importer and exporter, on real Model Openness Tool files."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from openpick.catalog.importers.mof import (
    _Loader,
    components,
    hf_id,
    mof_schema,
    parse_mof,
    to_mof_yaml,
)
from openpick.catalog.loader import load_bundled
from openpick.catalog.schema import Component, ModelRecord
from openpick.errors import InvalidInput
from openpick.openness.mof import evaluate

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mof"
REAL = sorted(FIXTURES.glob("*.yml"))
BROKEN = FIXTURES / "broken"


def test_seventeen_components():
    comps = components()
    assert len(comps) == 17
    assert sum(c.required for c in comps) == 14
    assert {c.content_type for c in comps} == {"code", "data", "document"}


def test_parse_amber():
    r = parse_mof(FIXTURES / "Amber.yml")
    assert r.id == "LLM360/Amber"  # from the huggingface URL
    assert r.name == "Amber"
    assert r.developer == "LLM360"
    assert r.license == "Apache-2.0"
    assert r.release_licenses.distribution == "Apache-2.0"
    assert r.links == {
        "repository": "https://github.com/LLM360/amber-train",
        "huggingface": "https://huggingface.co/LLM360/Amber",
    }
    assert len(r.components) == 16
    assert r.components["Datasets"] == Component(present=True, license="MIT")
    # No license stated: None, so the MOF falls back to the release licenses.
    assert r.components["Model architecture"].license is None
    assert "Model metadata" not in r.components
    assert r.sources == ["mof:Amber.yml"]


def test_parse_keeps_licenses_as_written():
    r = parse_mof(FIXTURES / "Falcon-40B.yml")
    assert r.components["Model architecture"].license == "Apache 2.0"  # not SPDX: the tool says invalid
    assert r.components["Research paper"].license == "unlicensed"
    assert r.release_licenses.distribution is None


def test_parse_links_and_paper():
    r = parse_mof(FIXTURES / "OLMo-7B-hf.yml")
    assert r.id == "allenai/OLMo-7B-hf"
    assert r.links["paper"] == "https://arxiv.org/abs/2402.00838"
    assert r.components["Research paper"].link == "https://arxiv.org/abs/2402.00838"


def test_id_falls_back_to_producer_and_name():
    # Baichuan-2's huggingface field holds a paper title, not a URL.
    r = parse_mof(FIXTURES / "Baichuan-2.yml")
    assert "huggingface" not in r.links
    assert r.id == "Baichuan-AI/Baichuan-2"
    # A collection URL is not a model id either.
    r = parse_mof(FIXTURES / "Granite-4-1.yml")
    assert r.id == "IBM/Granite-4.1"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://huggingface.co/EleutherAI/pythia-6.9b", "EleutherAI/pythia-6.9b"),
        ("https://huggingface.co/microsoft/phi-1/blob/main/README.md", "microsoft/phi-1"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
        ("https://huggingface.co/collections/ibm-granite/granite-41-language-models", None),
        ("https://huggingface.co/papers/2309.16609", None),
        ("Baichuan 2: Open Large-scale Language Models", None),
        ("", None),
    ],
)
def test_hf_id(url, expected):
    assert hf_id(url) == expected


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_every_real_file_parses_and_validates(path):
    record = parse_mof(path)
    assert ModelRecord.model_validate(record.model_dump()) == record


@pytest.mark.parametrize(
    "name, line, words",
    [
        ("bad_yaml.yml", 10, "YAML error"),
        ("schema_violation.yml", 6, "'producer' is a required property"),
        ("wrong_framework.yml", 2, "framework/name"),
        ("unknown_component.yml", 14, "unknown MOF component 'Model weights'"),
        ("not_a_mapping.yml", None, "not a MOF release file"),
    ],
)
def test_bad_files_raise_invalid_input_naming_file_and_line(name, line, words):
    path = BROKEN / name
    with pytest.raises(InvalidInput) as exc:
        parse_mof(path)
    err = exc.value
    assert err.path == str(path)
    assert err.line == line
    assert words in str(err)
    assert str(err).startswith(str(path))


def test_missing_file_is_invalid_input(tmp_path):
    with pytest.raises(InvalidInput, match="cannot read"):
        parse_mof(tmp_path / "nope.yml")


def _reload(text: str, tmp_path: Path) -> ModelRecord:
    out = tmp_path / "export.yml"
    out.write_text(text, encoding="utf-8")
    return parse_mof(out)


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_round_trip_real_files(path, tmp_path):
    original = parse_mof(path)
    text = to_mof_yaml(original)
    jsonschema.validate(yaml.load(text, Loader=_Loader), mof_schema())
    again = _reload(text, tmp_path)
    assert again.components == original.components
    assert again.release_licenses == original.release_licenses
    assert again.id == original.id
    assert evaluate(again).model_dump() == evaluate(original).model_dump()


def test_round_trip_bundled_records(tmp_path):
    for record in load_bundled():
        text = to_mof_yaml(record)
        jsonschema.validate(yaml.load(text, Loader=_Loader), mof_schema())
        again = _reload(text, tmp_path)
        assert again.id == record.id
        assert again.components == {k: v for k, v in record.components.items() if v.present}
        assert evaluate(again).mof_class == evaluate(record).mof_class


def test_export_of_a_record_without_links_keeps_its_id(tmp_path):
    record = ModelRecord(
        id="acme/widget-7b", name="Widget 7B", developer="Acme Labs", license="MIT",
        components={"Model card": Component(license="unlicensed"), "Datasets": Component(present=False)},
    )
    again = _reload(to_mof_yaml(record), tmp_path)
    assert again.id == "acme/widget-7b"
    assert again.components == {"Model card": Component(license="unlicensed")}


AMBER = (FIXTURES / "Amber.yml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "release.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_component_and_release_licenses_are_kept_untrimmed(tmp_path):
    text = AMBER.replace("name: Apache-2.0", "name: ' Apache-2.0'").replace("license: MIT", "license: 'MIT '")
    r = parse_mof(_write(tmp_path, text))
    assert r.release_licenses.distribution == " Apache-2.0"  # the tool compares this exact string
    assert r.components["Datasets"].license == "MIT "
    assert r.license == "Apache-2.0"  # the record's license is still the normalised id
    assert evaluate(r).mof_class == 0  # nothing is open as written


def test_alias_bomb_is_rejected_before_validation(tmp_path):
    bomb = "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg"))
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + bomb + AMBER.replace("producer: LLM360", "producer: *g")
    with pytest.raises(InvalidInput, match="YAML aliases are expanded") as exc:
        parse_mof(_write(tmp_path, text))
    assert str(exc.value).startswith(str(tmp_path / "release.yml"))


def test_bad_scalars_are_yaml_errors_with_their_line(tmp_path):
    path = _write(tmp_path, AMBER.replace("name: Amber", "name: " + "9" * 5000))
    with pytest.raises(InvalidInput, match="YAML error") as exc:
        parse_mof(path)
    assert exc.value.line == 6


def test_a_list_where_text_belongs_is_ignored(tmp_path):
    r = parse_mof(_write(tmp_path, AMBER.replace("repository: 'https://github.com/LLM360/amber-train'",
                                                 "repository: [a, b]")))
    assert "repository" not in r.links


def test_long_values_are_shortened_in_messages(tmp_path):
    path = _write(tmp_path, AMBER.replace("name: 'Model architecture'", "name: '" + "q" * 5000 + "'", 1))
    with pytest.raises(InvalidInput, match="unknown MOF component") as exc:
        parse_mof(path)
    assert len(str(exc.value)) < 400
