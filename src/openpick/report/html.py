"""One self-contained HTML report per run: opens offline, from a file, years later.

plotly.js is inlined once (about 4.6 MB) instead of linked from a CDN, so the report
works on a machine with no network. Model outputs are untrusted text: the template is
rendered with autoescape on, and nothing a model wrote is ever marked safe.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from openpick.evals.summary import RunReport, result_passed, summarize
from openpick.store.records import CaseResult, RunInfo
from openpick.report import bytes_, charts, interval, money, mof, pct, rate, seconds


def _env() -> Environment:
    env = Environment(loader=PackageLoader("openpick.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, money=money, seconds=seconds, rate=rate, mof=mof, bytes=bytes_)
    env.globals["interval"] = interval
    return env


def _input_text(r: CaseResult) -> str:
    if isinstance(r.input, str):
        return r.input
    return "\n\n".join(f"{m.get('role', '?')}: {m.get('content', '')}" for m in r.input)


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
        row_cells = [sorted(by_label.get(e.label, []), key=lambda r: r.repeat) for e in report.entries]
        rows.append({"id": cid, "tags": first.tags, "input": _input_text(first), "cells": row_cells,
                     "any_fail": False in outcomes, "disagree": len(outcomes - {None}) > 1})
    return rows


def _plotly_js() -> Markup:
    from plotly.offline import get_plotlyjs

    # The library's own minified source, not user data. "</script" cannot occur in it
    # unescaped, or plotly's own offline HTML would break the same way.
    return Markup(get_plotlyjs())


def render_html(run: RunInfo, results: list[CaseResult], report: RunReport | None = None) -> str:
    report = report or summarize(run, results)
    figs = {"cost": charts.quality_vs_cost(report), "speed": charts.quality_vs_speed(report),
            "tags": charts.tag_heatmap(report)}
    # Figure divs are plotly's output: its JSON escapes "<", ">" and "/" in every string.
    divs = {k: Markup(charts.to_div(f)) if f is not None else None for k, f in figs.items()}
    return _env().get_template("report.html.j2").render(
        run=run, report=report, charts=divs, rows=matrix(report, results),
        plotly_js=_plotly_js() if any(divs.values()) else None)


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
