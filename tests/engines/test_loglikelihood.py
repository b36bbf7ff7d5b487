"""Scoring continuations (`Engine.loglikelihood`): lm-eval's token split, the worker RPC
(a crash costs one request), and real numbers on SmolLM2 from llama.cpp and transformers."""

from __future__ import annotations

import math

import pytest

from openpick.engines import load_engine
from openpick.engines.base import EngineError, Message, continuation_tokens, split_continuation
from openpick.engines.fake import FakeEngine
from openpick.engines.openai import OpenAIEngine
from openpick.engines.process import WorkerCrashed, WorkerEngine


def test_trailing_whitespace_moves_onto_the_continuation():
    assert split_continuation("Answer: ", "Paris") == ("Answer:", " Paris")
    assert split_continuation("Q?\n", " yes") == ("Q?", "\n yes")
    assert split_continuation("Answer:", " Paris") == ("Answer:", " Paris")


def test_continuation_tokens_are_those_after_the_context():
    assert continuation_tokens([1, 2], [1, 2, 3, 4], lambda: [9]) == [3, 4]
    # joining merged the context's last token with the continuation: tokenize it alone
    assert continuation_tokens([1, 2], [1, 5], lambda: [9]) == [9]


def test_engines_that_cannot_score_say_so():
    engine = OpenAIEngine("http://127.0.0.1:9/v1#m")
    try:
        with pytest.raises(EngineError, match="engine openai cannot score continuations.*"
                                              "llama-cpp, transformers"):
            engine.loglikelihood("a", [" b"])
        assert not OpenAIEngine.can_score
    finally:
        engine.close()


def test_scores_cross_the_worker_process_and_a_crash_costs_one_request(tmp_path):
    opts = {"isolate": True, "logprobs": {"b": -0.5}, "crash_on": "BOOM"}
    with load_engine("fake:echo", opts) as engine:
        assert isinstance(engine, WorkerEngine) and engine.can_score
        local = FakeEngine("echo", {"logprobs": {"b": -0.5}})
        msgs = [Message(role="user", content="pick")]
        assert engine.loglikelihood("a", [" b", " cc"]) == local.loglikelihood("a", [" b", " cc"])
        assert engine.loglikelihood(msgs, [" b"])[0].logprob == -0.5
        pid = engine.pid
        with pytest.raises(WorkerCrashed, match="SIGSEGV"):
            engine.loglikelihood("BOOM", [" b"])
        assert engine.loglikelihood("after", [" b"])[0].is_greedy  # a fresh worker
        assert engine.pid != pid and engine.restarts >= 1


def test_a_worker_that_crashes_once_while_scoring_is_retried(tmp_path):
    marker = tmp_path / "crashed"
    opts = {"isolate": True, "crash_on": "BOOM", "crash_once_file": str(marker)}
    with load_engine("fake:echo", opts) as engine:
        scores = engine.loglikelihood("BOOM", [" b", " cc"])
    assert marker.exists() and [s.logprob for s in scores] == [-2.0, -3.0]


def test_worker_errors_come_back_as_the_engines_own(tmp_path):
    with load_engine("fake:echo", {"isolate": True}) as engine:
        with pytest.raises(Exception, match="continuations"):
            engine.loglikelihood("a", [])  # a ScoreRequest needs one continuation or more


# -- real models -------------------------------------------------------------------------------
CONTEXT = "The capital of France is"


@pytest.fixture(scope="module")
def smollm2_path():
    from openpick.engines.embedded import EMBEDDED

    model = EMBEDDED["smollm2-135m"]
    if model.status() != "ready":
        pytest.skip(f"smollm2-135m is not installed: {model.pip}")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python missing: pip install 'openpick[llama]'")
    return model.path()


@pytest.mark.slow
def test_llama_cpp_scores_smollm2_consistently(smollm2_path):
    from openpick.engines.base import Request

    with load_engine(f"llama-cpp:{smollm2_path}", {"n_ctx": 512, "parallel": 1}) as engine:
        paris, banana = engine.loglikelihood(CONTEXT, [" Paris", " banana"])
        # (not 4 tokens: greedy writes "\n" "\n", which re-tokenizes as one "\n\n" token)
        greedy = engine.complete(Request(prompt=CONTEXT, max_tokens=2)).text
        (as_generated,) = engine.loglikelihood(CONTEXT, [greedy])
        (joined,) = engine.loglikelihood(CONTEXT, [" Paris, France"])
        (rest,) = engine.loglikelihood(CONTEXT + " Paris", [", France"])
        again = engine.loglikelihood(CONTEXT, [" banana", " Paris"])
    assert paris.is_greedy and not banana.is_greedy
    assert paris.tokens == 1 and -1.5 < paris.logprob < 0 and banana.logprob < paris.logprob - 5
    assert as_generated.tokens == 2 and as_generated.is_greedy  # what greedy decoding wrote
    # the chain rule: log p(" Paris, France") = log p(" Paris") + log p(", France" | " Paris")
    assert math.isclose(joined.logprob, paris.logprob + rest.logprob, abs_tol=1e-2)
    assert joined.tokens == paris.tokens + rest.tokens
    # the scoring cache (prefix kept between calls) gives the same numbers in any order
    assert math.isclose(again[1].logprob, paris.logprob, abs_tol=1e-4)
    assert math.isclose(again[0].logprob, banana.logprob, abs_tol=1e-4)


@pytest.mark.slow
def test_llama_cpp_and_transformers_agree_on_the_same_gguf(smollm2_path):
    """The same SmolLM2 GGUF: llama.cpp computes with its quantized kernels, transformers
    dequantizes it to float32; their log probabilities agree to a few tenths."""
    pytest.importorskip("accelerate", reason="GGUF in transformers needs: pip install 'openpick[hf]'")
    from openpick.engines.transformers import TransformersEngine

    conts = [" Paris", " banana", " London", " a city in Europe"]
    chat = [Message(role="user", content="What is the capital of France?")]
    from openpick.engines.llama_cpp import LlamaCppEngine

    with LlamaCppEngine(str(smollm2_path), {"n_ctx": 512, "parallel": 1}) as llama, \
            TransformersEngine(str(smollm2_path), {"device": "cpu"}) as hf:
        pairs = [(llama.loglikelihood(CONTEXT, conts), hf.loglikelihood(CONTEXT, conts)),
                 (llama.loglikelihood(chat, [" Paris", "Banana."]),
                  hf.loglikelihood(chat, [" Paris", "Banana."]))]
    for ll, tf in pairs:
        assert [s.tokens for s in ll] == [s.tokens for s in tf]  # the same tokenization
        for a, b in zip(ll, tf):
            assert abs(a.logprob - b.logprob) < 0.25 + 0.05 * a.tokens, (a, b)
        best = max(range(len(ll)), key=lambda i: ll[i].logprob)
        assert best == max(range(len(tf)), key=lambda i: tf[i].logprob)
    assert pairs[0][0][0].is_greedy and pairs[0][1][0].is_greedy
