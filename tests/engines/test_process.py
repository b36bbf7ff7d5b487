"""Worker processes: a native crash, kill or hang costs requests, never the caller.

The fake engine runs in a real worker process here (`isolate=True`) and crashes for real:
`crash_on` makes it read address 0 (a genuine SIGSEGV) or signal itself mid-stream.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from openpick.engines import Request, load_engine
from openpick.engines.base import EngineError
from openpick.engines.fake import FakeEngine
from openpick.engines.pool import ModelPool
from openpick.engines.process import WorkerCrashed, WorkerEngine, wrap
from openpick.errors import InvalidInput


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); its /proc state says Z
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def worker(**opts) -> WorkerEngine:
    return WorkerEngine(FakeEngine, "echo", {"isolate": True, **opts}, display_name="crashy")


def ask(engine, text: str, **kw) -> str:
    return engine.complete(Request.chat(text, **kw)).text


def test_a_native_engine_runs_in_its_own_process():
    with worker() as e:
        assert e.pid and e.pid != os.getpid() and alive(e.pid)
        assert ask(e, "hello there world") == "hello there world"
        assert e.identity().engine == "fake" and e.identity().name == "crashy"
        assert e.memory_bytes() > 1 << 20  # the worker's real RSS, not the 0 estimate
        assert e.peak_memory_bytes() >= e.memory_bytes()
        pid = e.pid
    assert wait_gone(pid), "close() must stop the worker"


def test_load_engine_isolates_only_when_asked_for_fake_and_by_default_for_native():
    assert isinstance(load_engine("fake:echo"), FakeEngine)
    e = load_engine("fake:echo", {"isolate": True})
    try:
        assert isinstance(e, WorkerEngine)
    finally:
        e.close()


@pytest.mark.parametrize("sig, words", [("SIGSEGV", "segmentation fault"),
                                        ("SIGKILL", "out-of-memory"),
                                        ("SIGABRT", "aborted")])
def test_a_crash_mid_stream_is_one_clear_error_and_the_next_request_works(sig, words):
    with worker(crash_on="BOOM", crash_signal=sig) as e:
        first = e.pid
        got = []
        with pytest.raises(WorkerCrashed) as info:
            for d in e.generate(Request.chat("one two BOOM three four")):
                got.append(d.text)
        msg = str(info.value)
        assert "crashy" in msg and sig in msg and words in msg, msg
        assert "next request starts a fresh worker" in msg
        assert "".join(got).strip() == "one two", "text before the crash was streamed"
        assert ask(e, "still here") == "still here"
        assert e.pid != first and e.restarts == 1
        assert wait_gone(first)


def test_a_hung_worker_is_killed_after_the_timeout():
    with worker(hang_on="STUCK", timeout_s=1.0) as e:
        hung = e.pid
        t0 = time.monotonic()
        with pytest.raises(EngineError) as info:
            ask(e, "a b STUCK c")
        assert time.monotonic() - t0 < 30
        assert "hung" in str(info.value) and "timeout_s" in str(info.value)
        assert wait_gone(hung)
        assert ask(e, "fine now") == "fine now"


def test_requests_waiting_without_text_are_resent_to_a_fresh_worker():
    # A request queued behind a crashing one had received nothing: it is sent once more.
    with worker(crash_on="BOOM", delay_s=0.5, parallel=2) as e:
        out, errs = {}, {}

        def go(key, text):
            try:
                out[key] = ask(e, text)
            except EngineError as x:
                errs[key] = x

        crash = threading.Thread(target=go, args=("crash", "w1 w2 BOOM"))
        crash.start()
        # crash: words at 0.5 s and 1.0 s, then the crash; calm: its first word would be at
        # 1.2 s, so it is in flight with no text when the worker dies
        time.sleep(0.7)
        calm = threading.Thread(target=go, args=("calm", "fine"))
        calm.start()
        crash.join(30)
        calm.join(30)
        assert isinstance(errs.get("crash"), WorkerCrashed)
        assert out.get("calm") == "fine", errs


def test_closing_a_stream_early_cancels_it_in_the_worker():
    with worker(delay_s=0.05) as e:
        gen = e.generate(Request.chat("a b c d e f g h i j k l m n o p"))
        assert next(gen).text
        gen.close()
        assert ask(e, "after cancel") == "after cancel"


def test_concurrent_requests_share_one_worker():
    with worker(delay_s=0.01, parallel=4) as e:
        assert e.max_parallel() == 4
        results = {}
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, ask(e, f"n {i} x")))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == {i: f"n {i} x" for i in range(8)}


def test_user_errors_in_the_worker_keep_their_type(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"not a gguf at all")
    from openpick.engines.llama_cpp import LlamaCppEngine

    with pytest.raises(InvalidInput) as info:
        wrap(LlamaCppEngine, str(bad), {"extra_buffers": False})
    assert "GGUF" in str(info.value) and str(bad) in str(info.value)


def test_workers_die_with_their_parent_even_after_kill_9(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from openpick.engines.fake import FakeEngine
        from openpick.engines.process import WorkerEngine
        e = WorkerEngine(FakeEngine, "echo", {"isolate": True})
        print(e.pid, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env={**os.environ})
    try:
        pid = int(parent.stdout.readline())
        assert alive(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_gone(pid), "an orphaned worker outlived its parent"
    finally:
        parent.kill()


def test_pool_budget_counts_worker_rss_and_evicts_by_stopping_workers():
    pool = ModelPool(budget_bytes=1)  # any real worker is over budget once idle
    with pool.use("fake:a", {"isolate": True}) as a:
        pid_a = a.pid
        assert pool.total_bytes() > 1 << 20  # measured RSS, while the estimate is 0
    # idle and over budget: evicted, its worker stopped
    assert pool.loaded() == [] and wait_gone(pid_a)
    pool.close()
