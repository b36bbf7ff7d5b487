"""The results pages: stored runs, and one run in the results view.

A run's page is the same view as the offline HTML report (one template,
report/templates/results_view.html.j2, filled by openpick.report.html.view_context): the
leaderboard, the paired verdicts, the SVG charts and the full case × model matrix with
each check's reason and the filters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

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
    """One run in the results view the offline report shows (report/html.py builds both)."""
    try:
        store = _runs_store()
        run = store.get(run_ref)
        results = store.results(run.id)
    except OpenpickError as e:
        return error_page(request, 404, str(e))
    try:
        from openpick.report.html import view_context
    except ImportError as e:
        return page(request, "run.html", nav="results", run=run, report=None, n_results=len(results),
                    note=f"the summary needs a module that is not installed yet ({e.name})")
    return page(request, "run.html", nav="results", ui=True, note=None,
                **view_context(run, results))
