"""A worker that dies mid-stream costs its request only: in compare, in serve, in chat.

The model is the fake engine in a real worker process, configured in openpick.toml like a
user's model, that segfaults for real on prompts containing BOOM.
"""

from __future__ import annotations

import json

import httpx
import pytest

from openpick.chat import ChatSession
from openpick.engines import config
from openpick.engines.config import ModelEntry
from openpick.evals.runner import RunOptions, compare
from openpick.server import Settings, serve_in_thread
from openpick.store.runs import RunStore


def add_crashy(name="crashy", **opts):
    config.add_model(name, ModelEntry(engine="fake", path="echo",
                                      options={"isolate": True, "crash_on": "BOOM", **opts}))


SUITE = """
name: crash
cases:
  - {id: c0, prompt: "say alpha now", assert: [{icontains: say}]}
  - {id: c1, prompt: "say beta BOOM gamma delta now", assert: [{icontains: say}]}
  - {id: c2, prompt: "say epsilon now", assert: [{icontains: say}]}
  - {id: c3, prompt: "say zeta now", assert: [{icontains: say}]}
"""


def test_compare_records_the_crashed_case_and_a_rerun_redoes_only_it(tmp_path):
    marker = tmp_path / "crashed-once"
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    add_crashy(crash_once_file=str(marker))
    info, results = compare(str(suite), ["crashy"], RunOptions())
    assert info.status == "finished"
    by_case = {r.case_id: r for r in results}
    assert by_case["c1"].error and "SIGSEGV" in by_case["c1"].error
    assert "crashy" in by_case["c1"].error
    assert all(by_case[c].passed and not by_case[c].error for c in ("c0", "c2", "c3"))
    first = {c: r.created_at for c, r in by_case.items()}
    # resuming the run: only the errored case runs (the fault is gone: the marker exists)
    info2, results2 = compare(str(suite), ["crashy"], RunOptions(), resume=info.id)
    assert info2.id == info.id and info2.status == "finished"
    again = {r.case_id: r for r in results2}
    assert again["c1"].passed and not again["c1"].error
    assert {c: again[c].created_at for c in ("c0", "c2", "c3")} == \
        {c: first[c] for c in ("c0", "c2", "c3")}, "finished cases must not be redone"
    assert RunStore().count(info.id) == 4
    # the same command again: a new run, every answer from the cache (errors never are)
    info3, results3 = compare(str(suite), ["crashy"], RunOptions())
    assert info3.id != info.id and all(r.cached and r.passed for r in results3)


def test_serve_answers_the_next_request_and_other_models_after_a_crash():
    add_crashy()
    with serve_in_thread(Settings(port=0, models={"echo": "fake:echo"})) as server:
        url = server.url + "/v1/chat/completions"

        def chat(model, text, stream=False):
            body = {"model": model, "messages": [{"role": "user", "content": text}],
                    "stream": stream}
            return httpx.post(url, json=body, timeout=60)

        bad = chat("crashy", "one two BOOM three")
        assert bad.status_code >= 500
        assert "SIGSEGV" in json.dumps(bad.json())
        streamed = chat("crashy", "one two BOOM three", stream=True)
        assert "SIGSEGV" in streamed.text  # an error event, after the first words
        ok = chat("crashy", "after the crash")
        assert ok.status_code == 200
        assert ok.json()["choices"][0]["message"]["content"] == "after the crash"
        assert chat("echo", "other model").json()["choices"][0]["message"]["content"] == \
            "other model"
        health = httpx.get(server.url + "/health", timeout=10)
        assert health.status_code == 200
        (crashy,) = [m for m in health.json()["loaded"] if m["model"] == "crashy"]
        assert crashy["worker_restarts"] == 2 and crashy["worker_pid"]
        metrics = httpx.get(server.url + "/metrics", timeout=10).text
        assert 'openpick_worker_restarts{model="crashy"} 2.0' in metrics


def test_chat_says_what_happened_and_keeps_the_conversation():
    add_crashy()
    s = ChatSession("crashy")
    try:
        assert s.send("first question").text == "first question"
        from openpick.engines.process import WorkerCrashed

        with pytest.raises(WorkerCrashed) as info:
            s.send("now BOOM goes the model")
        assert "SIGSEGV" in str(info.value)
        assert [m.content for m in s.messages()] == ["first question", "first question"]
        assert s.send("second question").text == "second question"
        conv = s.store.get(s.id)
        assert [m.content for m in conv.messages] == ["first question", "first question",
                                                      "second question", "second question"]
    finally:
        s.close()


def test_chat_cli_reports_the_crash_and_continues(tmp_path):
    add_crashy()
    from typer.testing import CliRunner

    from openpick.cli.main import app

    out = CliRunner().invoke(app, ["chat", "-m", "crashy", "--system", ""],
                             input="hello\none two BOOM three\nagain\n/quit\n")
    assert out.exit_code == 0, out.output
    assert "SIGSEGV" in out.output and "again" in out.output
