"""What the browser gets: Jinja pages, model markdown made safe, and the static files.

Model output is untrusted text. Templates autoescape everything; markdown is rendered with
raw HTML disabled and the result passed through an allow-list sanitizer (nh3). Static files
come from a fixed table, so a request path never reaches the file system.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup

router = APIRouter()

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

    # the report's templates too: the run page renders the same results view as the report
    env = Environment(loader=ChoiceLoader([PackageLoader("openpick.server", "templates"),
                                           PackageLoader("openpick.report", "templates")]),
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


# --- static files: a fixed table -----------------------------------------------------

_STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".svg": "image/svg+xml"}


@lru_cache(maxsize=1)
def _static_files() -> dict[str, tuple[Path, str]]:
    files = {p.name: (p, _TYPES[p.suffix]) for p in _STATIC_DIR.iterdir() if p.suffix in _TYPES}
    view = resources.files("openpick.report") / "templates"  # the results view's own files
    files["results.css"] = (Path(str(view / "results.css")), _TYPES[".css"])
    files["results.js"] = (Path(str(view / "results.js")), _TYPES[".js"])
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


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page links: answer with the SVG icon
    (they accept it by its type), so no page logs a 404."""
    return static("favicon.svg")
