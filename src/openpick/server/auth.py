"""Who may call the server: a Bearer API key for the API, a session cookie for the UI.

With no key set (a loopback server) everyone on this machine may call it. With a key, the
API wants `Authorization: Bearer KEY` (or a UI session cookie), and UI pages want a login:
POST /login with the key sets an HttpOnly, SameSite=Strict session cookie.

For UI routes: `Depends(require_login)` redirects to /login when a key is set and the
browser has no session; `Depends(require_api_key)` answers 401 in OpenAI's error shape.
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import threading
from collections import OrderedDict
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

COOKIE = "openpick_session"
MAX_SESSIONS = 1000


class ApiError(Exception):
    """An error answered in OpenAI's shape: {"error": {message, type, param, code}}."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers
        self.counted = False  # True once the request metrics have it

    def body(self) -> dict:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(message: str, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class LoginRequired(Exception):
    def __init__(self, next_path: str):
        self.next_path = next_path


class Sessions:
    """UI sessions in memory (a restart logs everyone out), oldest dropped past the cap."""

    def __init__(self):
        self._tokens: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def new(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = None
            while len(self._tokens) > MAX_SESSIONS:
                self._tokens.popitem(last=False)
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            return token in self._tokens

    def drop(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)


def _state(request: Request):
    return request.app.state.openpick


def key_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def is_authorized(request: Request) -> bool:
    """True when no key is set, or the request carries the key or a UI session."""
    state = _state(request)
    key = state.settings.api_key
    if not key:
        return True
    return key_matches(key, bearer(request)) or state.sessions.valid(request.cookies.get(COOKIE))


def require_api_key(request: Request) -> None:
    if not is_authorized(request):
        raise ApiError(401, "Missing or incorrect API key: send 'Authorization: Bearer KEY'",
                       code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


def require_login(request: Request) -> None:
    """For UI pages: without a session (when a key is set) go to the login page."""
    if not is_authorized(request):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)


def login_redirect(exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)


def safe_next(path: str | None) -> str:
    """Only local paths: no scheme, no host, no protocol-relative '//' (open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


router = APIRouter(include_in_schema=False)

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>openpick: log in</title><meta name="viewport" content="width=device-width">
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto}}
input{{width:100%;padding:.4rem;margin:.4rem 0}}.err{{color:#b00}}</style></head><body>
<h1>openpick</h1><p>This server needs its API key.</p>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>API key <input type="password" name="key" autocomplete="current-password" autofocus>
</label><button type="submit">Log in</button></form></body></html>"""


def login_page(next_path: str = "/", error: str | None = None, status: int = 200) -> HTMLResponse:
    err = f'<p class="err">{html.escape(error)}</p>' if error else ""
    return HTMLResponse(LOGIN_PAGE.format(error=err, next=html.escape(safe_next(next_path))),
                        status_code=status)


@router.get("/login")
async def get_login(request: Request, next: str = "/") -> Response:
    return login_page(next)


async def _form(request: Request) -> dict[str, str]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}
    pairs = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=10)
    return {k: v[0] for k, v in pairs.items()}


@router.post("/login")
async def post_login(request: Request) -> Response:
    state = _state(request)
    form = await _form(request)
    target = safe_next(form.get("next"))
    key = state.settings.api_key
    if not key:
        return RedirectResponse(target, status_code=303)
    if not key_matches(key, form.get("key")):
        return login_page(target, "That is not the server's API key.", status=401)
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(COOKIE, state.sessions.new(), httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/")
    return resp


@router.post("/logout")
async def post_logout(request: Request) -> Response:
    _state(request).sessions.drop(request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp
