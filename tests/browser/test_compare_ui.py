"""Compare in the browser: a real server (its own home, with fake models in its
openpick.toml and the embedded ones), headless Chromium, from the form to the results."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# The fake models come from the server's openpick.toml; the embedded ones are offered too.
SERVER = """
import sys, uvicorn
from openpick.server.app import create_app
from openpick.server.settings import Settings
settings = Settings(port=int(sys.argv[1]))
uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")
"""
TOML = """[models.quick]
engine = "fake"
url = "echo"

[models.slow]
engine = "fake"
url = "echo"
options = { delay_s = 0.12 }
"""
SUITE = "name: browser-tiny\ncases:\n" + "".join(
    f"  - id: c{i}\n    prompt: please answer with the word yes number {i}\n"
    f"    assert: [{{icontains: 'number {i}'}}]\n" for i in range(1, 7))


@pytest.fixture(scope="module")
def compare_server(sync_playwright, tmp_path_factory, start_server):
    home = tmp_path_factory.mktemp("compare-home")
    (home / "config").mkdir()
    (home / "config" / "openpick.toml").write_text(TOML)
    with start_server(home, SERVER, cwd=home) as url:
        yield url


@pytest.fixture
def new_page(browser, compare_server):
    """new_page(): a fresh page on the compare server; any JavaScript error fails the test."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    contexts, errors = [], []

    def make():
        ctx = browser.new_context(viewport={"width": 1280, "height": 860},
                                   base_url=compare_server)
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.set_default_timeout(30_000)
        return pg

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def jobs(url: str) -> list[dict]:
    return httpx.get(url + "/ui/api/compare/jobs", timeout=10).json()["jobs"]


def paste(pg, text: str) -> None:
    pg.check("#source-text")
    pg.fill("#suite-text", text)


def test_compare_two_models_live_progress_then_the_results(new_page, compare_server):
    pg = new_page()
    pg.goto("/ui/compare?model=quick&model=slow")
    checked = pg.locator("input[name=models]:checked").evaluate_all("els => els.map(e => e.value)")
    assert checked == ["quick", "slow"]
    paste(pg, SUITE)
    pg.click("#check-suite")
    pg.wait_for_function("document.getElementById('suite-info').textContent.includes('6 cases')")
    # Count what the progress table shows while the run goes on.
    pg.evaluate("""() => { window.__seen = new Set();
        new MutationObserver(() => document.querySelectorAll('.job-model .m-done')
          .forEach(td => window.__seen.add(td.textContent))).observe(
          document.getElementById('job-list'), {subtree: true, childList: true, characterData: true}); }""")
    pg.click("#start")
    pg.wait_for_selector(".job[data-status=running] .job-model[data-state=running]")
    row = pg.locator(".job-model[data-model=slow]")
    row.locator(".m-done").filter(has_text=re.compile(r"^[3-5] / 6$")).wait_for()
    shot(pg, "compare-01-running")
    assert pg.locator(".job-model[data-model=quick] .m-done").inner_text() == "6 / 6"
    assert pg.locator(".job-model[data-model=quick] .m-passed").inner_text() == "6"
    assert re.fullmatch(r"< 1 s|\d+ s", row.locator(".m-eta").inner_text())  # an ETA, live
    assert re.search(r"\d+ / 12 · about", pg.locator(".job-eta").inner_text())
    # Results arrived one by one over SSE (0, 1, 2, 3 of 6, ...), not in one piece at the end.
    assert len(pg.evaluate("[...window.__seen].filter(t => t !== '6 / 6')")) >= 3
    pg.wait_for_url(re.compile(r"/ui/results/\w+$"), timeout=60_000)
    run_id = pg.url.rsplit("/", 1)[1]
    shot(pg, "compare-02-results")
    job = next(j for j in jobs(compare_server) if j["run_id"] == run_id)
    assert job["status"] == "finished"
    assert [(m["model"], m["done"], m["passed"]) for m in job["models"]] == [("quick", 6, 6),
                                                                            ("slow", 6, 6)]


