"""The compare page: pick a suite and models, start a comparison, watch it run, resume it.

The run is an `openpick compare` run in every way that matters (server/jobs.py): the same
runner, options and store, a background job in the server process, so closing the tab
does not stop it. The page watches a job over SSE (`event: progress` per committed
result, then `event: end`), lists runs that stopped before they finished (a Stop, or the
server going down) with a Resume button, and sends a finished run to its results page.

What a request may name, and nothing else: a bundled suite or a benchmark by name, suite
text (pasted or read from a file by the browser), and models this server offers. Suite
text never reaches other files: before it is parsed, anything that reads a file or runs
code on the server is refused with its line (data files, `file://` references, lm-eval
tasks, python and code checks, schema files, `x-source-files`), it is parsed against an
empty folder, and the server keeps its own copy (under the data dir, named by its hash)
to resume from. A judge model must be an offered model too.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from openpick.errors import InvalidInput, NotFound, OpenpickError
from openpick.evals.runner import RunOptions
from openpick.server.jobs import CompareJobs, JobSpec, resume_spec, under
from openpick.server.ui.render import page
from openpick.server.ui.state import _names, _state_lock, get_pool, offered_models

router = APIRouter()

MAX_SUITE_CHARS = 512_000
MAX_MODELS = 8
POLL_S = 0.25
HEARTBEAT_S = 15.0
NO_FILES = ("uploaded suites cannot read other files (data files, file:// references); "
            "put the cases inline")


# -- the server's side: jobs, models, suites ---------------------------------------------

def jobs(request: Request) -> CompareJobs:
    state = request.app.state
    with _state_lock:
        if getattr(state, "compare_jobs", None) is None:
            state.compare_jobs = CompareJobs(get_pool(request))
    return state.compare_jobs


def runner_models(request: Request) -> dict[str, str]:
    """Offered name → the name the runner loads it by. A route picks a model per request,
    so it is left out (compare its members); an alias compares its one model."""
    names = _names(request)
    out = {}
    for m in offered_models(request):
        if m["kind"] == "route":
            continue
        try:
            candidates = names.resolve(m["name"]).candidates
        except OpenpickError:
            continue
        if len(candidates) == 1:
            out[m["name"]] = candidates[0].spec
    return out


def uploads_dir() -> Path:
    from openpick.paths import data_dir

    return data_dir() / "ui-suites"


def _benchmarks() -> list[str]:
    from openpick.evals import benchmarks

    return benchmarks.names()


def bundled() -> list[dict[str, Any]]:
    from openpick.evals.suite import bundled_suites, load_suite

    out = []
    for name in bundled_suites():
        try:
            s = load_suite(name)
        except OpenpickError:
            continue
        out.append({"name": name, "cases": len(s), "description": s.description,
                    "kind": "bundled"})
    return out + [{"name": n, "cases": None, "description": "standard benchmark",
                   "kind": "benchmark"} for n in _benchmarks()]


def _suite_source(run) -> str | None:
    """Where this page may load a stored run's suite from, or None (a user's own file)."""
    from openpick.evals.suite import BUNDLED_DIR

    if run.suite_path is None:
        return run.suite if run.suite in _benchmarks() else None
    if under(run.suite_path, BUNDLED_DIR) or under(run.suite_path, uploads_dir()):
        return run.suite_path if Path(run.suite_path).is_file() else None
    return None


# -- suite text from the browser ---------------------------------------------------------

_CODE_CHECKS = {"python", "code", "javascript", "webhook"}
_SCHEMA_CHECKS = {"is-json", "contains-json"}


def _safe_filename(name: str | None) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name or "").stem).strip(".-")[:60]
    return (stem or "pasted-suite") + ".yaml"


def _fail(message: str, where: str, line: int | None) -> InvalidInput:
    return InvalidInput(message, path=where, line=line)


def _check_assertion(a: Any, where: str, line: int | None) -> None:
    from openpick.evals.suite.yamllines import LineDict

    line = a.line if isinstance(a, LineDict) and a.line else line
    if isinstance(a, str):
        kinds = {a: None}
    elif isinstance(a, dict):
        kinds = ({a["type"]: a.get("value")} if isinstance(a.get("type"), str)
                 else {k: v for k, v in a.items() if isinstance(k, str)})
    else:
        return
    for kind, value in kinds.items():
        base = kind.strip().lower().removeprefix("not-")
        if base in _CODE_CHECKS:
            raise _fail(f"{kind}: uploaded suites cannot run code on the server (python, "
                        "code, javascript, webhook checks); run this suite with "
                        "`openpick compare` instead", where, line)
        if base in _SCHEMA_CHECKS and isinstance(value, str):
            raise _fail(f"{kind}: {NO_FILES} (give the JSON schema inline)", where, line)


def _scan(node: Any, where: str, line: int | None) -> None:
    """Refuse what would read a file or run code, with its line."""
    from openpick.evals.suite.yamllines import LineDict

    if isinstance(node, LineDict):
        line = node.line or line
    if isinstance(node, dict):
        for k, v in node.items():
            kline = node.line_of(k) if isinstance(node, LineDict) else line
            if isinstance(k, str) and k.startswith("x-source") and v:
                raise _fail(f"{k}: {NO_FILES}", where, kline)
            if k == "assert" and isinstance(v, list):
                for a in v:
                    _check_assertion(a, where, kline)
            _scan(v, where, kline)
    elif isinstance(node, list):
        for item in node:
            _scan(item, where, line)
    elif isinstance(node, str) and node.lstrip().lower().startswith("file://"):
        raise _fail(f"{node.strip()[:80]}: {NO_FILES}", where, line)


def check_untrusted(text: str, where: str, empty: Path) -> None:
    """The text as written, then as converted to a native suite (a promptfoo config's
    checks become native ones), must neither read files nor run code."""
    from openpick.evals.suite import formats
    from openpick.evals.suite.yamllines import MAX_VALUES, YamlError, expanded_size, line_of, load

    try:
        doc = load(text)
    except YamlError as e:
        raise _fail(e.problem, where, e.line) from None
    if expanded_size(doc) > MAX_VALUES:
        raise _fail(f"more than {MAX_VALUES:,} values once YAML aliases are expanded",
                    where, 1)
    fmt = formats.detect(doc)
    if fmt is not None and fmt.name == "lm-eval":
        raise _fail("lm-eval tasks read their data from files; convert the task with "
                    "`openpick suite convert` and paste the result", where, 1)
    if fmt is None and isinstance(doc, dict) and "data" in doc:
        raise _fail(f"data: {NO_FILES}", where, line_of(doc, "data"))
    _scan(doc, where, 1)
    if fmt is not None:
        _scan(formats.to_native(doc, Path(where), empty), where, 1)


def parse_uploaded(text: str, filename: str | None, offered: set[str], *, keep: bool = True):
    """Check and parse suite text, and keep a copy when `keep`; returns (the copy's path or
    None, Suite). InvalidInput names the line, as `openpick compare` would for the file."""
    from openpick.evals.suite import parse_suite

    where = _safe_filename(filename)
    empty = uploads_dir() / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    check_untrusted(text, where, empty)
    suite = parse_suite(text, path=Path(where), base_dir=empty)
    bad = sorted(str(j) for j in suite.judge_models() if j is not None and j not in offered)
    if bad:
        raise InvalidInput(f"judge model {bad[0]!r} is not one this server offers", path=where)
    if not keep:
        return None, suite
    folder = uploads_dir() / hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / where
    if not saved.is_file():
        saved.write_text(text, encoding="utf-8")
    return saved, suite


def _load_named(name: str):
    from openpick.evals.suite import bundled_suites, load_suite

    if name not in bundled_suites() and name not in _benchmarks():
        raise NotFound(f"no bundled suite or benchmark named {name[:80]!r}; pick one of "
                       f"{', '.join(bundled_suites() + _benchmarks())}")
    return load_suite(name)


# -- endpoints -----------------------------------------------------------------------------

def _error(e: Exception) -> JSONResponse:
    status = 404 if isinstance(e, NotFound) else 400
    err = {"message": str(e), "type": type(e).__name__}
    if isinstance(e, OpenpickError):
        err.update(line=e.line, detail=e.message)
    return JSONResponse({"error": err}, status_code=status)


def _stopped_runs(request: Request, limit: int = 30) -> list[dict[str, Any]]:
    """Stored runs that did not finish and no job of ours is running, newest first."""
    from openpick.store.runs import RunStore

    try:
        store = RunStore()
        rows = store.list(limit=limit)
    except OpenpickError:
        return []
    busy = jobs(request).running_runs()
    out = []
    for r in rows:
        if r.status == "finished" or r.id in busy:
            continue
        try:
            resumable = _suite_source(store.get(r.id)) is not None
        except OpenpickError:
            resumable = False
        out.append({"id": r.id, "suite": r.suite, "status": r.status, "models": r.models,
                    "done": r.done, "planned": r.planned, "resumable": resumable,
                    "created_at": r.created_at})
    return out


@router.get("/ui/compare", response_class=HTMLResponse)
def compare_page(request: Request, model: list[str] | None = Query(None),  # noqa: B008
                 suite: str | None = None):
    models = runner_models(request)
    wanted = [m for m in (model or []) if m in models]
    suites = bundled()
    names = [s["name"] for s in suites]
    current = suite if suite in names else ("demo" if "demo" in names else
                                            (names[0] if names else None))
    return page(request, "compare.html", nav="compare", models=list(models), selected=wanted,
                suites=suites, current_suite=current,
                jobs=[j.snapshot() for j in jobs(request).jobs()],
                stopped=_stopped_runs(request))


class SuiteIn(BaseModel):
    suite: str | None = Field(None, max_length=200)          # a bundled suite or benchmark
    suite_text: str | None = Field(None, max_length=MAX_SUITE_CHARS)
    suite_filename: str | None = Field(None, max_length=200)


class CompareIn(SuiteIn):
    models: list[str] = Field(min_length=1, max_length=MAX_MODELS)
    repeats: int = Field(1, ge=1, le=20)
    limit: int | None = Field(None, ge=1, le=1_000_000)


def _suite(request: Request, body: SuiteIn, keep: bool = True):
    """(what the job loads, the Suite) for the body's suite."""
    if body.suite_text is not None and body.suite_text.strip():
        offered = set(runner_models(request).values())
        saved, suite = parse_uploaded(body.suite_text, body.suite_filename, offered, keep=keep)
        return str(saved), suite
    if body.suite:
        return body.suite, _load_named(body.suite)
    raise InvalidInput("pick a suite, or paste or upload one")


