"""The SQLite/FTS5 index: filters, free text, sorting, lineage queries, rebuilds."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

import openpick.openness  # noqa: F401 - registers the MOF facts the index needs
from openpick.catalog import index as ix
from openpick.catalog.index import Query, build_index, search
from openpick.catalog.schema import ModelRecord
from openpick.errors import InvalidInput

OPEN_COMPONENTS = {
    "Model architecture": {"license": "Apache-2.0"},
    "Model parameters (Final)": {"license": "Apache-2.0"},
}


def rec(id, **kw):
    base = {"id": id, "name": id.split("/")[1], "developer": id.split("/")[0], "license": "Apache-2.0"}
    base.update(kw)
    return ModelRecord.model_validate(base)


@pytest.fixture()
def db(tmp_path):
    records = [
        rec("acme/Base-7B", parameters=7_000_000_000, tasks=["text-generation"], domains=["general"],
            languages=["en"], release_date="2023-09", components=OPEN_COMPONENTS),
        rec("acme/Base-7B-Instruct", parameters=7_000_000_000, tasks=["chat"], domains=["general"],
            languages=["en", "fr"], base_model=["acme/Base-7B"], base_model_relation="finetune",
            release_date="2023-10"),
        rec("med/MedBase-7B", parameters=7_200_000_000, tasks=["chat"], domains=["medical"],
            languages=["en"], base_model=["acme/Base-7B-Instruct"], base_model_relation="finetune",
            release_date="2024-02", description="clinical question answering"),
        rec("tiny/Tiny-135M", parameters=135_000_000, tasks=["chat"], domains=["general"],
            languages=["en"], release_date="2024-11", license="MIT", features=["gqa"]),
        rec("big/Huge-180B", parameters=180_000_000_000, tasks=["text-generation"],
            languages=["en", "de"], release_date="2023-09", license="FALCON-180B-TII"),
    ]
    path = tmp_path / "idx.sqlite"
    assert build_index(path, records, fingerprint="t") == 5
    return path


def ids(hits):
    return [h.record.id for h in hits]


def test_facet_filters(db):
    assert ids(search(Query(domains=["medical"]), db)) == ["med/MedBase-7B"]
    assert ids(search(Query(languages=["fr"]), db)) == ["acme/Base-7B-Instruct"]
    assert set(ids(search(Query(tasks=["chat"], domains=["general"]), db))) == {
        "acme/Base-7B-Instruct", "tiny/Tiny-135M"}


def test_license_filters(db):
    assert ids(search(Query(license="mit"), db)) == ["tiny/Tiny-135M"]
    osi = ids(search(Query(license="osi"), db))
    assert "big/Huge-180B" not in osi and "tiny/Tiny-135M" in osi


def test_params_and_fits(db):
    assert ids(search(Query(params=(None, 1_000_000_000)), db)) == ["tiny/Tiny-135M"]
    fits = ids(search(Query(fits_bytes=8e9), db))
    assert "big/Huge-180B" not in fits and "acme/Base-7B" in fits
    assert ids(search(Query(fits_bytes=1e9), db)) == ["tiny/Tiny-135M"]


def test_free_text_and_relevance(db):
    assert ids(search(Query(text="clinical"), db)) == ["med/MedBase-7B"]
    # prefix match on words of the id; the shorter exact name ranks first
    hits = ids(search(Query(text="base 7b"), db))
    # a part of a compound name ("MedBase") matches too, ranked below whole words
    assert hits[0] == "acme/Base-7B" and hits[-1] == "med/MedBase-7B"


def test_fts_syntax_is_not_injectable(db):
    # quotes, operators and parentheses are treated as plain words
    assert search(Query(text='"OR* ) NEAR('), db) == []


def test_descendants_are_transitive(db):
    assert set(ids(search(Query(base="acme/Base-7B"), db))) == {"acme/Base-7B-Instruct", "med/MedBase-7B"}


def test_sorting(db):
    assert ids(search(Query(sort="size"), db))[0] == "tiny/Tiny-135M"
    assert ids(search(Query(sort="date"), db))[0] == "tiny/Tiny-135M"
    by_open = search(Query(sort="openness"), db)
    assert by_open[0].openness >= by_open[-1].openness
    with pytest.raises(InvalidInput):
        search(Query(sort="bogus"), db)


def test_build_is_atomic_on_failure(tmp_path, db):
    """A failing rebuild leaves the previous index intact and no temp files behind."""
    path = tmp_path / "idx.sqlite"
    before = path.read_bytes()

    def boom():
        yield rec("ok/One")
        raise RuntimeError("source broke mid-build")

    with pytest.raises(RuntimeError):
        build_index(path, boom())
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".index-*"))


def test_ensure_index_rebuilds_when_sources_change(tmp_path, monkeypatch):
    from openpick.catalog import catalog

    p = ix.ensure_index()
    first = sqlite3.connect(p).execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()[0]
    assert ix.ensure_index() == p  # unchanged: no rebuild needed
    catalog.save_imported(rec("new/Imported-1B", parameters=1_000_000_000, domains=["legal"]))
    ix.ensure_index()
    second = sqlite3.connect(p).execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()[0]
    assert second != first
    assert ids(search(Query(domains=["legal"]))) == ["new/Imported-1B"] or "new/Imported-1B" in ids(
        search(Query(domains=["legal"])))


def test_corrupt_index_file_is_rebuilt():
    p = ix.default_path()
    p.write_bytes(b"this is not sqlite")
    ix.ensure_index()
    assert search(Query(limit=1))


def test_bulk_jsonl_import(tmp_path):
    src = tmp_path / "records.jsonl"
    lines = [rec(f"org/m{i}", parameters=(i + 1) * 10**9, domains=["medical" if i % 2 else "general"])
             .model_dump_json() for i in range(50)]
    src.write_text("\n".join(lines) + "\n\n")
    path = tmp_path / "bulk.sqlite"
    assert ix.build_index_from_jsonl(path, src, workers=1) == 50
    assert len(search(Query(domains=["medical"]), path)) == 25
    assert ids(search(Query(sort="size", limit=1), path)) == ["org/m0"]  # order kept


@pytest.mark.parametrize("workers", [0, 1])
def test_bulk_import_bad_line_names_file_and_line(tmp_path, workers):
    src = tmp_path / "records.jsonl"
    good = rec("org/ok").model_dump_json()
    src.write_text(good + "\n" + '{"id": "no-slash", "name": "x", "developer": "y", "license": "MIT"}\n')
    path = tmp_path / "bulk.sqlite"
    with pytest.raises(InvalidInput) as e:
        ix.build_index_from_jsonl(path, src, workers=workers)
    assert str(e.value).startswith(f"{src}: line 2: field id")
    assert not path.exists() and not list(tmp_path.glob(".index-*"))


def test_duplicate_ids_fail_cleanly(tmp_path):
    path = tmp_path / "dup.sqlite"
    with pytest.raises(InvalidInput, match="duplicate"):
        build_index(path, [rec("a/x"), rec("a/y"), rec("A/X")])
    assert not path.exists() and not list(tmp_path.glob(".index-*"))


CLASS3_OPEN = {n: {"license": "Apache-2.0"} for n in (
    "Model architecture", "Model parameters (Final)", "Evaluation results", "Model card", "Data card",
    "Technical report")}


def test_mof_class_filter_uses_the_registered_openness_facts(tmp_path):
    path = tmp_path / "mof.sqlite"
    build_index(path, [rec("open/Three", components=CLASS3_OPEN), rec("open/Partial", components=OPEN_COMPONENTS),
                       rec("closed/None")])
    assert ids(search(Query(mof_class=3), path)) == ["open/Three"]
    assert search(Query(mof_class=2), path) == []
    by_id = {h.record.id: h for h in search(Query(sort="openness"), path)}
    assert by_id["open/Three"].mof_class == 3
    # Class III reached (1) plus 6 of the 10 class II components: 1.6
    assert by_id["open/Three"].openness == 1.6
    # No class reached, 2 of the 6 class III components: 0.3333
    assert by_id["open/Partial"].openness == 0.3333 and by_id["open/Partial"].mof_class == 0
    assert by_id["closed/None"].openness == 0.0


def test_facts_can_be_passed_instead_of_registered(tmp_path):
    calls = []

    def everything_class_one(record):
        calls.append(record.id)
        return 1, {"1": 100.0, "2": 100.0, "3": 100.0}

    path = tmp_path / "facts.sqlite"
    build_index(path, [rec("a/One"), rec("b/Two", license="MIT")], facts=everything_class_one)
    assert sorted(calls) == ["a/One", "b/Two"]
    assert ids(search(Query(mof_class=1, sort="name"), path)) == ["a/One", "b/Two"]


def test_the_index_without_openness_facts_says_what_is_missing(tmp_path):
    """The catalog never imports the openness layer; without its registration a build
    fails loudly instead of indexing wrong classes."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from openpick.catalog.index import build_index\n"
        "from openpick.catalog.schema import ModelRecord\n"
        "import openpick.catalog.catalog, openpick.catalog.importers.mof, openpick.catalog.licenses\n"
        "assert 'openpick.openness' not in sys.modules, 'the catalog imported the openness layer'\n"
        "r = ModelRecord(id='a/b', name='b', developer='a', license='MIT')\n"
        "try:\n"
        "    build_index(Path(sys.argv[1]), [r])\n"
        "except RuntimeError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.sqlite")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "needs MOF facts from the openness layer" in out.stdout
    assert not (tmp_path / "x.sqlite").exists()


def test_compound_names_are_searchable_by_their_parts():
    from openpick.catalog.index import name_parts

    assert name_parts("StarCoder2 3B", "StarCoder2") == ["star", "coder"] * 2
    assert name_parts("SmolLM2-135M", "DeepSeek-Coder") == ["smol", "lm", "deep", "seek"]
    assert name_parts("Mistral 7B v0.1", "Qwen2.5") == []  # plain words add nothing
