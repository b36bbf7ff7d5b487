"""The results pages: stored runs, and one run's leaderboard, charts and case matrix."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from openpick.errors import OpenpickError
from openpick.server.ui.render import error_page, page

router = APIRouter()


def _runs_store():
    from openpick.store.runs import RunStore

    return RunStore()


@router.get("/ui/results", response_class=HTMLResponse)
def results_page(request: Request):
    try:
        runs = _runs_store().list(limit=100)
    except Exception as e:  # noqa: BLE001 - a missing module or table means "no runs"
        runs, note = [], f"runs are not available: {e}"
    else:
        note = None
    return page(request, "results.html", nav="results", runs=runs, note=note)


@router.get("/ui/results/{run_ref}", response_class=HTMLResponse)
def run_page(request: Request, run_ref: str):
    try:
        store = _runs_store()
        run = store.get(run_ref)
        results = store.results(run.id)
    except OpenpickError as e:
        return error_page(request, 404, str(e))
    report, charts, rows, note = None, {}, [], None
    try:
        from openpick.evals.summary import summarize
        from openpick.report import charts as charts_mod
        from openpick.report.html import matrix

        report = summarize(run, results)
        figs = {"cost": charts_mod.quality_vs_cost(report), "speed": charts_mod.quality_vs_speed(report),
                "tags": charts_mod.tag_heatmap(report)}
        # Plotly's own output: its JSON escapes "<", ">" and "/" in every string it embeds.
        charts = {k: Markup(charts_mod.to_div(f)) for k, f in figs.items() if f is not None}
        rows = matrix(report, results) if results else []
    except ImportError as e:
        note = f"the summary needs a module that is not installed yet ({e.name})"
    return page(request, "run.html", nav="results", run=run, report=report, charts=charts,
                rows=rows, n_results=len(results), note=note)
