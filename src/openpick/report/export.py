"""JSON and CSV export of a run's results and its summary.

JSON keeps everything (the run, the summary, every result with its assertions). CSV is for
spreadsheets: one row per result, or one row per model for the summary. Model output is
untrusted, and a spreadsheet runs a cell that starts with "=", "+", "-" or "@" as a
formula, so text cells that start that way get a leading "'" unless asked not to.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from openpick.evals.summary import RunReport, result_passed, result_score, summarize
from openpick.store.records import CaseResult, RunInfo

RESULT_COLUMNS = [
    "run_id", "model", "variant", "case_id", "repeat", "tags", "passed", "score", "error",
    "output", "failed_assertions", "prompt_tokens", "completion_tokens", "ttft_s", "total_s",
    "decode_tok_s", "threads", "parallel", "peak_rss_bytes", "seed", "cached", "created_at",
]
SUMMARY_COLUMNS = [
    "rank", "label", "model", "variant", "engine", "spec", "record_id", "license", "mof_class",
    "n_cases", "n_results", "passed", "errors", "pass_rate", "pass_low", "pass_high",
    "mean_score", "latency_p50_s", "latency_p95_s", "ttft_p50_s", "output_tok_s",
    "prompt_tokens", "completion_tokens", "peak_rss_bytes", "price_basis", "price_source",
    "usd_per_1m_input", "usd_per_1m_output", "usd_per_1m_blended", "cost_per_case_usd",
    "cost_per_1k_cases_usd", "pareto_cost", "pareto_speed",
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def to_dict(run: RunInfo, results: list[CaseResult], report: RunReport | None = None) -> dict[str, Any]:
    """The whole run as plain data: {"run", "summary", "results"}."""
    report = report or summarize(run, results)
    summary = report.model_dump(mode="json", exclude={"run"})
    return {"run": run.model_dump(mode="json"), "summary": summary,
            "results": [r.model_dump(mode="json") for r in results]}


def write_json(run: RunInfo, results: list[CaseResult], path: str | Path,
               report: RunReport | None = None) -> Path:
    path = Path(path)
    path.write_text(json.dumps(to_dict(run, results, report), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def _cell(value: Any, safe: bool) -> Any:
    if isinstance(value, str) and safe and value.startswith(_FORMULA):
        return "'" + value
    return value


def result_row(r: CaseResult) -> dict[str, Any]:
    failed = [] if r.grade is None else [
        f"{a.type}: {a.reason}" if a.reason else a.type for a in r.grade.assertions if not a.passed]
    return {
        "run_id": r.run_id, "model": r.model, "variant": r.variant, "case_id": r.case_id,
        "repeat": r.repeat, "tags": ";".join(r.tags), "passed": result_passed(r),
        "score": result_score(r), "error": r.error, "output": r.output,
        "failed_assertions": " | ".join(failed), "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens, "ttft_s": r.ttft_s, "total_s": r.total_s,
        "decode_tok_s": r.decode_tok_s, "threads": r.threads, "parallel": r.parallel,
        "peak_rss_bytes": r.peak_rss_bytes, "seed": r.seed,
        "cached": r.cached, "created_at": r.created_at,
    }


def _write_results(f, results: list[CaseResult], safe: bool) -> None:
    w = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
    w.writeheader()
    for r in results:
        w.writerow({k: _cell(v, safe) for k, v in result_row(r).items()})


def results_csv(results: list[CaseResult], *, safe_for_spreadsheets: bool = True) -> str:
    """One row per result (model × case × variant × repeat), as CSV text."""
    buf = io.StringIO(newline="")
    _write_results(buf, results, safe_for_spreadsheets)
    return buf.getvalue()


def write_results_csv(results: list[CaseResult], path: str | Path, *,
                      safe_for_spreadsheets: bool = True) -> Path:
    """One row per result (model × case × variant × repeat)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        _write_results(f, results, safe_for_spreadsheets)
    return path


def summary_rows(report: RunReport) -> list[dict[str, Any]]:
    rows = []
    for i, e in enumerate(report.entries, start=1):
        d = e.model_dump(mode="json")
        row = {k: d.get(k) for k in SUMMARY_COLUMNS}
        row.update(rank=i, pareto_cost=e.label in report.pareto_cost,
                   pareto_speed=e.label in report.pareto_speed)
        for t in e.tags:
            row[f"tag:{t.tag}"] = t.pass_rate
        rows.append(row)
    return rows


def write_summary_csv(report: RunReport, path: str | Path, *, safe_for_spreadsheets: bool = True) -> Path:
    """One row per model (and variant), leaderboard order, with a pass-rate column per tag."""
    path = Path(path)
    columns = SUMMARY_COLUMNS + [f"tag:{t}" for t in report.tags]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for row in summary_rows(report):
            w.writerow({k: _cell(v, safe_for_spreadsheets) for k, v in row.items()})
    return path


def write(run: RunInfo, results: list[CaseResult], path: str | Path,
          report: RunReport | None = None) -> Path:
    """By extension: `.json` → everything; `.csv` → one row per result."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return write_json(run, results, path, report)
    if path.suffix.lower() == ".csv":
        return write_results_csv(results, path)
    from openpick.errors import InvalidInput

    raise InvalidInput(f"cannot export to {path.name!r}: use a .json or .csv file name")
