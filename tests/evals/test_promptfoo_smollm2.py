"""A promptfoo config run unchanged on the real embedded SmolLM2 (2 cases, 8 tokens)."""

from __future__ import annotations

import importlib.util
import json

import pytest
from typer.testing import CliRunner

from openpick.cli.main import app
from openpick.engines.embedded import EMBEDDED

pytestmark = pytest.mark.slow

CONFIG = """
description: two questions, promptfoo style
prompts:
  - 'Answer in one word. {{question}}'
providers:
  - id: openai:chat:gpt-4.1-mini
    config: {temperature: 0, max_tokens: 8}
defaultTest:
  assert:
    - type: word-count
      value: {min: 1}
    - type: finish-reason
      value: stop
      weight: 0
tests:
  - vars: {question: What is the capital of France?}
    assert:
      - type: python
        value: "len(output) > 0 and context['vars']['question'].endswith('?')"
  - vars: {question: [What color is the sky?]}
    assert:
      - {type: levenshtein, value: Blue, threshold: 1000}
"""


def test_promptfoo_config_on_smollm2(tmp_path):
    if EMBEDDED["smollm2-135m"].status() != "ready":
        pytest.skip(f"smollm2-135m is not installed: {EMBEDDED['smollm2-135m'].pip}")
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python missing: pip install 'openpick[llama]'")
    p = tmp_path / "promptfooconfig.yaml"
    p.write_text(CONFIG)
    r = CliRunner().invoke(app, ["compare", str(p), "-m", "smollm2-135m", "--json"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    results = data["results"]
    assert [x["case_id"] for x in results] == ["test-1", "test-2"]
    assert all(x["error"] is None and x["output"] for x in results)
    assert all(x["completion_tokens"] <= 8 for x in results)
    for x in results:   # every assertion ran on the real answer
        types = [a["type"] for a in x["grade"]["assertions"]]
        assert types[:2] == ["word-count", "finish-reason"]
        assert any("finish reason" in a["reason"] for a in x["grade"]["assertions"])
    assert results[0]["grade"]["assertions"][2]["passed"]   # the python check
    assert results[1]["grade"]["passed"]
