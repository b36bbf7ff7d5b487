"""`openpick openness ID [--json]` through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from openpick.cli.main import app

runner = CliRunner()


def test_openness_json_for_bundled_model():
    result = runner.invoke(app, ["openness", "HuggingFaceTB/SmolLM2-135M-Instruct", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert data["mof_class"] in (0, 1, 2, 3)
    assert set(data["mof_progress"]) == {"1", "2", "3"}
    assert all(0 <= v <= 100 for v in data["mof_progress"].values())
    assert len(data["criteria"]) == 5
    assert {"osaid", "osai_index", "license", "to_next_class"} <= set(data)


def test_openness_human_output():
    result = runner.invoke(app, ["openness", "HuggingFaceTB/SmolLM2-135M-Instruct"])
    assert result.exit_code == 0, result.output
    assert "MOF" in result.stdout and "Five criteria" in result.stdout
    assert "Open Source AI Definition" in result.stdout


def test_unknown_id_suggests_and_exits_nonzero():
    proc = subprocess.run(
        [sys.executable, "-c", "from openpick.cli.main import main; main()",
         "openness", "SmolLM2-135M-Instruct", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "did you mean" in proc.stderr
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_imported_mof_file_gets_the_tools_class(tmp_path):
    """`catalog import` of a MOF file, then `openness --json` gives the MOT's numbers."""
    from pathlib import Path

    from openpick.catalog.importers import import_paths

    fixture = Path(__file__).parent.parent / "fixtures" / "mof" / "Polyglot-Ko.yml"
    (res,) = import_paths([fixture])
    assert res.ok, res.error
    result = runner.invoke(app, ["openness", res.ids[0], "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # Everything but intermediate weights, with a technical report: II met, I at 13/14.
    assert data["mof_class"] == 2
    assert data["mof_progress"]["3"] == 100.0 and data["mof_progress"]["2"] == 100.0
    assert abs(data["mof_progress"]["1"] - 1300 / 14) < 1e-9
    assert data["mof_progress_rounded"]["1"] == 93
