"""Fuzz the server's request bodies through its HTTP routes (fastapi TestClient, fake engine):
the OpenAI-compatible /v1/chat/completions and /v1/completions, and the web UI's JSON
endpoints (chat stream, arena battles, votes). Bodies are generated around the real shapes
with any JSON value in each field, or are mutated bytes of real bodies. Whatever arrives, the
answer is never a 500: a 2xx, or a 4xx whose error is one line (on /v1, OpenAI's
`{"error": {message, type, param, code}}`); a stream never carries a traceback."""

from __future__ import annotations

import json
import string

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from fuzzkit import fuzz_settings, mutated, parse_or_reject
from openpick.engines.pool import ModelPool
from openpick.errors import InvalidInput
from openpick.server import Settings, create_app

pytestmark = pytest.mark.fuzz

MODELS = {"echo": "fake:echo", "hello": "fake:Hello from the fake model."}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # the UI stores conversations under the home
        mp.setenv("OPENPICK_HOME", str(tmp_path_factory.mktemp("server-home")))
        with ModelPool() as pool:
            app = create_app(Settings(models=MODELS, max_tokens_cap=64), pool=pool)
            app.state.ui_models = list(MODELS)  # only the fake ones, whatever is installed
            with TestClient(app, base_url="http://127.0.0.1") as c:
                yield c


class Rejected(InvalidInput):
    """A 4xx answer, raised so parse_or_reject counts it and checks its message."""


def post(client: TestClient, parser: str, path: str, *, body=None, raw: bytes | None = None):
    def call():
        if raw is not None:
            r = client.post(path, content=raw, headers={"content-type": "application/json"})
        else:
            r = client.post(path, json=body)
        assert r.status_code < 500, (path, body, raw, r.status_code, r.text[:500])
        assert "Traceback" not in r.text, r.text[:2000]
        if r.status_code >= 400:
            raise Rejected(f"HTTP {r.status_code}: {error_message(path, r)}")
        return r

    return parse_or_reject(parser, call)


def error_message(path: str, r) -> str:
    body = r.json()
    if path.startswith("/v1/"):
        assert set(body["error"]) == {"message", "type", "param", "code"}, body
        return body["error"]["message"]
    assert isinstance(body, dict), body
    return str(body.get("error") or body.get("detail") or body)


# Any JSON value, nested a little; numbers include the huge, the negative and the fractional.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-2**70, 2**70) | st.floats(
        allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3), max_leaves=8)


