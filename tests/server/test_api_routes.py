"""Routes and aliases from openpick.toml: fallback on error and on timeout, and names."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from openpick.engines.base import Delta, Engine
from openpick.engines.pool import ModelPool
from openpick.engines.spec import load_engine
from openpick.errors import InvalidInput
from openpick.paths import config_dir
from openpick.server import Settings, create_app
from openpick.server.routes import ModelNames

TOML = """
[models.echo]
engine = "fake"
path = "echo"

[models.broken]
engine = "llama-cpp"
path = "/nonexistent/model.gguf"

[aliases]
default = "echo"
quick = "fast"

[routes.fast]
fallback = ["broken", "echo"]

[routes.patient]
fallback = ["sleepy", "echo"]
timeout_s = 0.2

[routes.doomed]
fallback = ["broken", "fake-crash"]
"""


class SleepyEngine(Engine):
    """Sits in 'prompt processing' until released, then answers."""

    name = "sleepy"

    def __init__(self):
        super().__init__("sleepy")
        self.release = threading.Event()

    def generate(self, request):
        self.release.wait(10)
        yield Delta(text="late", finish_reason="stop")


class CrashEngine(Engine):
    name = "crash"

    def generate(self, request):
        raise RuntimeError("boom")
        yield  # pragma: no cover


@pytest.fixture
def client(openpick_home):
    (config_dir() / "openpick.toml").write_text(TOML)
    sleepy = SleepyEngine()

    def loader(spec, opts):
        if spec == "sleepy":
            return sleepy
        if spec == "fake-crash":
            return CrashEngine("crash")
        return load_engine(spec, opts)

    app = create_app(Settings(), pool=ModelPool(loader=loader))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
    sleepy.release.set()


def ask(client, model):
    return client.post("/v1/chat/completions", json={
        "model": model, "messages": [{"role": "user", "content": "hi there"}]})


def test_names_include_routes_and_aliases(client):
    kinds = {m["id"]: m["kind"] for m in client.get("/v1/models").json()["data"]}
    assert kinds["fast"] == "route" and kinds["default"] == "alias" and kinds["echo"] == "model"


def test_alias_answers_with_the_real_model_name(client):
    r = ask(client, "default")
    assert r.status_code == 200 and r.json()["model"] == "echo"
    assert r.json()["choices"][0]["message"]["content"] == "hi there"


def test_route_falls_back_when_a_model_fails_to_load(client):
    for model in ("fast", "quick"):
        r = ask(client, model)
        assert r.status_code == 200 and r.json()["model"] == "echo"
    metrics = client.get("/metrics").text
    assert 'openpick_route_fallbacks_total{model="broken",route="fast"} 1.0' in metrics
    assert 'openpick_route_fallbacks_total{model="broken",route="quick"} 1.0' in metrics


def test_route_falls_back_on_timeout_streaming(client):
    r = client.post("/v1/chat/completions", json={
        "model": "patient", "stream": True, "messages": [{"role": "user", "content": "yo"}]})
    assert r.status_code == 200 and r.headers["x-openpick-model"] == "echo"
    assert '"content":"yo"' in r.text and r.text.rstrip().endswith("data: [DONE]")


def test_route_where_every_model_fails_is_503(client):
    r = ask(client, "doomed")
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["code"] == "model_unavailable" and "broken" in err["message"]
    assert "fake-crash" in err["message"]


def test_a_single_model_that_cannot_load_is_503(client):
    r = ask(client, "broken")
    assert r.status_code == 503 and "not found" in r.json()["error"]["message"]


def test_alias_loop_is_reported(openpick_home):
    (config_dir() / "openpick.toml").write_text('[aliases]\na = "b"\nb = "a"\n')
    with pytest.raises(InvalidInput, match="loop"):
        ModelNames().names()


def test_config_changes_are_picked_up(openpick_home):
    names = ModelNames()
    assert not names.known("later")
    path = config_dir() / "openpick.toml"
    path.write_text('[aliases]\nlater = "smollm2-135m"\n')
    future = time.time() + 5  # a different mtime even on coarse file systems
    import os

    os.utime(path, (future, future))
    assert names.resolve("later").candidates[0].spec == "smollm2-135m"
