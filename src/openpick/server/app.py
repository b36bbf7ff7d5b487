"""The FastAPI app: the OpenAI-compatible API, health and metrics, login, and the web UI.

One process serves it all on one engine pool. Shared state lives on `app.state.openpick`
(a `ServerState`): settings, the pool, the model names, metrics. UI routes can run a model
the same way the API does:

    state = request.app.state.openpick
    run = state.run("smollm2-135m", Request.chat("hi"))   # NotFound for unknown names
    await run.start()                                     # picks the model (routes fall back)
    async for delta in run.deltas(): ...                  # leaving early stops the model
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from openpick import __version__ as VERSION
from openpick.engines.base import Request as EngineRequest
from openpick.engines.pool import ModelPool
from openpick.errors import OpenpickError
from openpick.server import auth, openai_api
from openpick.server.auth import ApiError, error_body, is_authorized, require_api_key
from openpick.server.metrics import Metrics
from openpick.server.routes import ModelNames, Run, generation_executor
from openpick.server.settings import Settings

log = logging.getLogger("openpick.server")


@dataclass
class ServerState:
    settings: Settings
    pool: ModelPool
    models: ModelNames
    metrics: Metrics
    executor: ThreadPoolExecutor | None = None  # where engines run (they block)
    sessions: auth.Sessions = field(default_factory=auth.Sessions)
    active: int = 0  # requests generating now (event-loop thread only)
    draining: bool = False  # shutdown has begun: new generations get 503

    def run(self, name: str, request: EngineRequest) -> Run:
        """A request on a model name, route or alias; raises NotFound for unknown names."""
        return Run(self.pool, self.models.resolve(name), request,
                   on_fallback=lambda r, m: self.metrics.fallbacks.labels(r, m).inc(),
                   executor=self.executor)


def get_state(request: Request) -> ServerState:
    return request.app.state.openpick


# -- middleware (plain ASGI: no per-request task or buffering) --------------------------------

class BodyLimit:
    """413 for bodies over the limit, by Content-Length or by counting what arrives."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope["headers"]:
            if k == b"content-length":
                if not v.isdigit() or int(v) > self.max_bytes:
                    return await _send_json(send, 413, self._message())
        seen = 0

        async def limited():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI re-raises HTTPExceptions from body reading; our handler shapes it.
                    raise StarletteHTTPException(413, self._message()["error"]["message"])
            return msg

        return await self.app(scope, limited, send)

    def _message(self) -> dict:
        return error_body(f"request body over {self.max_bytes} bytes", code="body_too_large")


class OriginCheck:
    """Refuse state-changing requests sent by another site's page (CSRF, also without a key)."""

    SAFE = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, app, allowed_origins: list[str]):
        self.app, self.allowed = app, set(allowed_origins)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in self.SAFE:
            headers = dict(scope["headers"])
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if origin and origin not in self.allowed and urlsplit(origin).netloc != host:
                return await _send_json(send, 403, error_body(
                    f"cross-origin request from {origin[:100]} refused", code="bad_origin"))
        return await self.app(scope, receive, send)


async def _send_json(send, status: int, body: dict) -> None:
    resp = JSONResponse(body, status_code=status)
    await send({"type": "http.response.start", "status": status, "headers": resp.raw_headers})
    await send({"type": "http.response.body", "body": resp.body})


# -- errors in OpenAI's shape ------------------------------------------------------------------

def _endpoint(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "other")


