"""The openai engine against a fault-injecting local server: retries, timeouts, bad data."""

from __future__ import annotations

import threading

import pytest

from openpick.engines import EngineError, Request, load_engine
from openpick.engines.openai import OpenAIEngine, endpoint_slots
from openpick.errors import InvalidInput

FAST = {"backoff_base_s": 0.001, "backoff_max_s": 0.01, "max_retries": 3}


def engine(server, scenario, model="m", **opts):
    target = server.url(scenario) + (f"#{model}" if model else "")
    return OpenAIEngine(target, {**FAST, **opts})


def test_streams_chat_with_usage(fault_server):
    with engine(fault_server, "ok") as e:
        seen = []
        r = e.complete(Request.chat("hi", max_tokens=5, seed=3, stop=["x"]),
                       on_delta=lambda d: seen.append(d.text))
    assert r.text == "Hello, world" and seen[:3] == ["Hello", ",", " world"]
    assert r.finish_reason == "stop"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (7, 3)
    assert r.model.url == fault_server.url("ok") and r.model.model_id == "m"
    body = fault_server.bodies[0]
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert (body["model"], body["max_tokens"], body["seed"], body["stop"]) == ("m", 5, 3, ["x"])
    assert body["stream"] is True


def test_plain_prompt_uses_completions(fault_server):
    with engine(fault_server, "ok") as e:
        assert e.complete(Request(prompt="Once")).text == "Hello, world"
    assert fault_server.bodies[0]["prompt"] == "Once"


def test_non_streaming_mode(fault_server):
    with engine(fault_server, "ok", stream=False) as e:
        r = e.complete(Request.chat("hi"))
    assert (r.text, r.finish_reason, r.usage.completion_tokens) == ("whole answer", "length", 2)


@pytest.mark.parametrize("scenario,tries", [("429-then-ok", 2), ("503-503-then-ok", 3),
                                            ("drop-before-then-ok", 2)])
def test_retries_then_succeeds(fault_server, scenario, tries):
    with engine(fault_server, scenario) as e:
        assert e.complete(Request.chat("hi")).text == "Hello, world"
    assert fault_server.counts[scenario] == tries


def test_gives_up_after_max_retries(fault_server):
    with engine(fault_server, "always-500", max_retries=2) as e:
        with pytest.raises(EngineError, match="answered 500: internal trouble .*3 tries"):
            e.complete(Request.chat("hi"))
    assert fault_server.counts["always-500"] == 3


@pytest.mark.parametrize("scenario,message", [("400", "max_tokens is too large"),
                                              ("401", "invalid api key")])
def test_never_retries_client_errors(fault_server, scenario, message):
    with engine(fault_server, scenario) as e:
        with pytest.raises(EngineError, match=message):
            e.complete(Request.chat("hi"))
    assert fault_server.counts[scenario] == 1


@pytest.mark.parametrize("scenario,match", [
    ("malformed", "malformed JSON"),
    ("drop-mid", "stream broke after 1 chunks|stream ended early"),
    ("no-done", "stream ended early after 1 chunks"),
    ("error-event", "model crashed"),
])
def test_broken_streams_fail_clearly_without_retry(fault_server, scenario, match):
    with engine(fault_server, scenario) as e:
        with pytest.raises(EngineError, match=match):
            e.complete(Request.chat("hi"))
    assert fault_server.counts[scenario] == 1


def test_malformed_non_stream_body(fault_server):
    with engine(fault_server, "malformed-body", stream=False) as e:
        with pytest.raises(EngineError, match="malformed JSON"):
            e.complete(Request.chat("hi"))


def test_read_timeout_does_not_hang(fault_server):
    with engine(fault_server, "hang", read_timeout_s=0.2) as e:
        with pytest.raises(EngineError, match="no data for 0.2s"):
            e.complete(Request.chat("hi"))


def test_unreachable_server(closed_port):
    e = OpenAIEngine(f"http://127.0.0.1:{closed_port}/v1#m", {**FAST, "max_retries": 1})
    with pytest.raises(EngineError, match="cannot reach .* after 2 tries"):
        e.complete(Request.chat("hi"))


def test_model_discovery(fault_server):
    with engine(fault_server, "ok", model=None) as e:
        e.complete(Request.chat("hi"))
        assert e.model_id == "only-model"
    with engine(fault_server, "two-models", model=None) as e:
        with pytest.raises(InvalidInput, match="serves 2 models"):
            e.complete(Request.chat("hi"))


def test_concurrency_limit_per_endpoint(fault_server):
    url = fault_server.url("slow-ok") + "#m"
    engines = [OpenAIEngine(url, {**FAST, "max_concurrency": 2}) for _ in range(2)]
    threads = [threading.Thread(target=engines[i % 2].complete_many,
                                args=([Request.chat("hi")] * 3,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert fault_server.counts["slow-ok"] == 12
    assert 1 <= fault_server.max_in_flight <= 2
    assert endpoint_slots(fault_server.url("slow-ok"), 99) is engines[0]._slots


def test_api_key_from_environment(fault_server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test")
    e = engine(fault_server, "ok", api_key_env="MY_KEY")
    assert e._client.headers["Authorization"] == "Bearer sk-test"


def test_bad_url_and_preset_spec():
    with pytest.raises(InvalidInput, match="needs a URL"):
        OpenAIEngine("localhost:8000#m")
    e = load_engine("ollama:llama3.2")
    assert (e.base_url, e.model_id) == ("http://localhost:11434/v1", "llama3.2")
