"""`openpick compare` end to end on the real embedded SmolLM2 (short: 3 cases, 16 tokens)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

SUITE = """
name: e2e-mini
defaults: {max_tokens: 16, temperature: 0}
cases:
  - id: capital
    prompt: "What is the capital of France? One word."
    assert: [{icontains: paris}]
  - id: sum
    prompt: "What is 2 + 2? Answer with the number only."
    assert: [{number: 4}]
  - id: color
    prompt: "Name one color of the rainbow."
    tags: [easy]
    assert: [{icontains-any: [red, orange, yellow, green, blue, indigo, violet]}]
"""


def test_compare_smollm2_json_then_cached_rerun(tmp_path, cli, require_embedded):
    require_embedded("smollm2-135m")
    suite = tmp_path / "mini.yaml"
    suite.write_text(SUITE)
    r = cli("compare", str(suite), "-m", "smollm2-135m", "--json", timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads(r.stdout)
    assert data["run"]["status"] == "finished"
    (entry,) = data["summary"]["entries"]
    assert 0 <= entry["pass_low"] <= entry["pass_rate"] <= entry["pass_high"] <= 1
    results = data["results"]
    assert len(results) == 3 and all(x["error"] is None and x["output"] for x in results)
    assert [x["case_id"] for x in results] == ["capital", "sum", "color"]  # suite order
    assert all(x["completion_tokens"] <= 16 and x["peak_rss_bytes"] > 0 for x in results)
    assert all(x["threads"] >= 1 and x["parallel"] >= 1 for x in results)
    (model,) = data["run"]["models"]
    assert len(model["identity"]["sha256"]) == 64 and model["license"]

    again = json.loads(cli("compare", str(suite), "-m", "smollm2-135m", "--json",
                           timeout=300).stdout)
    assert all(x["cached"] for x in again["results"])
    assert [x["output"] for x in again["results"]] == [x["output"] for x in results]
