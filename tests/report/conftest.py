"""A small, deterministic run shared by the report tests: three models, 24 cases."""

from __future__ import annotations

import pytest

from openpick.store.records import AssertionResult, CaseResult, Grade, ModelInfo, RunInfo

HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def make_run() -> tuple[RunInfo, list[CaseResult]]:
    models = [
        ModelInfo(name="big-model", spec="openai:http://localhost:8080/v1#big", engine="openai",
                  record_id="org/big", license="Apache-2.0", mof_class=2,
                  usd_per_1m_input=0.5, usd_per_1m_output=1.5, price_source="catalog:prov"),
        ModelInfo(name="small-model", spec="llama-cpp:/m/small.gguf", engine="llama-cpp",
                  license="MIT", mof_class=1, machine_usd_per_hour=0.36,
                  price_source="machine:0.36/h"),
        ModelInfo(name="<b>odd</b>", spec="hf:/m/odd", engine="transformers", license=None),
    ]
    run = RunInfo(id="r1", suite="demo-suite", created_at="2025-01-01T00:00:00Z",
                  status="finished", models=models, planned=72)
    results = []
    for i in range(24):
        tag = ["facts", "math", "code"][i % 3]
        for m, passes in (("big-model", i % 8 != 0), ("small-model", i % 2 == 0),
                          ("<b>odd</b>", i % 4 == 0)):
            error = "timeout after 60 s" if (m == "<b>odd</b>" and i == 5) else None
            out = None if error else (HOSTILE if i == 1 else f"answer {i} from {m}")
            grade = None if error else Grade(passed=passes, score=1.0 if passes else 0.25, assertions=[
                AssertionResult(type="icontains", passed=passes, score=1.0 if passes else 0.0,
                                reason="found 'paris'" if passes else f"expected 'paris' in output <{i}>"),
                AssertionResult(type="is-json", passed=True, score=1.0, reason="valid JSON",
                                detail={"judge reasoning": "the <i>answer</i> is vague"} if i == 2 else None),
            ])
            results.append(CaseResult(
                run_id="r1", model=m, case_id=f"case-{i:02d}", tags=[tag],
                input=[{"role": "user", "content": f"Question {i} <please>"}], output=out,
                error=error, grade=grade, prompt_tokens=40, completion_tokens=20,
                ttft_s=0.1 if m == "big-model" else 0.3, total_s=0.5 if m == "big-model" else 2.0,
                decode_tok_s=50.0 if m == "big-model" else 12.0,
                peak_rss_bytes=None if m == "big-model" else 800_000_000))
    return run, results


@pytest.fixture
def sample():
    return make_run()


@pytest.fixture
def hostile():
    return HOSTILE
