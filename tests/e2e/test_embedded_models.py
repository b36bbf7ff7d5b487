"""The split embedded models: assembled into the cache dir, verified, and run."""

from __future__ import annotations

import json

import pytest

from openpick.engines import Request, load_engine
from openpick.engines.embedded import EMBEDDED
from openpick.paths import cache_dir

pytestmark = pytest.mark.slow


def test_qwen_coder_json(cli, require_embedded):
    require_embedded("qwen2.5-coder-0.5b")
    out = cli("ask", "-m", "qwen2.5-coder-0.5b", "--json", "-n", "24",
              "Write a Python expression that reverses the string s. Code only.")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "[::-1]" in data["text"]
    assert data["model"]["sha256"] == EMBEDDED["qwen2.5-coder-0.5b"].sha256
    assert data["model"]["path"].startswith(str(cache_dir()))
    assert data["model"]["record_id"] == "Qwen/Qwen2.5-Coder-0.5B-Instruct"


def test_gemma_base_model_plain_completion(require_embedded):
    require_embedded("gemma3-270m")
    with load_engine("gemma3-270m") as engine:
        r = engine.complete(Request(prompt="The capital of France is", max_tokens=8))
    assert r.usage.completion_tokens > 0 and r.text.strip()
    assert r.model.sha256 == EMBEDDED["gemma3-270m"].sha256
