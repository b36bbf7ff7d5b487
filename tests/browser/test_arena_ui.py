"""The arena in real headless Chromium on fake models: one vote never shows a zero-width
interval, the rule is on the page, win rates with counts, style control, New battle, and
both panels rendered by the same component."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.browser

MODELS = {"left": "fake:**Left** answer with `code`", "right": "fake:**Right** answer, longer "
          "than the other one by a few words"}
SCRIPT = """
import json, sys, uvicorn
from openpick.server.app import create_app
from openpick.server.settings import Settings
settings = Settings(port=int(sys.argv[1]), models=json.loads(sys.argv[2]))
uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")
"""


@pytest.fixture(scope="module")
def arena_server(sync_playwright, start_server, tmp_path_factory):
    with start_server(tmp_path_factory.mktemp("arena-home"), SCRIPT, json.dumps(MODELS)) as url:
        yield url


@pytest.fixture
def apage(browser, arena_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=arena_server)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shoot(pg, name: str) -> None:
    from conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fight(pg, prompt: str, vote: str) -> None:
    for box in pg.locator("input[name=models]").all():
        box.set_checked(box.get_attribute("value") in MODELS)
    pg.fill("#arena-prompt", prompt)
    pg.click("#arena-go")
    pg.wait_for_selector("#votes:not([hidden])")
    pg.click(f"#vote-{vote}")
    pg.wait_for_selector("#after-vote:not([hidden])")


def test_one_vote_is_honest_and_new_battle_starts_another(apage):
    pg = apage
    pg.goto("/ui/arena")
    fight(pg, "Say something.", "a")
    # both panels: the same component, rendered the same way (markdown, not raw asterisks)
    classes = [pg.get_attribute(f"#out-{s}", "class") for s in "ab"]
    assert classes[0] == classes[1] and "md" in classes[0].split()
    assert pg.locator("#out-a strong").count() == 1 and pg.locator("#out-b strong").count() == 1
    assert "**" not in pg.inner_text("#battle")
    assert pg.is_visible("#new-battle") and not pg.is_visible("#votes")
    shoot(pg, "arena-01-voted")

    pg.goto("/ui/arena/ratings")
    assert pg.inner_text("#vote-count") == "1 vote"
    rules = pg.inner_text("#rating-rules")
    assert "prior" in rules and "too few votes" in rules and "never zero-width" in rules
    for row in pg.locator("#ratings-table tbody tr").all():
        low, high = map(int, re.search(r"(\d+) – (\d+)", row.locator("td.interval").inner_text()).groups())
        assert high - low > 400, "one vote must not look certain"
        assert "too few votes" in row.locator("td.rating").inner_text()
    cells = pg.locator("#win-matrix td").all_inner_texts()
    assert sorted(c for c in cells if c != "·") == ["0 % (0/1)", "100 % (1/1)"]
    shoot(pg, "arena-02-ratings-one-vote")

    # New battle: a clean form, and a second vote counts
    pg.goto("/ui/arena")
    fight(pg, "Say more.", "b")
    pg.click("#new-battle")
    assert pg.is_hidden("#battle") and pg.input_value("#arena-prompt") == ""
    assert pg.evaluate("document.activeElement.id") == "arena-prompt"
    fight(pg, "And once more.", "tie")
    pg.goto("/ui/arena/ratings")
    assert pg.inner_text("#vote-count") == "3 votes"

    # style control as an option: coefficients and the style-controlled ratings
    pg.check("#style-control")
    pg.wait_for_url(re.compile(r"style=true"))
    assert [r.split("\t")[0] for r in pg.locator("#style-coefficients tbody tr").all_inner_texts()] \
        == ["length", "markdown"]
    assert "Without style control" in pg.inner_text("#ratings-table thead")
    shoot(pg, "arena-03-style-control")
