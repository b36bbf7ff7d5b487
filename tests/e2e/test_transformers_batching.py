"""Continuous batching in the transformers engine on the real SmolLM2 (its embedded GGUF,
dequantized to float32 through gguf_file=): concurrent requests give what each gives alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from openpick.engines import Request

pytestmark = pytest.mark.slow

SYSTEM = "You are a helpful assistant."
QUESTIONS = ["What is the capital of France?", "Write a haiku about the sea.", "What is 17 + 25?",
             "Name three primary colors.", "Translate 'good morning' to Spanish.",
             "What is Python?", "Give me a synonym for happy.", "Who wrote Romeo and Juliet?"]


@pytest.fixture(scope="module")
def engine(smollm2_path):
    pytest.importorskip("accelerate", reason="GGUF in transformers needs: pip install 'openpick[hf]'")
    from openpick.engines.transformers import TransformersEngine

    e = TransformersEngine(str(smollm2_path), {"device": "cpu", "batch_size": 8})
    yield e
    e.close()


@pytest.fixture(scope="module")
def requests_and_alone(engine):
    reqs = [Request.chat(q, system=SYSTEM, max_tokens=32) for q in QUESTIONS]
    return reqs, [engine.complete(r) for r in reqs]


def _in_threads(engine, requests):
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(engine.complete, requests))


def test_eight_concurrent_greedy_requests_match_each_alone(engine, requests_and_alone):
    reqs, alone = requests_and_alone
    assert "Paris" in alone[0].text
    together = _in_threads(engine, reqs)
    assert [t.text for t in together] == [a.text for a in alone]
    assert [t.usage for t in together] == [a.usage for a in alone]
    assert max(t.timings.parallel for t in together) == 8
    assert all(t.timings.ttft_s is not None for t in together)


def test_complete_many_keeps_order(engine, requests_and_alone):
    reqs, alone = requests_and_alone
    many = engine.complete_many(list(reversed(reqs)))
    assert [m.text for m in many] == [a.text for a in reversed(alone)]


def test_a_stopped_row_leaves_and_the_others_finish(engine, requests_and_alone):
    reqs, alone = requests_and_alone
    stop = " a"  # the haiku's answer has it; cut there, the rest go on without it
    assert stop in alone[1].text
    mixed = [*reqs[:4]]
    mixed[1] = Request.chat(QUESTIONS[1], system=SYSTEM, max_tokens=32, stop=[stop])
    together = _in_threads(engine, mixed)
    assert together[1].text == alone[1].text[: alone[1].text.index(stop)]
    assert together[1].finish_reason == "stop"
    assert [together[i].text for i in (0, 2, 3)] == [alone[i].text for i in (0, 2, 3)]


def test_a_late_request_joins_with_its_own_ttft(engine, requests_and_alone):
    reqs, alone = requests_and_alone
    long_req = Request.chat("Tell me a long story about a dragon.", system=SYSTEM,
                            max_tokens=48)
    late: dict = {}

    def run_late():
        late["start"] = time.perf_counter()
        late["result"] = engine.complete(
            reqs[0], on_delta=lambda d: late.setdefault("first", time.perf_counter()))

    joiner = threading.Thread(target=run_late)
    long_start = time.perf_counter()
    stream = engine.stream(long_req)
    for i, _ in enumerate(stream):
        if i == 0:
            joiner.start()
    joiner.join()
    long_res, late_res = stream.result, late["result"]
    assert long_res.usage.completion_tokens == 48
    assert late_res.text == alone[0].text
    assert late_res.timings.parallel == 2 and long_res.timings.parallel == 2
    assert late_res.timings.ttft_s <= late["first"] - late["start"]
    assert late_res.timings.ttft_s < late["first"] - long_start


def test_seeded_sampling_is_the_same_alone_and_in_a_batch(engine, requests_and_alone):
    reqs, _ = requests_and_alone
    seeded = Request.chat("Invent a name for a cat.", system=SYSTEM, max_tokens=16,
                          temperature=0.9, seed=42)
    alone = engine.complete(seeded).text
    assert engine.complete(seeded).text == alone
    company = [Request.chat(q, system=SYSTEM, max_tokens=16, temperature=0.9, seed=i)
               for i, q in enumerate(QUESTIONS[:5])]
    together = _in_threads(engine, [*company[:2], seeded, *company[2:], *reqs[:2]])
    assert together[2].text == alone
