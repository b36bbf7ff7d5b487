"""JSON and CSV export round-trip what the run holds."""

from __future__ import annotations

import csv
import json

import pytest

from openpick.errors import InvalidInput
from openpick.store.records import CaseResult, RunInfo
from openpick.report import export


def test_json_export_has_run_summary_and_every_result(sample, tmp_path):
    run, results = sample
    data = json.loads(export.write(run, results, tmp_path / "run.json").read_text(encoding="utf-8"))
    assert RunInfo.model_validate(data["run"]) == run
    assert [CaseResult.model_validate(r) for r in data["results"]] == results
    entries = data["summary"]["entries"]
    assert [e["label"] for e in entries] == ["big-model", "small-model", "<b>odd</b>"]
    assert {"pass_rate", "pass_low", "pass_high", "cost_per_1k_cases_usd"} <= set(entries[0])
    assert data["summary"]["pairwise"][0]["verdict"]


def test_results_csv_one_row_per_result_with_failure_reasons(sample, tmp_path):
    run, results = sample
    rows = list(csv.DictReader(export.write(run, results, tmp_path / "r.csv").open(encoding="utf-8")))
    assert len(rows) == len(results) == 72
    assert rows[0].keys() == set(export.RESULT_COLUMNS)
    failed = next(r for r in rows if r["model"] == "small-model" and r["case_id"] == "case-01")
    assert failed["passed"] == "False"
    assert failed["failed_assertions"] == "icontains: expected 'paris' in output <1>"
    err = next(r for r in rows if r["error"])
    assert err["error"] == "timeout after 60 s" and err["passed"] == "False"


def test_csv_cells_that_look_like_formulas_are_defused(sample, tmp_path):
    run, results = sample
    results = [results[0].model_copy(update={"output": "=HYPERLINK(\"http://x\")"})]
    row = next(csv.DictReader(export.write_results_csv(results, tmp_path / "f.csv").open()))
    assert row["output"] == "'=HYPERLINK(\"http://x\")"
    raw = next(csv.DictReader(export.write_results_csv(results, tmp_path / "g.csv",
                                                       safe_for_spreadsheets=False).open()))
    assert raw["output"] == "=HYPERLINK(\"http://x\")"


def test_summary_csv_one_row_per_model_with_tag_columns(sample, tmp_path):
    from openpick.evals.summary import summarize

    report = summarize(*sample)
    rows = list(csv.DictReader(export.write_summary_csv(report, tmp_path / "s.csv").open()))
    assert [r["label"] for r in rows] == ["big-model", "small-model", "<b>odd</b>"]
    assert rows[0]["rank"] == "1" and rows[0]["pareto_cost"] == "True"
    assert {"tag:code", "tag:facts", "tag:math"} <= set(rows[0])
    assert float(rows[1]["pass_rate"]) == pytest.approx(0.5)


def test_unknown_export_format_is_a_user_error(sample, tmp_path):
    with pytest.raises(InvalidInput, match=r"\.json or \.csv"):
        export.write(*sample, tmp_path / "r.xlsx")


def test_results_csv_text_matches_the_file(sample, tmp_path):
    _, results = sample
    path = export.write_results_csv(results, tmp_path / "r.csv")
    assert export.results_csv(results) == path.read_bytes().decode("utf-8")  # CRLF, as CSV says
