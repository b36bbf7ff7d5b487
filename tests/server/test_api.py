"""The OpenAI-compatible API on the fake engine: shapes, streaming, the official client
against a real uvicorn server, disconnects and shutdown."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from openpick.engines.base import Delta, Engine, Usage
from openpick.engines.pool import ModelPool
from openpick.engines.spec import load_engine
from openpick.server import Settings, create_app, serve_in_thread

MODELS = {"echo": "fake:echo", "hello": "fake:Hello from the fake model.", "slow": "slow"}


class SlowEngine(Engine):
    """Yields `n` tokens with a pause between them and counts what it produced."""

    name = "slow"

    def __init__(self, n: int = 5000, pause: float = 0.005):
        super().__init__("slow")
        self.n, self.pause = n, pause
        self.produced = 0
        self.finished = threading.Event()

    def generate(self, request):
        try:
            for _ in range(self.n):
                time.sleep(self.pause)
                self.produced += 1
                yield Delta(text="tok ")
            yield Delta(finish_reason="length", usage=Usage(prompt_tokens=1,
                                                            completion_tokens=self.n))
        finally:
            self.finished.set()


def make_pool(slow: SlowEngine | None = None) -> ModelPool:
    slow = slow or SlowEngine()
    return ModelPool(loader=lambda spec, opts: slow if spec == "slow" else load_engine(spec, opts))


@pytest.fixture
def client():
    app = create_app(Settings(models=MODELS), pool=make_pool())
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def chat(client, content="one two three", **kw):
    body = {"model": "echo", "messages": [{"role": "user", "content": content}], **kw}
    return client.post("/v1/chat/completions", json=body)


def events(text: str) -> list:
    out = []
    for line in text.splitlines():
        if line.startswith("data: "):
            data = line[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_models_list_and_retrieve(client):
    data = client.get("/v1/models").json()
    assert data["object"] == "list"
    ids = {m["id"]: m for m in data["data"]}
    assert {"echo", "hello", "smollm2-135m"} <= set(ids)
    assert ids["smollm2-135m"]["engine"] == "llama-cpp" and ids["echo"]["kind"] == "model"
    assert client.get("/v1/models/echo").json()["id"] == "echo"
    missing = client.get("/v1/models/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_chat_completion_shape_and_usage(client):
    r = chat(client)
    assert r.status_code == 200 and r.headers["x-openpick-model"] == "echo"
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "one two three"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}


def test_chat_length_stop_parts_and_developer_role(client):
    r = chat(client, "a b c d e f", max_tokens=2).json()
    assert r["choices"][0]["message"]["content"] == "a b"
    assert r["choices"][0]["finish_reason"] == "length"
    r = chat(client, "a b STOP c", stop="STOP").json()
    assert r["choices"][0]["message"]["content"].strip() == "a b"
    body = {"model": "echo", "messages": [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "part one"},
                                     {"type": "text", "text": " part two"}]}]}
    r = client.post("/v1/chat/completions", json=body).json()
    assert r["choices"][0]["message"]["content"] == "part one part two"


def test_chat_stream_chunks_end_with_done(client):
    r = chat(client, stream=True, stream_options={"include_usage": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    ev = events(r.text)
    assert ev[-1] == "[DONE]"
    chunks = ev[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "one two three"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3


def test_completions_plain_echo_and_stream(client):
    r = client.post("/v1/completions", json={"model": "hello", "prompt": "Say hi."}).json()
    assert r["object"] == "text_completion"
    assert r["choices"][0]["text"] == "Hello from the fake model."
    r = client.post("/v1/completions", json={"model": "hello", "prompt": "Q:", "echo": True})
    assert r.json()["choices"][0]["text"] == "Q:Hello from the fake model."
    r = client.post("/v1/completions", json={"model": "echo", "prompt": ["x y"], "stream": True})
    ev = events(r.text)
    assert ev[-1] == "[DONE]" and "".join(c["choices"][0]["text"] for c in ev[:-1]) == "x y"


@pytest.mark.parametrize("body, param", [
    ({"n": 2}, "n"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"temperature": 3}, "temperature"),
    ({"logprobs": True}, "logprobs"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"stop": "x" * 300}, "stop"),
])
def test_invalid_requests_are_400_in_openai_shape(client, body, param):
    r = client.post("/v1/chat/completions", json={
        "model": "echo", "messages": [{"role": "user", "content": "hi"}], **body})
    assert r.status_code == 400
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error" and err["param"].startswith(param)


@pytest.mark.parametrize("body, param", [
    ({"top_p": 1.5}, "top_p"),  # Sampling's bound, checked where the body becomes a request
    ({"max_completion_tokens": 0}, "max_completion_tokens"),
    ({"temperature": -0.5}, "temperature"),
])
def test_sampling_bounds_are_400_in_openai_shape(client, body, param):
    r = chat(client, **body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error" and err["param"] == param


def test_top_p_zero_is_greedy_and_the_schema_shows_the_bounds(client):
    assert chat(client, "a b", top_p=0, temperature=1.5).json()["choices"][0]["message"][
        "content"] == "a b"
    props = client.get("/openapi.json").json()["components"]["schemas"][
        "ChatCompletionRequest"]["properties"]
    temperature = props["temperature"]["anyOf"][0]
    assert (temperature["minimum"], temperature["maximum"]) == (0, 2)
    assert props["max_tokens"]["anyOf"][0]["minimum"] == 1


def test_bad_json_and_unknown_route(client):
    r = client.post("/v1/chat/completions", content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.json()


def test_health_and_metrics(client):
    chat(client)
    chat(client, stream=True)
    chat(client, model="nope")
    health = client.get("/health").json()
    assert health["status"] == "ok" and {"model": "fake:echo", "bytes": 0} in health["loaded"]
    text = client.get("/metrics").text
    assert ('openpick_requests_total{endpoint="/v1/chat/completions",model="echo",status="200"}'
            ' 2.0') in text
    assert 'openpick_tokens_total{kind="completion",model="echo"} 6.0' in text
    assert 'openpick_time_to_first_token_seconds_count{model="echo"} 2.0' in text
    assert 'openpick_errors_total{endpoint="/v1/chat/completions",type="model_not_found"}' in text
    assert "openpick_loaded_models 1.0" in text
    assert "openpick_request_duration_seconds_bucket" in text


# -- the official client against a real server ---------------------------------------------------

@pytest.fixture
def server():
    slow = SlowEngine()
    with serve_in_thread(Settings(port=0, models=MODELS, shutdown_grace_s=5),
                         pool=make_pool(slow)) as running:
        running.slow = slow
        yield running


def test_openai_client_unchanged(server):
    openai = pytest.importorskip("openai", reason="the openai client: pip install openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0,
                           timeout=30)
    assert "echo" in [m.id for m in client.models.list()]
    r = client.chat.completions.create(model="echo", messages=[
        {"role": "user", "content": "hello there"}])
    assert r.choices[0].message.content == "hello there" and r.usage.total_tokens == 4
    stream = client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "streamed words arrive"}],
        stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
        "streamed words arrive"
    assert chunks[-1].usage.completion_tokens == 3
    text = "".join(c.choices[0].text for c in client.completions.create(
        model="hello", prompt="x", stream=True))
    assert text == "Hello from the fake model."
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="../etc/passwd",
                                       messages=[{"role": "user", "content": "x"}])
    assert info.value.body["code"] == "model_not_found"


def test_disconnect_mid_stream_stops_generation(server):
    slow = server.slow
    body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "go"}]}
    with httpx.Client(timeout=30) as c:
        with c.stream("POST", server.url + "/v1/chat/completions", json=body) as r:
            seen = 0
            for line in r.iter_lines():
                seen += line.startswith("data: ")
                if seen >= 5:
                    break  # leaving the block closes the connection mid-stream
    assert slow.finished.wait(20), "the engine kept generating after the client left"
    assert slow.produced < slow.n
    deadline = time.monotonic() + 10
    while server.app.state.openpick.active and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.app.state.openpick.active == 0


def test_busy_server_answers_429():
    slow = SlowEngine(n=400, pause=0.01)
    with serve_in_thread(Settings(port=0, models=MODELS, max_concurrent=1),
                         pool=make_pool(slow)) as running:
        body = {"model": "slow", "stream": True,
                "messages": [{"role": "user", "content": "go"}]}
        with httpx.Client(timeout=30) as c:
            with c.stream("POST", running.url + "/v1/chat/completions", json=body) as r:
                lines = r.iter_lines()  # kept: a dropped iterator closes the stream
                next(lines)
                busy = c.post(running.url + "/v1/chat/completions",
                              json={**body, "model": "echo", "stream": False})
                assert busy.status_code == 429
                assert busy.json()["error"]["code"] == "server_busy"


def _consume(url: str, body: dict, out: dict) -> None:
    try:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
            out["lines"] = [line for line in r.iter_lines() if line.startswith("data: ")]
    except httpx.HTTPError as e:
        out["error"] = e


def _shutdown_during_stream(n: int, grace: float) -> tuple[dict, SlowEngine]:
    slow = SlowEngine(n=n, pause=0.01)
    out: dict = {}
    with serve_in_thread(Settings(port=0, models=MODELS, shutdown_grace_s=grace),
                         pool=make_pool(slow)) as running:
        body = {"model": "slow", "stream": True,
                "messages": [{"role": "user", "content": "go"}]}
        t = threading.Thread(target=_consume, args=(running.url, body, out))
        t.start()
        deadline = time.monotonic() + 20
        while slow.produced == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        running.stop()  # what SIGTERM does: stop accepting, give streams the grace
        t.join(30)
    assert slow.finished.wait(20)
    return out, slow


def test_shutdown_lets_a_short_stream_finish():
    out, slow = _shutdown_during_stream(n=30, grace=20)
    assert out["lines"][-1] == "data: [DONE]" and slow.produced == slow.n


def test_shutdown_cancels_a_long_stream_after_the_grace():
    out, slow = _shutdown_during_stream(n=5000, grace=0.3)
    assert slow.produced < slow.n  # the generation stopped with the stream
    assert "data: [DONE]" not in out.get("lines", [])
