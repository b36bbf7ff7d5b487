"""The web UI: server-rendered pages (Jinja) plus the few JSON/SSE endpoints they call.

Pages, a module each: catalog (filters → model pages with the openness card, lineage,
results), chat (conversations in SQLite, a model picker, switching keeps the history),
arena (blind A/B vote, Bradley-Terry ratings) and results (runs, leaderboards, charts,
case × model matrix). Shared: `render` (templates, safe markdown, static files), `state`
(login, the models offered, the server's runner) and `stream` (an answer as SSE, over the
API's route runner). No build step: plain JS and CSS in static/, plotly.js served from
the plotly package.

Model output is untrusted text. Templates autoescape everything; markdown is rendered with
raw HTML disabled and the result passed through an allow-list sanitizer (nh3); the browser
side inserts model text with textContent, and the sanitized markdown through a second
allow-list walker (never innerHTML). Requests name models; a name must be one of the
models this server offers, so no request ever reaches the file system.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openpick.server.ui import arena, catalog, chat, compare, render, results
from openpick.server.ui.state import login

router = APIRouter(include_in_schema=False, dependencies=[Depends(login)])
for _page in (render, catalog, chat, arena, results, compare):
    router.include_router(_page.router, include_in_schema=False)
