"""One results view of a run, as an offline HTML file and as the web UI's run page.

`view_context(run, results)` is everything the shared template (templates/results_view.html.j2)
needs: the summary, the case × model matrix, the SVG charts and the formatters. The report
(`render_html`, templates/report.html.j2) and the server's /ui/results/{run} page
(server/ui/results.py, templates/run.html) both render that one template with it, so the
two show the same numbers, laid out alike.

The report opens offline, from a file, years later: its CSS and its small filter script
(templates/results.css, results.js; the server serves the same two files) are inlined,
and the charts are inline SVG drawn by report/charts.py, so it needs no chart library and
no network. Model outputs are untrusted text: the templates autoescape, nothing a model
wrote is marked safe, and the filter script never touches text.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePath
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from openpick.evals.runner import TRUNCATED
from openpick.evals.stats import format_p
from openpick.evals.summary import RunReport, result_passed, summarize
from openpick.report import bytes_, charts, interval, money, mof, pct, rate, seconds
from openpick.store.records import CaseResult, RunInfo

TESTS = {"mcnemar": "exact McNemar (pass/fail)", "bootstrap": "paired sign-flip (scores)"}


def p_value(p: float) -> str:
    """A p-value as the verdict sentence writes it, without the "p": "0.12", "< 0.001"."""
    return format_p(p).removeprefix("p ").removeprefix("= ")


def file_name(path: str | None) -> str | None:
    """A suite's file name, not where it lay on the machine that ran it."""
    return PurePath(path).name if path else None


# What the shared template formats numbers with (the same in the report and the UI).
FORMATS = SimpleNamespace(pct=pct, money=money, seconds=seconds, rate=rate, mof=mof, bytes=bytes_,
                          interval=interval, p=p_value, file_name=file_name, tests=TESTS)


def _env() -> Environment:
    return Environment(loader=PackageLoader("openpick.report", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def _input_text(r: CaseResult) -> str:
    if isinstance(r.input, str):
        return r.input
    return "\n\n".join(f"{m.get('role', '?')}: {m.get('content', '')}" for m in r.input)


def _preview(text: str, n: int = 90) -> str:
    line = " ".join(text.split())
    return line if len(line) <= n else line[:n - 1] + "…"


def shown(r: CaseResult) -> dict[str, Any]:
    """One result as a cell shows it: outcome, its checks, and whether the answer was cut."""
    checks = list(r.grade.assertions) if r.grade else []
    cut = [a for a in checks if a.type == TRUNCATED]
    status = ("error" if r.error else "ungraded" if r.grade is None
              else "pass" if r.grade.passed else "fail")
    return {"r": r, "status": status, "checks": [a for a in checks if a.type != TRUNCATED],
            "truncated": bool(cut), "truncated_reason": cut[0].reason if cut else None}


def matrix(report: RunReport, results: list[CaseResult]) -> list[dict]:
    """Rows of the case × model matrix: one row per case, one cell per entry (all repeats)."""
    labels = {(e.model, e.variant): e.label for e in report.entries}
    cells: dict[str, dict[str, list[CaseResult]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        cells[r.case_id][labels[(r.model, r.variant)]].append(r)
    rows = []
    for cid in cells:  # the order the runner produced: the suite's order
        by_label = cells[cid]
        first = next(iter(by_label.values()))[0]
        outcomes = {result_passed(r) for rs in by_label.values() for r in rs}
        row_cells = []
        for e in report.entries:
            rs = sorted(by_label.get(e.label, []), key=lambda r: r.repeat)
            passes = " ".join("" if (p := result_passed(r)) is None else str(int(p)) for r in rs)
            row_cells.append({"label": e.label, "results": [shown(r) for r in rs],
                              "passes": passes})
        text = _input_text(first)
        asked = first.input if isinstance(first.input, str) else next(
            (m.get("content", "") for m in reversed(first.input) if m.get("role") == "user"), text)
        rows.append({"id": cid, "tags": first.tags, "input": text, "preview": _preview(asked),
                     "cells": row_cells, "any_fail": False in outcomes,
                     "disagree": len(outcomes - {None}) > 1})
    return rows


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """results.css or results.js: inlined into the report, served by the UI."""
    return (resources.files("openpick.report") / "templates" / name).read_text(encoding="utf-8")


def view_context(run: RunInfo, results: list[CaseResult], report: RunReport | None = None,
                 ) -> dict[str, Any]:
    """What templates/results_view.html.j2 renders: the same for the report and the UI."""
    report = report or summarize(run, results)
    chart_list, missing = charts.all_charts(report)
    return {"run": run, "report": report, "rows": matrix(report, results), "charts": chart_list,
            "missing_charts": missing, "fmt": FORMATS, "n_results": len(results)}


def render_html(run: RunInfo, results: list[CaseResult], report: RunReport | None = None) -> str:
    ctx = view_context(run, results, report)
    # our own files, shipped with the package: no user text in them
    return _env().get_template("report.html.j2").render(
        **ctx, ui=False, css=Markup(asset("results.css")), js=Markup(asset("results.js")))


def write(run: RunInfo, results: list[CaseResult], path: str | Path,
          report: RunReport | None = None) -> Path:
    """Write the report to `path` (a folder gets `<run id>.html`); return the file's path."""
    path = Path(path)
    if path.is_dir():
        path = path / f"{run.id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(run, results, report), encoding="utf-8")
    tmp.replace(path)
    return path
