"""The catalog page (filters) and a model's page: openness card, lineage, results."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from openpick.errors import InvalidInput, NotFound, OpenpickError
from openpick.server.ui.compare import runner_models
from openpick.server.ui.render import error_page, page
from openpick.server.ui.state import offered_models

router = APIRouter()

FILTERS = ("q", "task", "domain", "language", "license", "mof", "size", "fits", "sort")


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/catalog", status_code=307)


@router.get("/ui")
@router.get("/ui/")
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/catalog", status_code=307)


def _facets(records) -> dict[str, list[str]]:
    def values(attr):
        return sorted({v for r in records for v in getattr(r, attr)}, key=str.lower)

    return {"task": values("tasks"), "domain": values("domains"), "language": values("languages"),
            "license": sorted({r.license for r in records}, key=str.lower)}


@router.get("/ui/catalog", response_class=HTMLResponse)
def catalog_page(request: Request):
    import openpick.openness  # noqa: F401 - gives the catalog index its MOF facts
    from openpick.catalog import memory
    from openpick.catalog.catalog import all_records
    from openpick.catalog.index import Query, search

    params = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    error, hits = None, []
    try:
        mof = int(params["mof"]) if params["mof"] else None
        if mof is not None and mof not in (1, 2, 3):
            raise InvalidInput("MOF class must be 1, 2 or 3")
        q = Query(text=params["q"] or None,
                  tasks=[params["task"]] if params["task"] else [],
                  domains=[params["domain"]] if params["domain"] else [],
                  languages=[params["language"]] if params["language"] else [],
                  license=params["license"] or None, mof_class=mof,
                  params=memory.parse_param_range(params["size"]) if params["size"] else None,
                  fits_bytes=memory.parse_bytes(params["fits"]) if params["fits"] else None,
                  sort=params["sort"] or "auto", limit=200)
        hits = search(q)
    except (OpenpickError, ValueError) as e:
        error = str(e)
    records = all_records()
    return page(request, "catalog.html", nav="catalog", params=params, hits=hits, error=error,
                facets=_facets(records), total=len(records))


def _measured(record_id: str) -> list[dict]:
    """This model's results in the user's stored runs (pass rate per run)."""
    from openpick.store.runs import RunStore

    store = RunStore()
    try:
        return store.measured(record_id)
    finally:
        store.conn.close()


def _runnable(request: Request, record_id: str) -> tuple[list[dict], list]:
    """The names this server offers for a record (as the chat and arena pages offer them),
    each marked `comparable` when the compare page can run it; and the record's local
    models whose files are not installed (the page says how to install them)."""
    from openpick.engines.local import local_models

    rid = record_id.lower()
    comparable = runner_models(request)
    local = [{**m, "comparable": m["name"] in comparable} for m in offered_models(request)
             if (m["record_id"] or "").lower() == rid]
    offered = {m["name"] for m in local}
    missing = [m for m in local_models() if (m.record_id or "").lower() == rid
               and m.status == "missing" and m.name not in offered]
    return local, missing


@router.get("/ui/models/{record_id:path}", response_class=HTMLResponse)
def model_page(request: Request, record_id: str):
    from openpick.catalog import memory
    from openpick.catalog.catalog import all_records, get_record
    from openpick.catalog.lineage import Lineage
    from openpick.openness import assess

    records = all_records()
    try:
        rec = get_record(record_id, records)
    except NotFound as e:
        return error_page(request, 404, str(e))
    report = assess(rec)
    tree = Lineage(records).tree(rec.id)
    local, missing = _runnable(request, rec.id)
    try:
        measured = _measured(rec.id)
    except Exception:  # a store from a newer version must not break the catalog page
        measured = []
    return page(request, "model.html", nav="catalog", rec=rec, o=report, tree=tree,
                known={r.id.lower() for r in records}, local=local, missing=missing,
                measured=measured,
                memory=memory.estimate_bytes(rec.parameters, rec.features))
