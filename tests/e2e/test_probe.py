"""The extra-buffer probe on the real machine: a fresh user gets a working model with no
flag, told once; the answer is remembered per machine and llama-cpp-python version."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_a_fresh_home_probes_once_and_answers(tmp_path, smollm2_path, cli, monkeypatch):
    monkeypatch.delenv("OPENPICK_EXTRA_BUFFERS", raising=False)
    monkeypatch.setenv("OPENPICK_HOME", str(tmp_path / "home"))
    first = cli("ask", "-m", "smollm2-135m", "-n", "12", "What is the capital of France? Answer in one sentence.",
                timeout=300)
    assert first.returncode == 0, first.stderr
    assert "Paris" in first.stdout
    from openpick.engines import probe

    remembered = json.loads(probe.cache_path().read_text())
    (entry,) = remembered.values()
    assert isinstance(entry["extra_buffers"], bool)
    told = "extra CPU buffer types" in first.stderr
    assert told == (not entry["extra_buffers"]), first.stderr  # said when it fell back
    second = cli("ask", "-m", "smollm2-135m", "-n", "12", "What is the capital of France? Answer in one sentence.",
                 timeout=300)
    assert second.returncode == 0 and "Paris" in second.stdout
    assert "extra CPU buffer types" not in second.stderr, "said once, not every time"
    assert json.loads(probe.cache_path().read_text()) == remembered


def test_the_probe_sees_what_the_default_path_does_here(smollm2_path, monkeypatch, tmp_path):
    # Ground truth: llama-cpp-python's own default load and decode, in a throwaway process.
    import subprocess
    import sys

    monkeypatch.setenv("OPENPICK_HOME", str(tmp_path))
    code = ("import llama_cpp; l = llama_cpp.Llama(model_path=%r, n_ctx=256, verbose=False); "
            "print(l.create_completion('The capital of France is', max_tokens=3)"
            "['choices'][0]['text'])" % str(smollm2_path))
    raw = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    from openpick.engines import probe

    ok, detail = probe.probe_once()
    assert ok == (raw.returncode == 0), (raw.returncode, detail)
    if not ok:
        assert "died from SIG" in detail and "probe" in detail
