"""What every UI page shares with the server: login, the models offered, the pool, runs.

The server app (openpick.server.app) keeps its pool, model names and settings in
`app.state.openpick`; mounted on a bare FastAPI app, the UI makes its own pool and offers
the installed models. Requests name models; a name must be one of the models this server
offers, so no request ever reaches the file system.
"""

from __future__ import annotations

import threading

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from openpick.engines.base import Request as GenRequest
from openpick.engines.base import DEFAULT_SYSTEM, Sampling
from openpick.errors import InvalidInput, NotFound
from openpick.server.routes import Run
from openpick.server.sampling import FIELDS, MaxTokens, Seed, Temperature, TopP

MAX_TOKENS_CAP = 4096        # when the app's settings give none
MAX_MESSAGE_CHARS = 32_000

_state_lock = threading.Lock()


def _server(request: Request):
    return getattr(request.app.state, "openpick", None)


def login(request: Request) -> None:
    """With an API key set, every UI route needs a login session (the server's auth decides)."""
    if _server(request) is not None:
        from openpick.server.auth import require_login

        require_login(request)


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
    settings = getattr(_server(request), "settings", None)
    return int(getattr(settings, "max_tokens_cap", None) or MAX_TOKENS_CAP)


def _names(request: Request):
    """The server's ModelNames (embedded, openpick.toml, --model, routes, aliases)."""
    names = getattr(_server(request), "models", None)
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


def run(request: Request, name: str, req: GenRequest) -> Run:
    """The API's route runner for an offered name (a route falls back, times out, as there)."""
    server = _server(request)
    if server is not None and hasattr(server, "run"):
        return server.run(name, req)
    return Run(get_pool(request), _names(request).resolve(name), req)


def ui_error(e: Exception) -> JSONResponse:
    status = 404 if isinstance(e, NotFound) else 400
    return JSONResponse({"error": {"message": str(e), "type": type(e).__name__}}, status_code=status)


# `openpick ask`'s system prompt and sampling defaults (engines.base's DEFAULT_SYSTEM and
# Sampling's): the chat page answers a question as `ask` does unless the user changes a setting.
_SAMPLING_DEFAULTS = {k: Sampling.model_fields[k].default
                      for k in ("max_tokens", "temperature", "top_p", "seed")}


def ask_defaults() -> dict:
    """The generation defaults the chat and arena pages show and start with (as `ask`)."""
    return {"system": DEFAULT_SYSTEM, **_SAMPLING_DEFAULTS,
            "template": "the model's own chat template (as ask without --raw)"}


class GenSettings(BaseModel):
    """The chat's and arena's settings: Sampling's parameters, bounds and defaults."""

    max_tokens: MaxTokens = _SAMPLING_DEFAULTS["max_tokens"]
    temperature: Temperature = _SAMPLING_DEFAULTS["temperature"]
    top_p: TopP = _SAMPLING_DEFAULTS["top_p"]
    seed: Seed = _SAMPLING_DEFAULTS["seed"]

    def sampling(self, cap: int) -> Sampling:
        """As the engine's Sampling, under the server's max_tokens cap."""
        if self.max_tokens > cap:
            raise InvalidInput(f"max_tokens is capped at {cap}")
        return Sampling(**self.model_dump(include=set(FIELDS)))