@router.post("/ui/api/compare/check")
def check_suite(request: Request, body: SuiteIn):
    """Validate a suite without running it: its name and case count, or the error."""
    try:
        _, suite = _suite(request, body, keep=False)
    except OpenpickError as e:
        return _error(e)
    return {"name": suite.name, "cases": len(suite), "description": suite.description,
            "variants": [v.id for v in suite.variants]}


@router.post("/ui/api/compare")
def start_compare(request: Request, body: CompareIn):
    try:
        offered = runner_models(request)
        unknown = [m for m in body.models if m not in offered]
        if unknown:
            raise NotFound(f"unknown model {unknown[0][:80]!r}; pick one of the models this "
                           "server offers")
        if len(set(body.models)) != len(body.models):
            raise InvalidInput("a model is picked twice")
        source, suite = _suite(request, body)
        if len(suite) == 0:
            raise InvalidInput(f"suite {suite.name!r} has no cases")
        if body.limit is not None:
            suite = suite.head(body.limit)
        options = RunOptions(repeats=body.repeats, limit=body.limit)
        job = jobs(request).submit(JobSpec(
            suite=source, models=[offered[m] for m in body.models], options=options,
            label=suite.name, per_model=len(suite.items()) * body.repeats))
    except OpenpickError as e:
        return _error(e)
    return job.snapshot()


