"""The web UI: server-rendered pages (Jinja) plus the few JSON/SSE endpoints they call.

Pages: catalog (filters → model pages with the openness card, lineage, results), chat
(conversations in SQLite, a model picker, switching keeps the history), arena (blind A/B
vote, Bradley-Terry ratings) and results (runs, leaderboards, charts, case × model matrix).
No build step: plain JS and CSS in static/, plotly.js served from the plotly package.

Model output is untrusted text. Templates autoescape everything; markdown is rendered with
raw HTML disabled and the result passed through an allow-list sanitizer (nh3); the browser
side inserts model text with textContent, and the sanitized markdown through a second
allow-list walker (never innerHTML). Requests name models; a name must be one of the
models this server offers, so no request ever reaches the file system.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel, Field

from openpick.engines.base import Engine, Message, Result, Timings, Usage
from openpick.engines.base import Request as GenRequest
from openpick.errors import InvalidInput, NotFound, OpenpickError
from openpick.server import arena as arena_mod



def _server(request: Request):
    return getattr(request.app.state, "openpick", None)


def login(request: Request) -> None:
    """With an API key set, every UI route needs a login session (the server's auth decides)."""
    if _server(request) is not None:
        from openpick.server.auth import require_login

        require_login(request)


router = APIRouter(include_in_schema=False, dependencies=[Depends(login)])
log = logging.getLogger("openpick.server.ui")

MAX_TOKENS_CAP = 4096        # when the app's settings give none
MAX_MESSAGE_CHARS = 32_000


# --- rendering ------------------------------------------------------------------------

_MD_TAGS = {"p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
            "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th",
            "td", "del", "s"}


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    # commonmark with raw HTML off: "<script>" in the source becomes text, not a tag.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str | None) -> Markup:
    """Model text → safe HTML: markdown without raw HTML, then an allow-list sanitizer."""
    import nh3

    html = _markdown().render(text or "")
    clean = nh3.clean(html, tags=_MD_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)


@lru_cache(maxsize=1)
def _env() -> Environment:
    from openpick.catalog.memory import human_bytes, human_params
    from openpick.report import interval, money, mof, pct, rate, seconds

    env = Environment(loader=PackageLoader("openpick.server", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(markdown=render_markdown, params=human_params, bytes=human_bytes,
                       pct=pct, money=money, seconds=seconds, rate=rate, mof=mof,
                       tojson_safe=_json_attr, url=safe_url)
    env.globals.update(interval=interval, qs=_qs)
    return env


def safe_url(url: str | None) -> str | None:
    """Only http(s) links from records become hrefs (a record may come from a model card)."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def _json_attr(value: Any) -> str:
    """JSON for a data-* attribute (autoescape then quotes it for the attribute)."""
    return json.dumps(value)


def _qs(params: dict, **changes) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", [])}, doseq=True)


def page(request: Request, template: str, status: int = 200, **ctx) -> HTMLResponse:
    html = _env().get_template(template).render(request=request, nav=ctx.pop("nav", ""), **ctx)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return page(request, "error.html", status=status, message=message)


# --- static files: a fixed table, so a request path never reaches the file system -----

_STATIC_DIR = Path(__file__).with_name("static")
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@lru_cache(maxsize=1)
def _static_files() -> dict[str, tuple[Path, str]]:
    files = {p.name: (p, _TYPES[p.suffix]) for p in _STATIC_DIR.iterdir() if p.suffix in _TYPES}
    plotly_js = resources.files("plotly") / "package_data" / "plotly.min.js"
    if plotly_js.is_file():
        files["plotly.min.js"] = (Path(str(plotly_js)), _TYPES[".js"])
    return files


@router.get("/ui/static/{name}")
def static(name: str) -> Response:
    entry = _static_files().get(name)
    if entry is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(entry[0], media_type=entry[1], headers={"Cache-Control": "max-age=3600"})


# --- shared state: the server's pool, model names and settings ----------------------
# The server app (openpick.server.app) keeps them in `app.state.openpick`; mounted on a
# bare FastAPI app (tests), the UI makes its own pool and offers the installed models.

_state_lock = threading.Lock()


def get_pool(request: Request):
    server = _server(request)
    if server is not None and getattr(server, "pool", None) is not None:
        return server.pool
    state = request.app.state
    with _state_lock:
        if getattr(state, "ui_pool", None) is None:
            from openpick.engines.pool import ModelPool

            state.ui_pool = ModelPool()
    return state.ui_pool


def max_tokens_cap(request: Request) -> int:
    server = _server(request)
    settings = getattr(server, "settings", None)
    return int(getattr(settings, "max_tokens_cap", None) or MAX_TOKENS_CAP)


def _names(request: Request):
    """The server's ModelNames (embedded, openpick.toml, --model, routes, aliases)."""
    server = _server(request)
    names = getattr(server, "models", None)
    if names is None:
        from openpick.server.routes import ModelNames

        with _state_lock:
            names = getattr(request.app.state, "ui_names", None)
            if names is None:
                names = request.app.state.ui_names = ModelNames()
    return names


def offered_models(request: Request) -> list[dict]:
    """Models a user may pick: every name the server answers to, less local models whose
    files are not installed. `app.state.ui_models` (a list of names) narrows it (tests)."""
    from openpick.engines.local import local_models

    local = {m.name: m for m in local_models()}
    only = getattr(request.app.state, "ui_models", None)
    out = []
    for name, kind in _names(request).names():
        m = local.get(name)
        if m is not None and m.status == "missing":
            continue
        if only is not None and name not in only:
            continue
        out.append({"name": name, "kind": kind, "record_id": m.record_id if m else None})
    return out


def check_model(request: Request, name: str) -> str:
    if name not in {m["name"] for m in offered_models(request)}:
        raise NotFound(f"unknown model {name!r}; pick one of the models this server offers")
    return name


def candidates(request: Request, name: str) -> list[tuple[str, str]]:
    """(name, spec) to try in order: one for a model, several for a fallback route."""
    return [(c.name, c.spec) for c in _names(request).resolve(name).candidates]


def _ui_error(e: Exception) -> JSONResponse:
    status = 404 if isinstance(e, NotFound) else 400
    return JSONResponse({"error": {"message": str(e), "type": type(e).__name__}}, status_code=status)


# --- streaming a generation to the browser (SSE over fetch) -------------------------

def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _partial_result(engine: Engine, parts: list[str], start: float, first: float | None) -> Result:
    """What a stopped generation produced, timed like a finished one."""
    end = time.perf_counter()
    return Result(text="".join(parts), finish_reason="stop", usage=Usage(completion_tokens=len(parts)),
                  timings=Timings(ttft_s=None if first is None else first - start, total_s=end - start),
                  model=engine.identity())


def _generate(pool, cands: list[tuple[str, str]], req: GenRequest, cancel: threading.Event,
              put: Callable[[tuple[str, Any]], None], on_done: Callable[[Result, bool], None]) -> None:
    """Worker thread: stream deltas through `put`; stop early when `cancel` is set. A route's
    next model is tried when one fails before its first token."""
    try:
        for i, (name, spec) in enumerate(cands):
            try:
                result, stopped = _attempt(pool, name, spec, req, cancel, put)
                break
            except _BeforeFirstToken as e:
                if i + 1 == len(cands):
                    raise e.__cause__ from None
        on_done(result, stopped)
        put(("done", {"model": result.model.name, "engine": result.model.engine,
                      "finish_reason": "stopped" if stopped else result.finish_reason,
                      "usage": {"prompt_tokens": result.usage.prompt_tokens,
                                "completion_tokens": result.usage.completion_tokens},
                      "timings": result.timings.model_dump(), "html": str(render_markdown(result.text))}))
    except OpenpickError as e:
        log.warning("UI generation failed: %s", e)
        put(("error", {"message": str(e)}))
    except Exception as e:  # an engine crash must end the stream, not hang the page
        log.exception("UI generation crashed")
        put(("error", {"message": f"{type(e).__name__}: {e}"}))


class _BeforeFirstToken(Exception):
    pass


def _attempt(pool, name: str, spec: str, req: GenRequest, cancel: threading.Event,
             put: Callable) -> tuple[Result, bool]:
    parts: list[str] = []
    try:
        with pool.use(spec) as engine:
            stream = engine.stream(req)
            it = iter(stream)
            start, first = time.perf_counter(), None
            try:
                for delta in it:
                    if delta.text:
                        if first is None:
                            first = time.perf_counter()
                            put(("model", {"model": name}))
                        parts.append(delta.text)
                        put(("delta", {"text": delta.text}))
                    if cancel.is_set():
                        break
            finally:
                it.close()  # closes the engine's generator: a local model stops decoding
            stopped = stream.result is None
            result = stream.result or _partial_result(engine, parts, start, first)
    except Exception as e:
        if parts:
            raise
        raise _BeforeFirstToken() from e
    # Answers record the name the user picked (or the route member that answered).
    return result.model_copy(update={"model": result.model.model_copy(update={"name": name})}), stopped


async def stream_generation(pool, cands: list[tuple[str, str]], req: GenRequest, first: dict | None,
                            on_done: Callable[[Result, bool], None], *,
                            reveal: bool = True) -> AsyncIterator[str]:
    """SSE events meta?, model, delta*, then done or error. With reveal=False (the blind
    arena) nothing names the model: no model event, no engine, no engine error text."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    cancel = threading.Event()

    def put(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed (server shutting down): nobody is listening
            cancel.set()

    worker = threading.Thread(target=_generate, args=(pool, cands, req, cancel, put, on_done),
                              name="openpick-ui-generate", daemon=True)
    try:
        if first:
            yield sse("meta", first)
        worker.start()
        while True:
            kind, data = await queue.get()
            if not reveal:
                if kind == "model":
                    continue
                if kind == "done":
                    data = {k: v for k, v in data.items() if k not in ("model", "engine")}
                if kind == "error":
                    data = {"message": "this model failed to answer (its name stays hidden "
                                       "until the vote; the server log has the error)"}
            yield sse(kind, data)
            if kind in ("done", "error"):
                break
    finally:
        # The browser pressed stop or went away: the worker stops at its next token.
        cancel.set()


def _sse_response(gen: AsyncIterator[str]) -> Response:
    from fastapi.responses import StreamingResponse

    return StreamingResponse(gen, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class GenSettings(BaseModel):
    max_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int | None = None


# --- index ---------------------------------------------------------------------------

@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/catalog", status_code=307)


@router.get("/ui")
@router.get("/ui/")
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/catalog", status_code=307)


# --- catalog -------------------------------------------------------------------------

FILTERS = ("q", "task", "domain", "language", "license", "mof", "size", "fits", "sort")


def _facets(records) -> dict[str, list[str]]:
    def values(attr):
        return sorted({v for r in records for v in getattr(r, attr)}, key=str.lower)

    return {"task": values("tasks"), "domain": values("domains"), "language": values("languages"),
            "license": sorted({r.license for r in records}, key=str.lower)}


@router.get("/ui/catalog", response_class=HTMLResponse)
def catalog_page(request: Request):
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
    from openpick.store.db import connect

    conn = connect()
    try:
        rows = conn.execute("SELECT id, suite, created_at, info FROM runs ORDER BY created_at DESC "
                            "LIMIT 200").fetchall()
        out = []
        for r in rows:
            info = json.loads(r["info"])
            for m in info.get("models", []):
                if (m.get("record_id") or "").lower() != record_id.lower():
                    continue
                n, passed = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(passed = 1), 0) FROM case_results "
                    "WHERE run_id = ? AND model = ?", (r["id"], m["name"])).fetchone()
                out.append({"run": r["id"], "suite": r["suite"], "created_at": r["created_at"],
                            "model": m["name"], "n": n, "pass_rate": passed / n if n else None})
        return out
    finally:
        conn.close()


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
    local = [m for m in offered_models(request) if (m["record_id"] or "").lower() == rec.id.lower()]
    try:
        measured = _measured(rec.id)
    except Exception:  # a store from a newer version must not break the catalog page
        measured = []
    return page(request, "model.html", nav="catalog", rec=rec, o=report, tree=tree,
                known={r.id.lower() for r in records}, local=local, measured=measured,
                memory=memory.estimate_bytes(rec.parameters, rec.features))


# --- chat ----------------------------------------------------------------------------

def _conversations():
    from openpick.store.conversations import ConversationStore

    return ConversationStore()


@router.get("/ui/chat", response_class=HTMLResponse)
@router.get("/ui/chat/{cid}", response_class=HTMLResponse)
def chat_page(request: Request, cid: str | None = None, model: str | None = None):
    store = _conversations()
    convo = None
    if cid:
        try:
            convo = store.get(cid)
        except NotFound as e:
            return error_page(request, 404, str(e))
    models = offered_models(request)
    names = [m["name"] for m in models]
    current = model if model in names else None
    system = ""
    if convo:
        answered = [m.model for m in convo.messages if m.role == "assistant" and m.model]
        if current is None and answered and answered[-1] in names:
            current = answered[-1]
        systems = [m.content for m in convo.messages if m.role == "system"]
        system = systems[-1] if systems else ""
    current = current or (names[0] if names else None)
    return page(request, "chat.html", nav="chat", convo=convo, conversations=store.list(100),
                models=models, current=current, system=system, cap=max_tokens_cap(request))


class ChatIn(GenSettings):
    conversation_id: str | None = Field(None, max_length=64)
    model: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    system: str | None = Field(None, max_length=MAX_MESSAGE_CHARS)


def _history(convo) -> tuple[str | None, list[Message]]:
    """The latest system prompt and the user/assistant turns, in order."""
    system, turns = None, []
    for m in convo.messages:
        if m.role == "system":
            system = m.content or None
        else:
            turns.append(Message(role=m.role, content=m.content))
    return system, turns


@router.post("/ui/api/chat/stream")
def chat_stream(request: Request, body: ChatIn):
    try:
        check_model(request, body.model)
        cands = candidates(request, body.model)
        if body.max_tokens > max_tokens_cap(request):
            raise InvalidInput(f"max_tokens is capped at {max_tokens_cap(request)}")
        store = _conversations()
        if body.conversation_id:
            convo = store.get(body.conversation_id)
        else:
            cid = store.create()
            store.save(cid, body.message.strip().splitlines()[0][:60])
            convo = store.get(cid)
    except OpenpickError as e:
        return _ui_error(e)
    system, turns = _history(convo)
    wanted = (body.system or "").strip() or None
    if wanted != system:
        # A changed system prompt is kept as its own turn, so the record shows when it changed.
        store.add(convo.id, "system", wanted or "")
        system = wanted
    msgs = ([Message(role="system", content=system)] if system else []) + turns
    msgs.append(Message(role="user", content=body.message))
    req = GenRequest(messages=msgs, max_tokens=body.max_tokens, temperature=body.temperature,
                     top_p=body.top_p, seed=body.seed)
    cid, text = convo.id, body.message

    def on_done(result: Result, stopped: bool) -> None:
        # Worker thread: its own connection. Stored only once answered (or stopped), so a
        # failed turn leaves no orphan question.
        from openpick.store.conversations import ConversationStore
        from openpick.store.db import connect

        conn = connect()
        try:
            s = ConversationStore(conn)
            s.add(cid, "user", text)
            s.add(cid, "assistant", result.text, result)
        finally:
            conn.close()

    meta = {"conversation_id": cid, "model": body.model, "title": convo.title}
    return _sse_response(stream_generation(get_pool(request), cands, req, meta, on_done))


@router.get("/ui/api/models")
def api_models(request: Request):
    return {"models": offered_models(request)}


# --- arena ---------------------------------------------------------------------------

@router.get("/ui/arena", response_class=HTMLResponse)
def arena_page(request: Request):
    return page(request, "arena.html", nav="arena", models=offered_models(request),
                cap=max_tokens_cap(request))


class BattleIn(GenSettings):
    models: list[str] = Field(min_length=2, max_length=50)
    prompt: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    system: str | None = Field(None, max_length=MAX_MESSAGE_CHARS)


@router.post("/ui/api/arena/battles")
def arena_start(request: Request, body: BattleIn):
    try:
        for m in body.models:
            check_model(request, m)
        if body.max_tokens > max_tokens_cap(request):
            raise InvalidInput(f"max_tokens is capped at {max_tokens_cap(request)}")
        settings = body.model_dump(include={"max_tokens", "temperature", "top_p", "seed"})
        battle = arena_mod.ArenaStore().start(body.prompt, body.models, system=body.system,
                                              settings=settings)
    except OpenpickError as e:
        return _ui_error(e)
    return {"id": battle.id}  # the names stay on the server until the vote


@router.post("/ui/api/arena/battles/{bid}/stream/{side}")
def arena_stream(request: Request, bid: str, side: str):
    try:
        if side not in ("a", "b"):
            raise NotFound("side must be a or b")
        battle = arena_mod.ArenaStore().get(bid)
        cands = candidates(request, battle.model(side))
    except OpenpickError as e:
        return _ui_error(e)
    if battle.output_a is not None and side == "a" or battle.output_b is not None and side == "b":
        return _ui_error(InvalidInput("this side has already answered"))
    msgs = ([Message(role="system", content=battle.system)] if battle.system else [])
    msgs.append(Message(role="user", content=battle.prompt))
    req = GenRequest(messages=msgs, **battle.settings)

    def on_done(result: Result, stopped: bool) -> None:
        from openpick.store.db import connect

        conn = connect()
        try:
            arena_mod.ArenaStore(conn).save_output(bid, side, result.text)
        finally:
            conn.close()

    return _sse_response(stream_generation(get_pool(request), cands, req, None, on_done,
                                           reveal=False))


class VoteIn(BaseModel):
    winner: arena_mod.Winner


@router.post("/ui/api/arena/battles/{bid}/vote")
def arena_vote(bid: str, body: VoteIn):
    try:
        b = arena_mod.ArenaStore().vote(bid, body.winner)
    except OpenpickError as e:
        return _ui_error(e)
    return {"id": b.id, "winner": b.winner, "model_a": b.model_a, "model_b": b.model_b}


@router.get("/ui/arena/ratings", response_class=HTMLResponse)
def ratings_page(request: Request):
    r = arena_mod.ratings(arena_mod.ArenaStore().voted())
    names = [m.model for m in r.models]
    return page(request, "ratings.html", nav="ratings", r=r, names=names)


# --- results -------------------------------------------------------------------------

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