def test_an_invalid_uploaded_suite_shows_its_line_and_starts_nothing(new_page, compare_server,
                                                                     tmp_path):
    before = len(jobs(compare_server))
    bad = tmp_path / "bad suite.yaml"
    bad.write_text("name: bad\ncases:\n  - prompt: hi\n    assert: [{icontanis: hi}]\n")
    pg = new_page()
    pg.goto("/ui/compare?model=quick")
    cards = pg.locator(".job").count()  # earlier tests' jobs
    pg.check("#source-text")
    pg.set_input_files("#suite-file", str(bad))
    err = pg.locator("#suite-error")
    err.wait_for()
    assert err.inner_text().startswith("bad-suite.yaml:4: ")
    assert "unknown assertion type 'icontanis'" in err.inner_text()
    pg.click("#start")
    pg.wait_for_function("!document.getElementById('suite-error').hidden")
    assert "bad-suite.yaml:4:" in err.inner_text()
    # The offending line is selected in the editor.
    assert pg.evaluate("(() => { const t = document.getElementById('suite-text');"
                       " return t.value.slice(t.selectionStart, t.selectionEnd); })()") \
        == "    assert: [{icontanis: hi}]"
    shot(pg, "compare-03-invalid")
    assert pg.locator(".job").count() == cards
    # A suite that would read a server file is refused the same way.
    paste(pg, "name: sneaky\ndata:\n  - file: /etc/passwd\n    prompt: x\n")
    pg.click("#start")
    pg.wait_for_function("document.getElementById('suite-error').textContent.includes(':2:')")
    assert "cannot read other files" in err.inner_text()
    assert len(jobs(compare_server)) == before


def test_a_bundled_suite_keeps_running_when_the_tab_closes(new_page, compare_server):
    pg = new_page()
    pg.goto("/ui/compare?model=slow")
    pg.select_option("#suite-select", "math")
    pg.click("#options summary")
    pg.fill("#limit", "8")
    pg.click("#start")
    pg.wait_for_selector(".job[data-status=running]")
    job_id = pg.locator(".job").first.get_attribute("data-job")
    pg.context.close()  # the tab (and its SSE stream) is gone mid-run
    snap = httpx.get(f"{compare_server}/ui/api/compare/jobs/{job_id}", timeout=10).json()
    assert snap["status"] == "running" and snap["done"] < 8
    # Later, on a new page: the job is still there and finishes; its results are linked.
    pg = new_page()
    pg.goto("/ui/compare")
    card = pg.locator(f".job[data-job='{job_id}']")
    card.wait_for()
    pg.wait_for_selector(f".job[data-job='{job_id}'][data-status=finished]", timeout=60_000)
    assert card.locator(".job-model[data-model=slow] .m-done").inner_text() == "8 / 8"
    assert card.locator(".job-stop").is_hidden()  # nothing left to stop
    assert card.locator(".job-results").inner_text() == "Open results →"
    shot(pg, "compare-04-finished-after-closing")
    card.locator(".job-results").click()
    pg.wait_for_url(re.compile(r"/ui/results/\w+$"))


def test_real_smollm2_on_a_pasted_two_case_suite(new_page, compare_server):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python missing: pip install 'openpick[llama]'")
    from openpick.engines.embedded import EMBEDDED

    if EMBEDDED["smollm2-135m"].status() != "ready":
        pytest.skip("smollm2-135m is not installed")
    suite = ("name: smol-two\ndefaults: {max_tokens: 8, temperature: 0}\ncases:\n"
             "  - id: capital\n    prompt: What is the capital of France? One word.\n"
             "    assert: [{icontains: paris}]\n"
             "  - id: sum\n    prompt: What is 2 + 2? Answer with a number.\n"
             "    assert: [{number: 4}]\n")
    pg = new_page()
    pg.goto("/ui/compare?model=smollm2-135m&model=quick")
    paste(pg, suite)
    pg.click("#start")
    pg.wait_for_url(re.compile(r"/ui/results/\w+$"), timeout=120_000)
    run_id = pg.url.rsplit("/", 1)[1]
    job = next(j for j in jobs(compare_server) if j["run_id"] == run_id)
    smol = job["models"][0]
    assert smol["model"] == "smollm2-135m" and smol["done"] == 2 and smol["errors"] == 0
    shot(pg, "compare-05-smollm2-results")
