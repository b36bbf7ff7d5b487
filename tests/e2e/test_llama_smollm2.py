"""The llama-cpp engine and `openpick ask` on the real SmolLM2-135M-Instruct GGUF."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from openpick.engines import ContextOverflow, EngineError, Request
from openpick.engines.llama_cpp import LlamaCppEngine
from openpick.errors import InvalidInput, NotFound

pytestmark = pytest.mark.slow

SMOLLM2_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def test_ask_streams_answer_and_timing_line(smollm2_path, cli):
    out = cli("ask", "-m", "smollm2-135m", "What is the capital of France? Answer in one sentence.")
    assert out.returncode == 0, out.stderr
    assert "Paris" in out.stdout
    assert "TTFT" in out.stderr and "tok/s" in out.stderr and "completion tokens" in out.stderr


def test_ask_json_documents_the_result(smollm2_path, cli):
    out = cli("ask", "-m", "smollm2-135m", "--json", "-n", "8", "Say hello.")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"text", "finish_reason", "usage", "timings", "model"}
    assert data["usage"]["completion_tokens"] <= 8 and data["usage"]["prompt_tokens"] > 0
    assert data["timings"]["total_s"] >= data["timings"]["ttft_s"] > 0
    assert data["model"] == {"engine": "llama-cpp", "name": "smollm2-135m",
                             "path": str(smollm2_path), "sha256": SMOLLM2_SHA,
                             "record_id": "HuggingFaceTB/SmolLM2-135M-Instruct"}


def test_chat_usage_counts_by_own_tokenizer(smollm2):
    r = smollm2.complete(Request.chat("What is the capital of France? Answer in one sentence.",
                                      system="You are a helpful assistant.", max_tokens=32))
    assert "Paris" in r.text
    assert r.finish_reason == "stop"
    llm = smollm2.load()
    assert r.usage.completion_tokens == len(llm.tokenize(r.text.encode(), add_bos=False)) or (
        abs(r.usage.completion_tokens - len(llm.tokenize(r.text.encode(), add_bos=False))) <= 2)


def test_plain_completion_and_stop(smollm2):
    r = smollm2.complete(Request(prompt="The capital of France is", max_tokens=16, stop=["."]))
    assert "Paris" in r.text and "." not in r.text
    assert r.finish_reason == "stop"


def test_max_tokens_and_seeded_sampling(smollm2):
    req = Request(prompt="Once upon a time", max_tokens=12, temperature=0.9, seed=7)
    a, b = smollm2.complete(req), smollm2.complete(req)
    assert a.text == b.text and a.finish_reason == "length" and a.usage.completion_tokens == 12


def test_shared_prefix_reuses_kv_cache(smollm2):
    system = "You are a helpful assistant. " * 20
    first = smollm2.complete(Request.chat("Name a colour.", system=system, max_tokens=4))
    before = smollm2.stats["prefilled_tokens"]
    second = smollm2.complete(Request.chat("Name a fruit.", system=system, max_tokens=4))
    prompt_eval = smollm2.stats["prefilled_tokens"] - before
    assert second.usage.prompt_tokens > 100
    assert prompt_eval < second.usage.prompt_tokens / 4, (prompt_eval, first.usage)


def test_prompt_longer_than_context(smollm2_path, cli):
    with LlamaCppEngine(str(smollm2_path), {"n_ctx": 64}) as e:
        with pytest.raises(ContextOverflow, match="context holds 64"):
            e.complete(Request(prompt="word " * 200))
    out = cli("ask", "-m", "smollm2-135m", "-o", "n_ctx=64", "word " * 200)
    assert out.returncode != 0
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_bad_files_give_one_line_errors(tmp_path, smollm2_path, cli):
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(smollm2_path.read_bytes()[: 1 << 20])
    with pytest.raises(EngineError, match="could not load"):
        LlamaCppEngine(str(truncated))
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    with pytest.raises(InvalidInput, match="not a GGUF file"):
        LlamaCppEngine(str(not_gguf))
    with pytest.raises(NotFound):
        LlamaCppEngine(str(tmp_path / "missing.gguf"))
    for spec, code in [(f"llama-cpp:{truncated}", 4), (f"llama-cpp:{not_gguf}", 1),
                       ("no-such-model", 2)]:
        out = cli("ask", "-m", spec, "hi")
        assert out.returncode == code, (spec, out.stderr)
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_malicious_template_inside_gguf_is_sandboxed(tmp_path, smollm2_path):
    """CVE-2024-34359: the chat template stored in a GGUF must not run code."""
    marker = tmp_path / "pwned"
    evil = ("{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
            "{% for m in messages %}{{ m.content }}{% endfor %}")
    model = tmp_path / "evil.gguf"
    tool = Path(sys.executable).parent / "gguf-new-metadata"
    if not tool.exists():
        pytest.skip("gguf-new-metadata (from the gguf package) is not installed")
    subprocess.run([str(tool), str(smollm2_path), str(model), "--chat-template", evil,
                    "--force"], check=True, capture_output=True, timeout=120)
    with LlamaCppEngine(str(model)) as e:
        assert e.chat_template == evil
        with pytest.raises(InvalidInput, match="unsafe"):
            e.complete(Request.chat("hi", max_tokens=2))
    assert not marker.exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