def edge(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """Nine times in ten a `good` value, else a `bad` one."""
    return st.integers(0, 9).flatmap(lambda r: bad if r == 9 else good)


def maybe(good: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a value of the field's own kind, sometimes any JSON value."""
    return edge(good, json_values)


_MODEL = edge(st.sampled_from(list(MODELS)), st.sampled_from(["nope", "", "x" * 300]))
_TEXT = st.text(max_size=40)
_MESSAGE = st.fixed_dictionaries(
    {"role": maybe(edge(st.sampled_from(["system", "developer", "user", "assistant"]),
                        st.just("tool")))},
    optional={"content": maybe(_TEXT | st.lists(st.fixed_dictionaries(
        {"type": maybe(st.just("text")), "text": maybe(_TEXT)}), max_size=2)), "name": _TEXT})
_SAMPLING = {
    "temperature": edge(st.floats(0, 2), st.sampled_from([-1, 2.5])),
    "top_p": edge(st.floats(0, 1), st.sampled_from([-0.5, 1.5])), "n": maybe(st.just(1)),
    "stream": st.booleans(), "stream_options": st.fixed_dictionaries(
        {"include_usage": maybe(st.booleans())}),
    "stop": edge(_TEXT | st.lists(st.text(max_size=20), max_size=4), st.lists(
        st.text(min_size=250, max_size=300), min_size=1, max_size=6)),
    "seed": edge(st.integers(-2**63, 2**63 - 1), st.sampled_from([-2**64, 2**64])),
    "presence_penalty": st.floats(-2, 2), "frequency_penalty": st.floats(-3, 3),
    "user": _TEXT, "max_tokens": edge(st.integers(1, 64), st.sampled_from([0, 65, 2**63, 2**64])),
}
_CHAT = {**_SAMPLING, "max_completion_tokens": edge(st.integers(1, 64), st.just(-1)),
         "logprobs": maybe(st.just(False)), "tools": maybe(st.just([])),
         "response_format": st.fixed_dictionaries(
             {"type": maybe(st.sampled_from(["text", "json_object"]))}),
         "logit_bias": maybe(st.just({}))}
_COMPLETION = {**_SAMPLING, "echo": st.booleans(), "logprobs": maybe(st.none()),
               "suffix": maybe(st.just("")), "best_of": maybe(st.just(1))}


def bodies(required: dict, optional: dict) -> st.SearchStrategy:
    body = st.fixed_dictionaries(required, optional={k: maybe(v) for k, v in optional.items()})
    return st.one_of(maybe(body), st.fixed_dictionaries(required))  # the latter: mostly valid


ROUTES = {
    "/v1/chat/completions": bodies(
        {"model": maybe(_MODEL), "messages": maybe(st.lists(_MESSAGE, min_size=1, max_size=3))}, _CHAT),
    "/v1/completions": bodies(
        {"model": maybe(_MODEL), "prompt": maybe(_TEXT | st.lists(_TEXT, max_size=2))},
        _COMPLETION),
}
_GEN = {"max_tokens": edge(st.integers(1, 64), st.just(0)), "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1), "seed": st.integers(-2**64, 2**64)}
UI_ROUTES = {
    "/ui/api/chat/stream": bodies({"model": maybe(_MODEL), "message": maybe(_TEXT)}, {
        **_GEN, "system": _TEXT, "conversation_id": st.text(max_size=70)}),
    "/ui/api/arena/battles": bodies({"models": maybe(st.lists(_MODEL, max_size=3)),
                                     "prompt": maybe(_TEXT)}, {**_GEN, "system": _TEXT}),
    "/ui/api/arena/battles/{bid}/vote": bodies({"winner": maybe(st.sampled_from(
        ["a", "b", "tie", "both_bad", "c"]))}, {}),
}


@fuzz_settings(0.5)
@given(data=st.data())
def test_openai_bodies(client, data):
    path = data.draw(st.sampled_from(sorted(ROUTES)))
    post(client, "server /v1 bodies", path, body=data.draw(ROUTES[path]))


_CHATS = [
    {"model": "echo", "messages": [{"role": "user", "content": "one two three"}]},
    {"model": "echo", "messages": [{"role": "system", "content": "be brief"},
                                   {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
     "max_tokens": 8, "temperature": 0.5, "stream": True, "stop": ["\n"], "seed": 7},
]
_COMPLETIONS = [
    {"model": "hello", "prompt": "Once upon", "max_tokens": 4, "echo": True},
    {"model": "echo", "prompt": ["x"], "stream": True, "stream_options": {"include_usage": True}},
]
REAL_BODIES = {"/v1/chat/completions": [json.dumps(b).encode() for b in _CHATS],
               "/v1/completions": [json.dumps(b).encode() for b in _COMPLETIONS]}


@fuzz_settings(0.5)
@given(data=st.data())
def test_mutated_raw_bodies(client, data):
    path = data.draw(st.sampled_from(sorted(REAL_BODIES)))
    post(client, "server /v1 raw bytes", path, raw=data.draw(mutated(REAL_BODIES[path])))


def _battle(client: TestClient) -> str:
    r = client.post("/ui/api/arena/battles", json={"models": ["echo", "hello"], "prompt": "hi",
                                                      "max_tokens": 8})
    assert r.status_code == 200, r.text
    return r.json()["id"]


@fuzz_settings(0.5)
@given(data=st.data())
def test_ui_bodies(client, data):
    route = data.draw(st.sampled_from(sorted(UI_ROUTES)))
    body = data.draw(UI_ROUTES[route])
    path = route.replace("{bid}", _battle(client) if "{bid}" in route else "")
    post(client, "server UI bodies", path, body=body)


@fuzz_settings(0.5)
@given(bid=st.none() | st.text(alphabet=string.ascii_letters + string.digits + "-_.~%",
                               min_size=1, max_size=40), side=st.sampled_from(["a", "b", "c", "."]))
def test_ui_battle_paths(client, bid, side):
    """Stream one side of a real battle (bid None) or of an id that is none."""
    bid = bid or _battle(client)
    post(client, "server UI battle paths", f"/ui/api/arena/battles/{bid}/stream/{side}")
