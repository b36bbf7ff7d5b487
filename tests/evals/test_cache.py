"""Response cache keys and storage."""

from __future__ import annotations

import pytest

from openpick.engines.base import ModelIdentity, Request, Result, Timings, Usage
from openpick.evals.cache import ResponseCache, cache_key
from openpick.store.db import connect

GGUF = {"engine": "llama-cpp", "name": "a", "path": "/m/a.gguf", "sha256": "ab" * 32}


def result(text="hi", finish="stop") -> Result:
    return Result(text=text, finish_reason=finish, usage=Usage(prompt_tokens=3, completion_tokens=1),
                  timings=Timings(total_s=0.5, ttft_s=0.1),
                  model=ModelIdentity(engine="llama-cpp", name="a"))


def test_key_depends_on_weights_options_and_request_not_on_names():
    req = Request.chat("hello", max_tokens=8)
    k = cache_key(GGUF, {"n_ctx": 2048}, req)
    renamed = {**GGUF, "name": "b", "path": "/elsewhere/a.gguf", "record_id": "x/y"}
    assert cache_key(renamed, {"n_ctx": 2048}, req) == k
    assert cache_key({**GGUF, "sha256": "cd" * 32}, {"n_ctx": 2048}, req) != k
    assert cache_key(GGUF, {"n_ctx": 4096}, req) != k
    for change in ({"max_tokens": 9}, {"temperature": 0.5}, {"top_p": 0.9}, {"seed": 1},
                   {"stop": ["x"]}):
        assert cache_key(GGUF, {"n_ctx": 2048}, Request.chat("hello", **{"max_tokens": 8,
                                                                           **change})) != k
    assert cache_key(GGUF, {"n_ctx": 2048}, Request.chat("hello!", max_tokens=8)) != k
    assert cache_key(GGUF, {"n_ctx": 2048}, Request(prompt="hello", max_tokens=8)) != k


def test_server_identity_is_url_and_model_id():
    req = Request.chat("q")
    a = {"engine": "openai", "name": "x", "url": "http://h:1/v1", "model_id": "m"}
    assert cache_key(a, {}, req) == cache_key({**a, "name": "y"}, {}, req)
    assert cache_key(a, {}, req) != cache_key({**a, "model_id": "n"}, {}, req)
    assert cache_key(a, {}, req) != cache_key({**a, "url": "http://h:2/v1"}, {}, req)


def test_put_get_roundtrip_and_errors_refused():
    cache = ResponseCache(connect())
    cache.put("k1", "a", result("one"))
    assert cache.get("k1").text == "one" and cache.get("nope") is None
    assert set(cache.get_many(["k1", "k2"])) == {"k1"}
    with pytest.raises(ValueError, match="never cached"):
        cache.put("k2", "a", result("", finish="error"))
    assert cache.clear() == 1
