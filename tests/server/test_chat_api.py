"""The chat page's turn editing, stored stats and defaults, on the fake engine."""

from __future__ import annotations

import html
import inspect
import json
import re

import pytest
from fastapi.testclient import TestClient

from openpick.engines.base import Sampling
from openpick.engines.pool import ModelPool
from openpick.server.app import create_app
from openpick.server.settings import Settings
from openpick.server.ui.state import DEFAULT_SYSTEM, GenSettings, ask_defaults
from openpick.store.conversations import ConversationStore


@pytest.fixture
def client():
    with ModelPool() as pool:
        app = create_app(Settings(models={"echo": "fake:echo", "parrot": "fake:squawk"}), pool=pool)
        app.state.ui_models = ["echo", "parrot"]
        with TestClient(app) as c:
            yield c


def send(client, **body) -> dict:
    r = client.post("/ui/api/chat/stream", json=body)
    assert r.status_code == 200, r.text
    evs = {}
    for block in r.text.strip().split("\n\n"):
        name = re.search(r"^event: (.*)$", block, re.M).group(1)
        evs[name] = json.loads(re.search(r"^data: (.*)$", block, re.M).group(1))
    return evs


def turns(cid: str) -> list[tuple[str, str, str | None]]:
    return [(m.role, m.content, m.model) for m in ConversationStore().get(cid).messages
            if m.role != "system"]


def test_regenerate_and_edit_replace_the_turns_from_that_question_on(client):
    cid = send(client, model="echo", message="one")["meta"]["conversation_id"]
    send(client, model="echo", message="two", conversation_id=cid)
    # regenerate the last answer with another model: question 1 is asked again
    done = send(client, model="parrot", message="two", conversation_id=cid, replace_turn=1)["done"]
    assert turns(cid) == [("user", "one", None), ("assistant", "one", "echo"),
                          ("user", "two", None), ("assistant", "squawk", "parrot")]
    assert done["answer_seq"] == done["user_seq"] + 1
    # edit the first question and resend: everything after it goes
    send(client, model="echo", message="one, edited", conversation_id=cid, replace_turn=0)
    assert turns(cid) == [("user", "one, edited", None), ("assistant", "one, edited", "echo")]


def test_replace_turn_out_of_range_is_a_clear_400(client):
    cid = send(client, model="echo", message="one")["meta"]["conversation_id"]
    r = client.post("/ui/api/chat/stream", json={"model": "echo", "message": "x",
                                                 "conversation_id": cid, "replace_turn": 3})
    assert r.status_code == 400
    assert "replace_turn: this conversation has 1 user turns, got 3" in r.json()["error"]["message"]
    assert turns(cid) == [("user", "one", None), ("assistant", "one", "echo")]


def test_stats_are_stored_and_come_back_with_the_page(client):
    evs = send(client, model="echo", message="three words here")
    cid = evs["meta"]["conversation_id"]
    page = client.get(f"/ui/chat/{cid}").text
    raw = re.search(r'data-stats="([^"]*)"', page).group(1)
    stats = json.loads(html.unescape(raw))
    assert stats["usage"]["completion_tokens"] == evs["done"]["usage"]["completion_tokens"] == 3
    assert stats["timings"]["total_s"] == pytest.approx(evs["done"]["timings"]["total_s"])
    assert stats["finish_reason"] == "stop"


def test_the_ui_defaults_are_asks():
    import openpick.cli.main  # noqa: F401  (first: the command modules import its app)
    from openpick.cli.ask import DEFAULT_SYSTEM as ASK_SYSTEM
    from openpick.cli.ask import ask

    assert DEFAULT_SYSTEM == ASK_SYSTEM
    params = inspect.signature(ask).parameters
    options = {k: params[k].default.default for k in ("system", "temperature", "max_tokens", "top_p")}
    d = ask_defaults()
    assert options == {k: d[k] for k in options}
    assert GenSettings().model_dump() == {k: Sampling().model_dump()[k]
                                          for k in ("max_tokens", "temperature", "top_p", "seed")}


def test_chat_page_shows_the_defaults_and_the_keys(client):
    page = client.get("/ui/chat").text
    assert f"system prompt “<span data-default=\"system\">{DEFAULT_SYSTEM}</span>”" in page
    assert '<span data-default="temperature">0.0</span>' in page
    assert '<span data-default="max_tokens">256</span>' in page
    assert f">{DEFAULT_SYSTEM}</textarea>" in page      # a new chat starts with it
    assert "<kbd>Esc</kbd> stops the answer" in page
