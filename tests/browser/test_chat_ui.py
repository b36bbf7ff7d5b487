"""The chat page in real headless Chromium: markdown and code rendered and never run,
copy, regenerate, edit and resend, per-model colours, stats after a reload, the empty-input
message; and a real SmolLM2 answer equal to `openpick ask`'s."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from openpick.engines.embedded import EMBEDDED

pytestmark = pytest.mark.browser

MD = ("Here is **bold** and code:\n\n```python\nprint('hi')\n```\n\n"
      "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\"> done")
MODELS = {"md": "fake:" + MD, "echo": "fake:echo", "parrot": "fake:squawk squawk"}
# a server on the models given as JSON (the arena test uses it too)
SCRIPT = """
import json, sys, uvicorn
from openpick.server.app import create_app
from openpick.server.settings import Settings
settings = Settings(port=int(sys.argv[1]), models=json.loads(sys.argv[2]))
uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")
"""


@pytest.fixture(scope="module")
def server(sync_playwright, start_server, tmp_path_factory):
    """This module's server (the fake models above); conftest's page and shot use it."""
    with start_server(tmp_path_factory.mktemp("chat-home"), SCRIPT, json.dumps(MODELS)) as url:
        yield url


@pytest.fixture
def cpage(page, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    return page


def send(pg, text: str, answers_before: int, model: str | None = None) -> None:
    if model:
        pg.select_option("#model-picker", model)
    pg.fill("#prompt", text)
    pg.press("#prompt", "Enter")   # Enter sends
    pg.wait_for_selector(f".msg.assistant.done >> nth={answers_before}", timeout=60_000)


SAFE = """() => ({pwned: window.__pwned === undefined ? null : window.__pwned,
    scripts: document.querySelectorAll('#messages script').length,
    imgs: document.querySelectorAll('#messages img').length,
    code: [...document.querySelectorAll('#messages pre code')].map(c => c.textContent),
    bold: document.querySelectorAll('#messages .msg.assistant strong').length})"""


def test_markdown_renders_copy_works_and_script_never_runs(cpage, shot):
    pg = cpage
    pg.goto("/ui/chat")
    send(pg, "show me", 0, model="md")
    want = {"pwned": None, "scripts": 0, "imgs": 0, "code": ["print('hi')\n"], "bold": 1}
    assert pg.evaluate(SAFE) == want
    assert "<script>window.__pwned=1</script>" in pg.inner_text(".msg.assistant .content")
    pg.click(".msg.assistant .copy-code")
    assert pg.evaluate("navigator.clipboard.readText()") == "print('hi')\n"
    pg.click(".msg.assistant .copy-answer")
    assert pg.evaluate("navigator.clipboard.readText()") == MD
    shot("chat-01-markdown")
    pg.reload()   # the server-rendered history: the same, and still inert
    pg.wait_for_selector(".msg.assistant .copy-code")
    assert pg.evaluate(SAFE) == want


def test_stats_colours_regenerate_and_edit(page, shot):
    pg = page
    pg.goto("/ui/chat")
    send(pg, "first", 0, model="echo")
    send(pg, "second", 1, model="parrot")
    meta = pg.locator(".msg.assistant .meta").all_inner_texts()
    assert len(meta) == 2 and all("tokens" in m and " s" in m for m in meta)
    colours = pg.evaluate("""() => [...document.querySelectorAll('.msg.assistant .model-label')]
        .map(l => getComputedStyle(l).color)""")
    assert len(set(colours)) == 2          # two models, two colours
    pg.reload()                            # stats and colours survive
    assert pg.locator(".msg.assistant .meta").all_inner_texts() == meta
    assert pg.evaluate("""() => [...document.querySelectorAll('.msg.assistant .model-label')]
        .map(l => getComputedStyle(l).color)""") == colours

    # regenerate the last answer with echo: it replaces parrot's
    assert pg.locator(".msg.assistant button.regenerate:visible").count() == 1
    pg.select_option("#model-picker", "echo")
    pg.click(".msg.assistant >> nth=1 >> button.regenerate")
    pg.wait_for_selector(".msg.assistant.done >> nth=1")
    pg.wait_for_function("!document.querySelector('.msg.assistant.streaming')")
    assert pg.locator(".msg.assistant .content").all_inner_texts() == ["first", "second"]

    # edit the first question and resend: the rest goes
    pg.click(".msg.user >> nth=0 >> button.edit")
    pg.fill(".edit-box", "first, edited")
    pg.click(".save-edit")
    pg.wait_for_function("document.querySelectorAll('.msg.assistant.done').length === 1"
                         " && !document.querySelector('.msg.assistant.streaming')")
    assert pg.locator(".msg.assistant .content").all_inner_texts() == ["first, edited"]
    shot("chat-02-edited")
    pg.reload()   # and the store agrees
    assert pg.locator(".msg.user .content").all_inner_texts() == ["first, edited"]
    assert pg.locator(".msg.assistant .content").all_inner_texts() == ["first, edited"]


def test_empty_input_says_so_and_the_page_shows_defaults_and_keys(page, shot):
    pg = page
    pg.goto("/ui/chat")
    pg.fill("#prompt", "   \n  ")
    pg.press("#prompt", "Enter")
    pg.wait_for_selector("#chat-error:not([hidden])")
    assert "empty" in pg.inner_text("#chat-error")
    assert pg.locator(".msg").count() == 0
    pg.fill("#prompt", "line one")
    pg.press("#prompt", "Shift+Enter")     # a new line, not a send
    assert pg.input_value("#prompt") == "line one\n" and pg.locator(".msg").count() == 0
    defaults = pg.inner_text("#chat-defaults")
    assert "You are a helpful assistant." in defaults and "temperature 0" in defaults
    assert "Esc" in pg.inner_text("#shortcuts")
    shot("chat-03-empty-input")


def need_smollm2() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python missing: pip install 'openpick[llama]'")
    if EMBEDDED["smollm2-135m"].status() != "ready":
        pytest.skip(f"smollm2-135m is not installed: {EMBEDDED['smollm2-135m'].pip}")


def test_esc_stops_a_real_answer(page):
    need_smollm2()
    page.goto("/ui/chat")
    page.select_option("#model-picker", "smollm2-135m")
    page.click("#settings summary")
    page.fill("#max-tokens", "400")
    page.fill("#prompt", "Write a long story about a lighthouse keeper.")
    page.press("#prompt", "Enter")
    page.wait_for_function("(document.querySelector('.msg.assistant.streaming .content') || {})"
                           ".textContent > ''", timeout=120_000)
    page.keyboard.press("Escape")
    page.wait_for_selector(".msg.assistant.stopped")
    assert page.is_enabled("#send") and page.is_disabled("#stop")
    page.reload()   # the stopped answer is kept, with what it said so far
    assert page.locator(".msg.assistant .content").inner_text().strip()


def test_real_smollm2_answers_as_ask_does(page, shot):
    """The issue's case: the UI, on its defaults, answers as `openpick ask` on its own."""
    need_smollm2()
    question = "What is the capital of France?"
    home = os.environ["OPENPICK_HOME"]
    out = subprocess.run([sys.executable, "-m", "openpick", "ask", "--json", question],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OPENPICK_HOME": home, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    asked = json.loads(out.stdout)["text"]
    page.goto("/ui/chat")
    page.select_option("#model-picker", "smollm2-135m")
    page.fill("#prompt", question)
    page.click("#send")
    page.wait_for_selector(".msg.assistant.done", timeout=300_000)
    answered = page.evaluate("document.querySelector('.msg.assistant').dataset.raw")
    print(f"ask: {asked[:80]!r}\nUI:  {answered[:80]!r}")
    assert answered == asked
    shot("chat-04-smollm2-as-ask")
