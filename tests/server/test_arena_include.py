"""The arena's `?model=` links (a model page's "Battle"): the named model is in every battle."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from openpick.engines.pool import ModelPool
from openpick.errors import InvalidInput
from openpick.server.app import create_app
from openpick.server.settings import Settings
from openpick.store.arena import ArenaStore, pick_pair

MODELS = {"echo": "fake:echo", "parrot": "fake:squawk", "third": "fake:pass 1"}


def test_pick_pair_with_include_always_has_it_on_either_side():
    rng = random.Random(0)
    pairs = [pick_pair(["echo", "parrot", "third"], rng, include="third") for _ in range(60)]
    assert all("third" in p and p[0] != p[1] for p in pairs)
    assert {p.index("third") for p in pairs} == {0, 1}          # still blind: A or B
    assert {m for p in pairs for m in p} == {"echo", "parrot", "third"}
    with pytest.raises(InvalidInput, match="'nope', is not among"):
        pick_pair(["echo", "parrot"], rng, include="nope")


@pytest.fixture
def client():
    with ModelPool() as pool:
        app = create_app(Settings(models=MODELS), pool=pool)
        app.state.ui_models = list(MODELS)
        with TestClient(app) as c:
            yield c


def _ticked(html: str) -> set[str]:
    return {m for m in MODELS if f'value="{m}" checked' in html}


def test_page_ticks_what_the_link_names(client):
    assert _ticked(client.get("/ui/arena").text) == set(MODELS)
    two = client.get("/ui/arena?model=echo&model=third").text
    assert _ticked(two) == {"echo", "third"} and 'id="arena-include"' not in two
    one = client.get("/ui/arena?model=parrot").text
    assert _ticked(one) == set(MODELS) and 'data-model="parrot"' in one
    unknown = client.get("/ui/arena?model=missing").text
    assert _ticked(unknown) == set(MODELS) and 'id="arena-include"' not in unknown


def test_battles_started_with_include_have_that_model(client):
    for _ in range(8):
        r = client.post("/ui/api/arena/battles", json={
            "models": list(MODELS), "prompt": "hi", "include": "parrot"})
        assert r.status_code == 200, r.text
        b = ArenaStore().get(r.json()["id"])
        assert "parrot" in (b.model_a, b.model_b)
    r = client.post("/ui/api/arena/battles", json={
        "models": ["echo", "third"], "prompt": "hi", "include": "parrot"})
    assert r.status_code == 400 and "not among the models picked" in r.text
