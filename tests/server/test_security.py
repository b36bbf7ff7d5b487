"""Security and limits: the key rule for binding, Bearer auth, UI login, request limits,
CORS, cross-origin posts, Host checks, and names that never reach the file system."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from openpick.errors import InvalidInput
from openpick.server import Settings, create_app
from openpick.server.auth import COOKIE, require_login, safe_next

KEY = "sk-test-0123456789"
MODELS = {"echo": "fake:echo"}
CHAT = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}


def client_for(**settings) -> TestClient:
    app = create_app(Settings(models=MODELS, **settings))

    @app.get("/private-page", dependencies=[Depends(require_login)])
    def private_page():  # what a UI page does
        return {"ok": True}

    return TestClient(app, base_url="http://127.0.0.1")


# -- binding -----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_non_loopback_without_key_is_refused(host):
    with pytest.raises(InvalidInput, match="needs an API key"):
        Settings(host=host).check()
    Settings(host=host, api_key=KEY).check()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_key(host):
    Settings(host=host).check()


def test_cli_refuses_to_start_with_one_line():
    env = {k: v for k, v in os.environ.items() if k != "OPENPICK_API_KEY"}
    out = subprocess.run(
        [sys.executable, "-c", "from openpick.cli.main import main; main()",
         "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPENPICK_API_KEY" in lines[0] and "Traceback" not in out.stderr


def test_key_comes_from_the_named_env_var(monkeypatch):
    monkeypatch.setenv("MY_KEY", KEY)
    s = Settings.from_env("MY_KEY", host="0.0.0.0")
    s.check()
    assert s.api_key == KEY and KEY not in repr(s)


# -- auth --------------------------------------------------------------------------------------

def test_bearer_key_guards_the_api():
    with client_for(api_key=KEY) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            r = c.post("/v1/chat/completions", json=CHAT, headers=headers)
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "invalid_api_key"
        assert c.get("/v1/models").status_code == 401
        assert c.get("/metrics").status_code == 401
        ok = {"Authorization": f"Bearer {KEY}"}
        assert c.post("/v1/chat/completions", json=CHAT, headers=ok).status_code == 200
        assert c.get("/metrics", headers=ok).status_code == 200
        # Health stays open for probes but shows nothing about models without the key.
        assert c.get("/health").json().keys() == {"status", "version"}
        assert "loaded" in c.get("/health", headers=ok).json()


def test_ui_login_sets_a_session_cookie():
    with client_for(api_key=KEY) as c:
        r = c.get("/private-page?tab=2", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Fprivate-page%3Ftab%3D2"
        assert "password" in c.get("/login").text
        bad = c.post("/login", data={"key": "nope"}, follow_redirects=False)
        assert bad.status_code == 401 and COOKIE not in bad.cookies
        r = c.post("/login", data={"key": KEY, "next": "/private-page"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/private-page"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/private-page").json() == {"ok": True}
        assert c.post("/v1/chat/completions", json=CHAT).status_code == 200
        c.post("/logout")
        assert c.get("/private-page", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site():
    for target in ("https://evil.example", "//evil.example", "/\\evil.example", "", None):
        assert safe_next(target) == "/"
    with client_for(api_key=KEY) as c:
        r = c.post("/login", data={"key": KEY, "next": "//evil.example/x"},
                   follow_redirects=False)
        assert r.headers["location"] == "/"


def test_without_a_key_pages_are_open():
    with client_for() as c:
        assert c.get("/private-page").json() == {"ok": True}


# -- limits ------------------------------------------------------------------------------------

def test_body_size_limit():
    with client_for(max_body_bytes=2048) as c:
        big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
        r = c.post("/v1/chat/completions", json=big)
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
        # No Content-Length (chunked): counted as it arrives.
        r = c.post("/v1/chat/completions", content=iter([b'{"model": "echo", ', b" " * 4000]),
                   headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_message_limits_and_token_cap():
    with client_for(max_messages=2, max_message_chars=10, max_tokens_cap=8) as c:
        many = {**CHAT, "messages": [{"role": "user", "content": "a"}] * 3}
        long = {**CHAT, "messages": [{"role": "user", "content": "a" * 11}]}
        cases = [(many, "messages"), (long, "messages.0.content"),
                 ({**CHAT, "max_tokens": 9}, "max_tokens"),
                 ({**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop")]
        for body, param in cases:
            r = c.post("/v1/chat/completions", json=body)
            assert r.status_code == 400 and r.json()["error"]["param"] == param
        r = c.post("/v1/completions", json={"model": "echo", "prompt": "a" * 11})
        assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"


# -- browsers ----------------------------------------------------------------------------------

def test_cors_is_off_unless_configured():
    with client_for() as c:
        r = c.options("/v1/chat/completions", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in r.headers
    with client_for(cors_origins=["https://app.example"]) as c:
        r = c.options("/v1/chat/completions", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = c.post("/v1/chat/completions", json=CHAT, headers={"Origin": "https://app.example"})
        assert r.status_code == 200


def test_cross_origin_posts_are_refused():
    with client_for() as c:
        r = c.post("/v1/chat/completions", json=CHAT, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "bad_origin"
        same = c.post("/v1/chat/completions", json=CHAT, headers={"Origin": "http://127.0.0.1"})
        assert same.status_code == 200


def test_foreign_host_header_is_refused_on_an_open_loopback_server():
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    with client_for() as c:
        assert c.get("/v1/models", headers={"Host": "evil.example"}).status_code == 400
        assert c.get("/v1/models", headers={"Host": "localhost:8080"}).status_code == 200


# -- names, never paths ------------------------------------------------------------------------

def test_model_names_never_reach_the_file_system(tmp_path, monkeypatch):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    app = create_app(Settings(models=MODELS))
    opened = []
    monkeypatch.setattr(app.state.openpick.pool, "_loader",
                        lambda spec, opts: opened.append(spec))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for name in (str(gguf), "model.gguf", "hf", "./hf", "../etc/passwd",
                     f"llama-cpp:{gguf}", "fake:echo", "hf:hf", "openai:http://x/v1#m",
                     "ollama:llama3"):
            for path in ("/v1/chat/completions", "/v1/completions"):
                body = {"model": name, "prompt": "x",
                        "messages": [{"role": "user", "content": "x"}]}
                r = c.post(path, json=body)
                assert r.status_code == 404, name
                assert r.json()["error"]["code"] == "model_not_found"
    assert opened == []
