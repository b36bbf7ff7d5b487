"""The arena in real headless Chromium on fake models: one vote never shows a zero-width
interval, the rule is on the page, win rates with counts, style control, New battle, and
both panels rendered by the same component."""

from __future__ import annotations

import json
import re

import pytest
from test_chat_ui import SCRIPT  # the same server script, on our models

pytestmark = pytest.mark.browser

MODELS = {"left": "fake:**Left** answer with `code`", "right": "fake:**Right** answer, longer "
          "than the other one by a few words"}


@pytest.fixture(scope="module")
def server(sync_playwright, start_server, tmp_path_factory):
    """This module's server (the two fake models above); conftest's page and shot use it."""
    with start_server(tmp_path_factory.mktemp("arena-home"), SCRIPT, json.dumps(MODELS)) as url:
        yield url


def fight(pg, prompt: str, vote: str) -> None:
    for box in pg.locator("input[name=models]").all():
        box.set_checked(box.get_attribute("value") in MODELS)
    pg.fill("#arena-prompt", prompt)
    pg.click("#arena-go")
    pg.wait_for_selector("#votes:not([hidden])")
    pg.click(f"#vote-{vote}")
    pg.wait_for_selector("#after-vote:not([hidden])")


def test_one_vote_is_honest_and_new_battle_starts_another(page, shot):
    pg = page
    pg.goto("/ui/arena")
    fight(pg, "Say something.", "a")
    # both panels: the same component, rendered the same way (markdown, not raw asterisks)
    classes = [pg.get_attribute(f"#out-{s}", "class") for s in "ab"]
    assert classes[0] == classes[1] and "md" in classes[0].split()
    assert pg.locator("#out-a strong").count() == 1 and pg.locator("#out-b strong").count() == 1
    assert "**" not in pg.inner_text("#battle")
    assert pg.is_visible("#new-battle") and not pg.is_visible("#votes")
    shot("arena-01-voted")

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
    shot("arena-02-ratings-one-vote")

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
    shot("arena-03-style-control")
