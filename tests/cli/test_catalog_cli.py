"""`openpick catalog import | export | sources`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

FIX = Path(__file__).parents[1] / "fixtures"
CARD = FIX / "hf_cards" / "BioMistral__BioMistral-7B.md"
BAD_CARD = FIX / "hf_cards" / "broken" / "HuggingFaceH4__zephyr-7b-beta-bad-indent.md"
TINY = FIX / "gguf" / "tiny-llama.gguf"
OSAI = FIX / "osai" / "AMD OLMo.yaml"
MOF = FIX / "mof" / "Amber.yml"


def openpick(*args: str) -> subprocess.CompletedProcess:
    # `-c` rather than `-m openpick.cli.main`: run as __main__, main.py's app would be a second
    # copy without the command groups registered on the imported one.
    code = "import sys; from openpick.cli.main import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())


def test_import_json_reports_each_file_and_fails_after_importing_the_good_ones(tmp_path):
    empty = tmp_path / "empty.gguf"
    empty.touch()
    p = openpick("catalog", "import", str(CARD), str(BAD_CARD), str(TINY), str(empty), str(OSAI), "--json")
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert [r["ok"] for r in out] == [True, False, True, False, True]
    assert out[0]["ids"] == ["BioMistral/BioMistral-7B"]
    assert out[2]["ids"] == ["OpenpickTest/TinyLlama-1K-Instruct"]
    assert out[4]["ids"] == ["amd/AMD-OLMo-1B-SFT-DPO"]
    assert out[1]["error"].startswith(f"{BAD_CARD}:14: YAML error")
    assert str(empty) in out[3]["error"] and "empty" in out[3]["error"]
    assert "Traceback" not in p.stderr
    shown = openpick("catalog", "sources", "--json")
    ids = {r["id"] for r in json.loads(shown.stdout)["imported"]["records"]}
    assert ids == {"BioMistral/BioMistral-7B", "OpenpickTest/TinyLlama-1K-Instruct", "amd/AMD-OLMo-1B-SFT-DPO"}


def test_import_text_output():
    p = openpick("catalog", "import", str(CARD), str(BAD_CARD))
    assert p.returncode == 1
    assert "BioMistral/BioMistral-7B" in p.stdout
    assert f"{BAD_CARD}:14: YAML error" in p.stderr
    assert "1 imported, 1 failed" in p.stderr


def test_import_with_id_then_export_yaml_and_json():
    p = openpick("catalog", "import", str(TINY), "--id", "me/tiny", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)[0]["ids"] == ["me/tiny"]
    y = yaml.safe_load(openpick("catalog", "export", "me/tiny", "--format", "yaml").stdout)
    assert y["id"] == "me/tiny" and y["architecture"] == "llama" and y["context_length"] == 2048
    j = json.loads(openpick("catalog", "export", "me/tiny", "--format", "json").stdout)
    assert j["artifacts"][0]["quantization"] == "F16"


def test_export_mof_of_an_imported_mof_file():
    p = openpick("catalog", "import", str(MOF), "--json")
    assert p.returncode == 0, p.stderr
    rid = json.loads(p.stdout)[0]["ids"][0]
    out = openpick("catalog", "export", rid, "--format", "mof")
    assert out.returncode == 0, out.stderr
    doc = yaml.safe_load(out.stdout)
    assert "framework" in doc and "release" in doc


def test_export_mof_of_a_bundled_record(tmp_path):
    out = openpick("catalog", "export", "HuggingFaceTB/SmolLM2-135M-Instruct", "--format", "mof",
                   "-o", str(tmp_path / "smol.yml"))
    assert out.returncode == 0, out.stderr
    assert "framework" in yaml.safe_load((tmp_path / "smol.yml").read_text())


def test_export_unknown_id_suggests():
    p = openpick("catalog", "export", "HuggingFaceTB/SmolLM2-135M-Instruc")
    assert p.returncode == 2
    assert "did you mean HuggingFaceTB/SmolLM2-135M-Instruct" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_export_bad_format():
    p = openpick("catalog", "export", "HuggingFaceTB/SmolLM2-135M-Instruct", "--format", "xml")
    assert p.returncode != 0 and "unknown format" in p.stderr


def test_sources_json_counts_bundled_records():
    info = json.loads(openpick("catalog", "sources", "--json").stdout)
    assert info["bundled"]["count"] >= 1
    assert info["imported"] == {"dir": info["imported"]["dir"], "count": 0, "records": []}


def test_conflicts_show_in_sources(tmp_path):
    import sys as _sys

    _sys.path.insert(0, str(FIX / "gguf"))
    from make_tiny import write_tiny_gguf

    gguf = write_tiny_gguf(tmp_path / "smol.gguf", context_length=4096)
    openpick("catalog", "import", str(gguf), "--id", "HuggingFaceTB/SmolLM2-135M-Instruct")
    text = openpick("catalog", "sources").stdout
    assert "HuggingFaceTB/SmolLM2-135M-Instruct from gguf:smol.gguf" in text
    shown = json.loads(openpick("catalog", "export", "HuggingFaceTB/SmolLM2-135M-Instruct", "--format", "json").stdout)
    conflict = next(c for c in shown["conflicts"] if c["field"] == "context_length")
    assert conflict["values"]["gguf:smol.gguf"] == "4096"
