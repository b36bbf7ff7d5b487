"""The openai engine against a real OpenAI-compatible server: llama_cpp.server + SmolLM2."""

from __future__ import annotations

import json

import pytest

from openpick.engines import Request, load_engine

pytestmark = pytest.mark.slow

SYSTEM = "You are a helpful assistant."


def test_chat_streams_from_real_server(llama_server):
    with load_engine(f"openai:{llama_server}#smollm2") as e:
        deltas = []
        r = e.complete(Request.chat("What is the capital of France? Answer in one sentence.", system=SYSTEM,
                                    max_tokens=32), on_delta=lambda d: deltas.append(d))
    assert "Paris" in r.text
    assert len([d for d in deltas if d.text]) > 1  # it really streamed
    assert r.finish_reason == "stop"
    assert r.usage.completion_tokens > 0
    assert r.timings.ttft_s is not None
    assert r.model.url == llama_server and r.model.model_id == "smollm2"


def test_plain_completion_and_limits(llama_server):
    with load_engine(f"openai:{llama_server}#smollm2") as e:
        r = e.complete(Request(prompt="The capital of France is", max_tokens=6))
    assert r.usage.completion_tokens <= 6 and r.text


def test_model_discovered_and_many_requests(llama_server):
    with load_engine(f"openai:{llama_server}", {"max_concurrency": 2}) as e:
        results = e.complete_many([Request(prompt=f"{n} + {n} =", max_tokens=3) for n in range(3)])
        assert e.model_id == "smollm2"
    assert len(results) == 3 and all(r.text for r in results)


def test_ask_cli_over_server(llama_server, cli):
    out = cli("ask", "-m", f"openai:{llama_server}#smollm2", "--json", "-n", "16",
              "What is the capital of France? Answer in one sentence.")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "Paris" in data["text"]
    assert data["model"]["engine"] == "openai"


def test_unknown_model_is_client_error(llama_server):
    # llama_cpp.server serves whatever alias it is asked for, so check an unknown route
    # instead: a 404 is a client error, reported once, not retried.
    from openpick.engines.openai import OpenAIEngine
    from openpick.engines import EngineError

    with OpenAIEngine(llama_server.replace("/v1", "/nope") + "#smollm2") as e:
        with pytest.raises(EngineError, match="answered 404"):
            e.complete(Request.chat("hi"))