@router.post("/ui/api/compare/runs/{run_id}/resume")
def resume_run(request: Request, run_id: str):
    from openpick.store.runs import RunStore

    try:
        run = RunStore().get(run_id)
        spec = resume_spec(run, _suite_source, set(runner_models(request).values()))
        job = jobs(request).submit(spec)
    except OpenpickError as e:
        return _error(e)
    return job.snapshot()


@router.get("/ui/api/compare/jobs")
def list_jobs(request: Request):
    return {"jobs": [j.snapshot() for j in jobs(request).jobs()],
            "stopped": _stopped_runs(request)}


def _job(request: Request, job_id: str, *, stop: bool = False):
    try:
        manager = jobs(request)
        return (manager.stop(job_id) if stop else manager.get(job_id)).snapshot()
    except OpenpickError as e:
        return _error(e)


@router.get("/ui/api/compare/jobs/{job_id}")
def job_status(request: Request, job_id: str):
    return _job(request, job_id)


@router.post("/ui/api/compare/jobs/{job_id}/stop")
def stop_job(request: Request, job_id: str):
    """The job stops after the results in flight; its run can be resumed."""
    return _job(request, job_id, stop=True)


@router.get("/ui/api/compare/jobs/{job_id}/events")
async def job_events(request: Request, job_id: str):
    """SSE: `progress` whenever the job changed, then `end` once it stopped running.
    Leaving (the tab closed) only ends the watching, never the job."""
    from openpick.server.openai_api import EventStream
    from openpick.server.ui.stream import sse

    try:
        job = jobs(request).get(job_id)
    except OpenpickError as e:
        return _error(e)

    async def body():
        seen, quiet = -1, 0.0
        while True:
            snap = job.snapshot()
            if snap["version"] != seen:
                seen, quiet = snap["version"], 0.0
                yield sse("progress", snap)
            if not job.active:
                yield sse("end", snap)
                return
            if quiet >= HEARTBEAT_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_S)
            quiet += POLL_S

    return EventStream(body(), on_close=lambda: None)
