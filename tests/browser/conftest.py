"""Browser tests: the real server (uvicorn on 127.0.0.1, a free port, its own OPENPICK_HOME)
in a subprocess, driven by Playwright in Debian's headless Chromium. Screenshots go to
test-artifacts/browser/. Skipped, with the reason, when chromium or playwright is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# A model whose answer tries to run script in the page: it must show up as text.
EVIL = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> '
        '[link](javascript:window.__pwned=3) **bold**')

SERVER = """
import sys, uvicorn
from openpick.server.app import create_app
from openpick.server.settings import Settings
settings = Settings(port=int(sys.argv[1]), models={"evil": "fake:" + sys.argv[2]})
uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    api = pytest.importorskip("playwright.sync_api",
                              reason="playwright is missing: pip install playwright")
    return api.sync_playwright


@pytest.fixture(scope="session")
def server_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser-home")


@contextmanager
def running_server(home: Path, script: str, *args: str, cwd: Path | None = None):
    """A real server (`script` run with its port and `args`) with OPENPICK_HOME=home, until
    the block ends; yields its base URL once /health answers."""
    port = _free_port()
    env = {**os.environ, "OPENPICK_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    log = (home / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", script, str(port), *args], env=env,
                            stdout=log, stderr=subprocess.STDOUT,
                            cwd=str(cwd) if cwd else None)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the server did not start:\n" + (home / "server.log").read_text())
        time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def start_server():
    """running_server, for test modules that start a server of their own."""
    return running_server


@pytest.fixture(scope="session")
def server(sync_playwright, server_home):
    """The server's base URL. Its store is server_home/data/openpick.db."""
    with running_server(server_home, SERVER, EVIL) as url:
        yield url


@pytest.fixture(scope="session")
def browser(sync_playwright):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page; fails the test on any JavaScript error in it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def shot(page):
    """shot(name): a full-page screenshot into test-artifacts/browser/NAME.png."""
    return lambda name: page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
