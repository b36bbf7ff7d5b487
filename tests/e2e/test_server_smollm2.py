"""`openpick serve` on the real embedded SmolLM2, called by the official openai client."""

from __future__ import annotations

import pytest

from openpick.paths import config_dir
from openpick.server import Settings, serve_in_thread

pytestmark = pytest.mark.slow

SYSTEM = "You are a helpful assistant."
QUESTION = "What is the capital of France? Answer in one sentence."


@pytest.fixture(scope="module")
def smollm2_server(smollm2_path):
    openai = pytest.importorskip("openai", reason="the openai client: pip install openai")
    with serve_in_thread(Settings(port=0)) as running:
        yield openai.OpenAI(base_url=running.url + "/v1", api_key="unused", max_retries=0,
                            timeout=120), running


def test_openai_client_chats_with_smollm2(smollm2_server):
    client, _ = smollm2_server
    assert "smollm2-135m" in [m.id for m in client.models.list()]
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    r = client.chat.completions.create(model="smollm2-135m", messages=messages, max_tokens=24,
                                       temperature=0)
    assert "Paris" in r.choices[0].message.content
    assert r.usage.prompt_tokens > 5 and 0 < r.usage.completion_tokens <= 24
    stream = client.chat.completions.create(model="smollm2-135m", messages=messages,
                                            max_tokens=24, temperature=0, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len([p for p in pieces if p]) > 1  # it really streamed, token by token
    assert "".join(pieces) == r.choices[0].message.content  # greedy: the same answer


def test_plain_completion_streams(smollm2_server):
    client, running = smollm2_server
    text = "".join(c.choices[0].text for c in client.completions.create(
        model="smollm2-135m", prompt="The capital of France is", max_tokens=6, temperature=0,
        stream=True))
    assert text.strip()
    assert "openpick_tokens_total" in running.app.state.openpick.metrics.render()[0].decode()


def test_alias_to_smollm2(smollm2_path):
    openai = pytest.importorskip("openai")
    (config_dir() / "openpick.toml").write_text('[aliases]\ndefault = "smollm2-135m"\n')
    with serve_in_thread(Settings(port=0)) as running:
        client = openai.OpenAI(base_url=running.url + "/v1", api_key="unused", max_retries=0)
        r = client.chat.completions.create(model="default", max_tokens=4, temperature=0,
                                           messages=[{"role": "user", "content": "Hi"}])
    assert r.model == "smollm2-135m" and r.choices[0].message.content
