"""import_paths / detect_format: dispatch by format, many files, bad files reported, atomic storage."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from openpick.catalog.catalog import get_record, imported_dir, load_imported
from openpick.catalog.importers import detect_format, import_paths
from openpick.errors import InvalidInput

FIX = Path(__file__).parents[1] / "fixtures"
CARDS = FIX / "hf_cards"
TINY = FIX / "gguf" / "tiny-llama.gguf"
OSAI = FIX / "osai"
MOF = FIX / "mof" / "Amber.yml"
sys.path.insert(0, str(FIX / "gguf"))
from make_tiny import write_tiny_gguf  # noqa: E402


def test_detect_format(tmp_path):
    assert detect_format(TINY) == "gguf"
    assert detect_format(CARDS / "BioMistral__BioMistral-7B.md") == "hf-card"
    assert detect_format(OSAI / "smollm.yaml") == "osai"
    assert detect_format(MOF) == "mof"
    assert detect_format(tmp_path) == "directory"
    record = tmp_path / "r.yaml"
    record.write_text("id: acme/x\nname: x\ndeveloper: acme\nlicense: MIT\n")
    assert detect_format(record) == "record"


@pytest.mark.parametrize("name, content, message", [
    ("notes.txt", b"hello", "unknown format"),
    ("weights.bin", b"\x00\x01\x02\x03 not gguf", "unknown format"),
    ("other.yaml", b"foo: 1\nbar: 2\n", "unknown YAML format"),
    ("empty.md", b"", "empty file"),
    ("bad.yaml", b"framework:\n  name: x\n bad: indent\n", "YAML error"),
])
def test_unknown_or_broken_inputs(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message) as err:
        detect_format(path)
    assert err.value.path == str(path)


def test_missing_path(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        detect_format(tmp_path / "nope.gguf")


def test_mof_is_dispatched_to_the_mof_importer():
    [res] = import_paths([MOF])
    assert res.ok, res.error
    assert res.format == "mof"
    assert get_record(res.ids[0]).sources == [f"mof:{MOF.name}"]


def test_many_files_continue_past_bad_ones(tmp_path):
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(TINY.read_bytes()[:200])
    paths = [
        CARDS / "BioMistral__BioMistral-7B.md",
        CARDS / "broken" / "HuggingFaceH4__zephyr-7b-beta-bad-indent.md",
        truncated,
        OSAI / "AMD OLMo.yaml",
        OSAI / "a_submission_template.yaml",
        TINY,
    ]
    results = import_paths(paths)
    assert [r.ok for r in results] == [True, False, False, True, False, True]
    assert results[0].ids == ["BioMistral/BioMistral-7B"]
    assert results[1].error.startswith(f"{paths[1]}:14: YAML error")
    assert str(truncated) in results[2].error and "truncated" in results[2].error
    assert "system.name is missing" in results[4].error
    stored = {r.id for r in load_imported()}
    assert stored == {"BioMistral/BioMistral-7B", "amd/AMD-OLMo-1B-SFT-DPO", "OpenpickTest/TinyLlama-1K-Instruct"}
    assert not list(imported_dir().glob(".tmp-*"))  # nothing half-written


def test_save_false_stores_nothing():
    [res] = import_paths([TINY], save=False)
    assert res.ok and load_imported() == []


def test_directory_with_card_and_gguf_files(tmp_path):
    repo = tmp_path / "OpenpickTest__TinyLlama-1K-Instruct-GGUF"
    repo.mkdir()
    shutil.copy(CARDS / "HuggingFaceTB__SmolLM2-135M-Instruct.md", repo / "README.md")
    write_tiny_gguf(repo / "tiny.Q8_0.gguf", file_type=0)
    (repo / "notes.txt").write_text("ignored")
    results = import_paths([repo])
    assert [Path(r.path).name for r in results] == ["README.md", "tiny.Q8_0.gguf"]
    assert all(r.ok for r in results)
    rid = "OpenpickTest/TinyLlama-1K-Instruct-GGUF"
    assert results[1].ids == [rid]  # the GGUF takes the card's id
    rec = get_record(rid)
    assert rec.sources == ["hf-card:README.md", "gguf:tiny.Q8_0.gguf"]
    assert rec.architecture == "llama" and rec.license == "Apache-2.0"


def test_directory_without_card_or_gguf(tmp_path):
    (tmp_path / "empty-repo").mkdir()
    [res] = import_paths([tmp_path / "empty-repo"])
    assert not res.ok and "no README.md model card" in res.error
    assert str(tmp_path / "empty-repo") in res.error


def test_reimporting_the_same_source_replaces_it(tmp_path):
    card = tmp_path / "acme__model.md"
    card.write_text("---\nlicense: mit\nlanguage: [en]\n---\n")
    import_paths([card])
    card.write_text("---\nlicense: apache-2.0\nlanguage: [fr]\n---\n")
    import_paths([card])
    rec = get_record("acme/model")
    assert rec.license == "Apache-2.0" and rec.languages == ["fr"] and rec.conflicts == []


def test_id_option_applies_to_every_file():
    results = import_paths([CARDS / "BioMistral__BioMistral-7B.md", TINY], record_id="me/medical")
    assert [r.ids for r in results] == [["me/medical"], ["me/medical"]]
    rec = get_record("me/medical")
    assert rec.sources == ["hf-card:BioMistral__BioMistral-7B.md", "gguf:tiny-llama.gguf"]
    assert "medical" in rec.domains and rec.architecture == "llama"


def test_bad_id_option_is_reported_per_file():
    results = import_paths([MOF, TINY], record_id="no-slash")
    assert not any(r.ok for r in results)
    assert all("org/name" in r.error for r in results)
    assert load_imported() == []


def test_id_option_on_a_mof_file():
    [res] = import_paths([MOF], record_id="me/amber-copy")
    assert res.ok and get_record("me/amber-copy").sources == [f"mof:{MOF.name}"]