def _count(request: Request, status: int, kind: str, counted: bool = False) -> None:
    state = getattr(request.app.state, "openpick", None)
    if state is None:
        return
    ep = _endpoint(request)
    if not counted and ep.startswith("/v1/"):
        state.metrics.requests.labels(ep, "unknown", str(status)).inc()
    state.metrics.errors.labels(ep, kind).inc()


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    _count(request, exc.status, exc.code or exc.type, exc.counted)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        param, msg = None, f"the body is not valid JSON: {first.get('ctx', {}).get('error', '')}"
    else:
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        param = ".".join(loc) or None
        msg = first.get("msg", "invalid request") + (f" ({param})" if param else "")
    _count(request, 400, "invalid_request")
    return JSONResponse(error_body(msg, param=param), status_code=400)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    _count(request, exc.status_code, f"http_{exc.status_code}")
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return JSONResponse(error_body(str(exc.detail), kind), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _openpick_error(request: Request, exc: OpenpickError) -> JSONResponse:
    # A problem on the server's side (its openpick.toml, a model file): say what, as a 503.
    _count(request, 503, "server_config")
    return JSONResponse(error_body(str(exc), "server_error", code="server_config"),
                        status_code=503)


async def _login_required(request: Request, exc: auth.LoginRequired) -> Response:
    return auth.login_redirect(exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    _count(request, 500, "internal")
    return JSONResponse(error_body("internal server error; see the server log", "server_error"),
                        status_code=500)


# -- the app -------------------------------------------------------------------------------------

def create_app(settings: Settings | None = None, *, pool: ModelPool | None = None) -> FastAPI:
    settings = settings or Settings()
    pool = pool if pool is not None else ModelPool(settings.memory_budget)
    state = ServerState(settings=settings, pool=pool, models=ModelNames(settings.models),
                        metrics=Metrics(pool),
                        executor=generation_executor(settings.max_concurrent * 2))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.draining = False  # an app may be started again after a shutdown (tests do)
        yield
        state.draining = True
        jobs = getattr(state, "compare_jobs", None)
        if jobs is not None:    # browser comparisons stop (and save) while their models live
            jobs.shutdown()
            state.compare_jobs = None   # a restarted app starts a fresh queue
        pool.close()

    app = FastAPI(title="openpick", version=VERSION, lifespan=lifespan,
                  description="OpenAI-compatible API over local open models.")
    app.state.openpick = state
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(auth.LoginRequired, _login_required)
    app.add_exception_handler(OpenpickError, _openpick_error)
    app.add_exception_handler(Exception, _unexpected)

    app.include_router(openai_api.router)
    app.add_api_route("/health", _health, methods=["GET"], tags=["server"])
    app.add_api_route("/metrics", _metrics, methods=["GET"], tags=["server"],
                      dependencies=[Depends(require_api_key)],
                      response_class=Response)
    ui = _ui_router()
    if ui is not None:
        app.include_router(ui)
    app.include_router(auth.router)  # after the UI, whose own /login page wins if it has one

    # Added last = outermost: the host check first, then size, then origin, then CORS.
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(OriginCheck, allowed_origins=settings.cors_origins)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    hosts = settings.hosts()
    if hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    return app


def _ui_router():
    """Helper UI routes when that module exists; a broken UI module still fails loudly."""
    try:
        from openpick.server import ui
    except ModuleNotFoundError as e:
        if e.name == "openpick.server.ui":
            return None
        raise
    return getattr(ui, "router", None)


async def _health(request: Request) -> JSONResponse:
    """Readiness and the loaded models (names only for callers without the key)."""
    state = get_state(request)
    body: dict = {"status": "shutting_down" if state.draining else "ok", "version": VERSION}
    if is_authorized(request):
        workers = {w["model"]: w for w in state.pool.workers()}
        body["loaded"] = [{"model": k, "bytes": b, **({"worker_pid": workers[k]["pid"],
                                                       "worker_restarts": workers[k]["restarts"]}
                                                      if k in workers else {})}
                          for k, b in state.pool.loaded()]
        body["active_requests"] = state.active
    return JSONResponse(body, status_code=503 if state.draining else 200)


async def _metrics(request: Request) -> Response:
    data, ctype = get_state(request).metrics.render()
    return Response(data, media_type=ctype)


# -- running -------------------------------------------------------------------------------------

def _uvicorn_config(app: FastAPI, settings: Settings, **kw):
    import uvicorn

    return uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="on",
                          timeout_graceful_shutdown=max(settings.shutdown_grace_s, 0.1),
                          log_level=kw.pop("log_level", "info"), **kw)


def _draining_server(app: FastAPI, config):
    """A uvicorn server that tells the app when shutdown begins (new work gets 503)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            app.state.openpick.draining = True
            super().handle_exit(sig, frame)

    return Server(config)


def serve(settings: Settings, *, pool: ModelPool | None = None, log_level: str = "info") -> None:
    """Run the server in the foreground until Ctrl-C / SIGTERM (then streams get the grace)."""
    settings.check()
    ModelNames(settings.models).names()  # a broken openpick.toml stops us here, in one line
    app = create_app(settings, pool=pool)
    _draining_server(app, _uvicorn_config(app, settings, log_level=log_level)).run()


@dataclass
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    app: FastAPI
    server: object
    thread: threading.Thread

    def stop(self, timeout: float = 30) -> None:
        self.app.state.openpick.draining = True
        self.server.should_exit = True
        self.thread.join(timeout)


@contextmanager
def serve_in_thread(settings: Settings | None = None, *, pool: ModelPool | None = None,
                    app: FastAPI | None = None, timeout: float = 30) -> Iterator[RunningServer]:
    """A real uvicorn server in a background thread (port 0 = a free one); for tests and
    benchmarks. Stops, with the shutdown grace, when the block ends."""
    settings = settings or Settings(port=0)
    settings.check()
    app = app or create_app(settings, pool=pool)
    server = _draining_server(app, _uvicorn_config(app, settings, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True, name="openpick-server")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the server did not start (is the port free?)")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    running = RunningServer(f"http://{host}:{port}", app, server, thread)
    try:
        yield running
    finally:
        running.stop(timeout + settings.shutdown_grace_s)
