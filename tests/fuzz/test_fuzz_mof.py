"""Fuzz the Model Openness Framework release-file importer through the importers' public entry
point (`parse_path`, what `openpick catalog import release.yml` runs): mutated real release
files (the fixtures and, where present, every file in /work/shared/data/mot/models) and
generated files in the MOT schema's shape with wrong types, missing keys and odd or huge
strings in each field. A record that is accepted must also get a MOF evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzzkit import fuzz_settings, mutated, parse_or_reject
from openpick.catalog.importers import parse_path
from openpick.catalog.importers.mof import components, to_mof_yaml
from openpick.catalog.schema import ModelRecord
from openpick.openness.mof import evaluate
from fuzzkit import maybe, yaml_values
from test_fuzz_catalog_records import HARD_YAML

pytestmark = pytest.mark.fuzz

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mof"
MOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "mot" / "models"  # where present
FILES = sorted(FIXTURES.glob("*.yml")) + sorted(MOT.glob("*.yml"))
CORPUS = [p.read_bytes() for p in FILES]


def parse(tmp_path: Path, data: bytes, parser: str):
    path = tmp_path / "release.yml"
    path.write_bytes(data)
    result = parse_or_reject(parser, lambda: parse_path(path), names=(str(path),))
    if isinstance(result, ModelRecord):
        if result.sources == ["mof:release.yml"]:
            mof = evaluate(result)  # an accepted release file gets a class, 0 to 3
            assert 0 <= mof.mof_class <= 3
            assert all(0 <= p <= 100 for p in mof.progress.values())
            assert to_mof_yaml(result)
    return result


def test_corpus_is_real():
    assert len(FILES) >= 10, FILES
    assert all(b"framework:" in c and b"release:" in c for c in CORPUS)


@fuzz_settings(0.5)
@given(data=mutated(CORPUS))
def test_mutated_release_files(tmp_path, data):
    parse(tmp_path, data, "mof/mutated")


_NAMES = [c.name for c in components()]
_LICENSES = st.sampled_from([
    "Apache-2.0", "MIT", "CC-BY-4.0", "OpenMDW-1.0", "unlicensed", "", "0", " MIT", "Apache 2.0",
    "Llama 2 Community License", "Component not included", "Pending evaluation", "https://arxiv.org/x",
]) | st.text(max_size=30)
_HUGE = st.sampled_from(["x" * 4_000, "\u202e" * 500, "a\nb\r\nc\x85d\u2028e", "'\"{}[]&*!|>%@`", "\t " * 50])
_TEXT = st.one_of(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40), _HUGE)
_URL = st.sampled_from(["https://huggingface.co/org/model", "org/model", "https://huggingface.co/papers/1",
                        "https://github.com/a/b", "", "huggingface.co/a", "https://huggingface.co/a/b/c?x#y"])
_DATE = st.sampled_from(["2024-12-15", "2024-13-45", "15/12/2024", "", "soon"]) | st.dates().map(str)

_COMPONENT_FIELDS = {"name": st.sampled_from(_NAMES) | _TEXT, "description": _TEXT, "license": _LICENSES,
                     "license_path": _URL, "component_path": _URL | _TEXT}
_LICENSE_ENTRY = st.fixed_dictionaries({}, optional={"name": _LICENSES | st.none(), "path": _URL | st.none()})
_RELEASE = {
    "name": _TEXT, "version": _TEXT, "date": _DATE, "producer": _TEXT, "origin": _TEXT, "contact": _TEXT,
    "type": st.sampled_from(["", "language", "code", "other"]),
    "architecture": st.sampled_from(["", "transformer", "decoder", "other", "undisclosed"]),
    "treatment": st.sampled_from(["pre-trained", "instruct fine-tuned"]),
    "repository": _URL | _TEXT, "huggingface": _URL | _TEXT,
    "license": st.dictionaries(st.sampled_from(["distribution", "code", "data", "document", "weights"]),
                               _LICENSE_ENTRY, max_size=5),
    "components": None,  # built in releases()
}
_FRAMEWORK = st.fixed_dictionaries({}, optional={
    "name": maybe(st.sampled_from(["Model Openness Framework", "MOF"])), "version": maybe(st.just("1.0")),
    "date": maybe(_DATE)})


# True four times in five (hypothesis draws small integers, such as 0, far more often than
# their share, so a plain integers(0, 4) would drop keys most of the time).
_MOSTLY = st.sampled_from([True, True, True, True, False])


def _shape(draw, schema: dict, clean: bool) -> dict:
    """A mapping with some of `schema`'s keys; in a clean document every value has the
    right shape (odd and huge strings included), otherwise any value may take its place."""
    pick = (lambda v: v) if clean else maybe
    return {k: draw(pick(v)) for k, v in schema.items() if draw(_MOSTLY)}


@st.composite
def releases(draw) -> dict:
    """Half the documents are well-formed (the importer must accept most of them, and the
    evaluator must take every record it gives); the rest confuse types and drop keys."""
    clean = draw(st.booleans())
    pick = (lambda v: v) if clean else maybe
    release = _shape(draw, {k: v for k, v in _RELEASE.items() if k != "components"}, clean)
    if not clean:  # values of the right type that the schema's enums do not allow
        release.update(draw(st.fixed_dictionaries({}, optional={
            "type": st.just("LANGUAGE"), "architecture": st.just("mamba"), "treatment": st.just("base")})))
    comps = [_shape(draw, _COMPONENT_FIELDS | {"name": st.sampled_from(_NAMES)}, clean)
             for _ in range(draw(st.integers(0, 8)))]
    release["components"] = comps if clean else draw(st.one_of(st.just(comps), yaml_values))
    if clean:
        release.setdefault("name", draw(st.text(min_size=1, max_size=20)))
        release.setdefault("producer", draw(_TEXT))
        release.setdefault("license", {})
        for c in comps:
            c.setdefault("name", draw(st.sampled_from(_NAMES)))
    framework = {"name": "Model Openness Framework", "version": "1.0", "date": draw(_DATE)}
    doc: dict = {"framework": framework if clean else draw(st.just(framework) | maybe(_FRAMEWORK))}
    if clean or draw(_MOSTLY):
        doc["release"] = release if clean else draw(st.one_of(st.just(release), st.just(release), yaml_values))
    if not clean:
        for extra in draw(st.lists(st.text(max_size=8), max_size=2)):
            doc[extra] = draw(yaml_values)
    return doc


@fuzz_settings(0.5)
@given(doc=releases())
def test_generated_release_files(tmp_path, doc):
    parse(tmp_path, yaml.safe_dump(doc, allow_unicode=True).encode(), "mof/generated")


_AMBER = (FIXTURES / "Amber.yml").read_bytes()
_BOMB = (b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
         b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n")
HARD = [h.replace(b"id: org/a\n", b"framework: {name: Model Openness Framework}\n") for h in HARD_YAML] + [
    _AMBER.replace(b"date: '2024-12-15'", b"date: 2024-13-45"),
    _AMBER.replace(b"name: Amber", b"name: " + b"9" * 5000),
    _AMBER.replace(b"name: Amber", b"name: [a, b]"),
    _AMBER.replace(b"producer: LLM360", b"producer: " + b"x" * 200_000),
    _AMBER.replace(b"name: Apache-2.0", b"name: {a: [1, {b: 2}]}", 1),
    _AMBER.replace(b"license: MIT", b"license: [MIT]", 1),
    _AMBER.replace(b"license: MIT", b"license: '" + b"M" * 100_000 + b"'", 1),
    _AMBER + b"\nrelease: 7\n",
    _BOMB + _AMBER.replace(b"huggingface: ", b"repository2: *f\n  huggingface: "),
    _BOMB + _AMBER.replace(b"producer: LLM360", b"producer: *f"),        # schema error over a bomb
    _BOMB + _AMBER.replace(b"name: Amber", b"name: Amber\n  repository: *f", 1),
    _AMBER.replace(b"name: 'Model architecture'", b"name: '" + b"q" * 100_000 + b"'", 1),
]


@pytest.mark.parametrize("data", HARD, ids=range(len(HARD)))
def test_hard_release_files(tmp_path, data):
    parse(tmp_path, data, "mof/hard")
