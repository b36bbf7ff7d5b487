"""The transformers engine on a tiny random Llama built offline (no hub downloads)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from openpick.engines import ContextOverflow, Request, load_engine
from openpick.errors import InvalidInput

pytest.importorskip("torch", reason="torch missing: pip install 'openpick[hf]'")
pytest.importorskip("transformers", reason="transformers missing: pip install 'openpick[hf]'")

_spec = importlib.util.spec_from_file_location(
    "make_tiny_llama", Path(__file__).parents[1] / "fixtures" / "engines" / "make_tiny_llama.py")
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny.build(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def engine(tiny_dir):
    from openpick.engines.transformers import TransformersEngine

    e = TransformersEngine(str(tiny_dir), {"device": "cpu"})
    yield e
    e.close()


def test_streams_with_usage_and_identity(engine):
    deltas = []
    r = engine.complete(Request.chat("Hello", max_tokens=6), on_delta=deltas.append)
    assert r.usage.completion_tokens <= 6 and r.usage.prompt_tokens > 3
    assert r.text == "".join(d.text for d in deltas)
    assert r.finish_reason in ("stop", "length")
    assert r.model.engine == "transformers" and r.model.path.endswith("tiny-llama0")


def test_greedy_is_deterministic_and_batch_matches_single(engine):
    reqs = [Request(prompt=p, max_tokens=5) for p in
            ["The capital", "Hello world, how are you", "def reverse"]]
    single = [engine.complete(r) for r in reqs]
    assert [engine.complete(r).text for r in reqs] == [s.text for s in single]
    batched = engine.complete_many(reqs)
    assert [b.usage.completion_tokens for b in batched] == [s.usage.completion_tokens for s in single]
    assert [b.text for b in batched] == [s.text for s in single]


def test_seeded_sampling(engine):
    r = Request(prompt="Open", max_tokens=8, temperature=1.0, seed=11)
    assert engine.complete(r).text == engine.complete(r).text


def test_context_overflow(engine):
    with pytest.raises(ContextOverflow):
        engine.complete(Request(prompt="Paris " * 400, max_tokens=2))


def test_pickle_weights_refused_unless_allowed(tmp_path_factory):
    folder = tiny.build(tmp_path_factory.mktemp("tiny-pickle"), pickle=True)
    assert list(folder.glob("*.bin")) and not list(folder.glob("*.safetensors"))
    with pytest.raises(InvalidInput, match="pickle weights"):
        load_engine(f"hf:{folder}")
    with load_engine(f"hf:{folder}", {"allow_pickle": True, "device": "cpu"}) as e:
        assert e.complete(Request(prompt="Hello", max_tokens=2)).usage.completion_tokens <= 2


def test_trust_remote_code_is_off_by_default():
    from openpick.engines.transformers import TransformersOptions

    assert TransformersOptions().trust_remote_code is False
    assert TransformersOptions().allow_pickle is False


def test_empty_folder(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InvalidInput, match="no model weights"):
        load_engine(f"hf:{tmp_path}")


# -- batching: many threads, one scheduler ----------------------------------------------------
PROMPTS = ["The capital", "Hello world, how are you", "def reverse", "Open models run",
           "The capital of France is", "Hello", "def reverse(s): return",
           "Open models run on laptops and servers. The"]


def _in_threads(engine, requests):
    """Each request streamed from its own thread at once, as the runner and the server do."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(engine.complete, requests))


def test_options_are_native_and_max_parallel_is_batch_size(tiny_dir):
    from openpick.engines.base import NativeOptions
    from openpick.engines.transformers import TransformersEngine, TransformersOptions

    assert issubclass(TransformersOptions, NativeOptions)
    o = TransformersOptions(isolate=False, timeout_s=5, batch_size=3)
    assert (o.isolate, o.timeout_s, o.batch_size) == (False, 5, 3)
    with TransformersEngine(str(tiny_dir), {"device": "cpu", "batch_size": 3}) as e:
        assert e.max_parallel() == 3


def test_concurrent_greedy_matches_each_alone(engine):
    reqs = [Request(prompt=p, max_tokens=24) for p in PROMPTS]
    alone = [engine.complete(r) for r in reqs]
    assert {a.timings.parallel for a in alone} == {1}
    together = _in_threads(engine, reqs)
    assert [t.text for t in together] == [a.text for a in alone]
    assert [t.usage for t in together] == [a.usage for a in alone]
    assert [t.finish_reason for t in together] == [a.finish_reason for a in alone]
    assert max(t.timings.parallel for t in together) > 1
    assert all(t.timings.threads >= 1 for t in together)


def test_row_that_stops_early_leaves_and_the_others_go_on(engine):
    reqs = [Request(prompt=p, max_tokens=30) for p in PROMPTS[:4]]
    alone = [engine.complete(r) for r in reqs]
    text = alone[0].text
    stop = text[len(text) // 3: len(text) // 3 + 2]
    reqs[0] = Request(prompt=PROMPTS[0], max_tokens=30, stop=[stop])
    reqs[1] = Request(prompt=PROMPTS[1], max_tokens=3)
    together = _in_threads(engine, reqs)
    assert together[0].text == text[: text.index(stop)] and together[0].finish_reason == "stop"
    assert together[1].text == engine.complete(reqs[1]).text
    assert together[1].usage.completion_tokens == 3 and together[1].finish_reason == "length"
    assert [t.text for t in together[2:]] == [a.text for a in alone[2:]]


def test_a_late_request_joins_the_running_batch(engine):
    import threading
    import time

    long_req = Request(prompt="The capital", max_tokens=200)
    late_req = Request(prompt="Hello world, how are you", max_tokens=12)
    late_alone = engine.complete(late_req)
    late: dict = {}

    def run_late():
        late["start"] = time.perf_counter()
        late["result"] = engine.complete(
            late_req, on_delta=lambda d: late.setdefault("first", time.perf_counter()))

    joiner = threading.Thread(target=run_late)
    long_start = time.perf_counter()
    stream = engine.stream(long_req)
    for i, _ in enumerate(stream):
        if i == 0:
            joiner.start()  # the long request is decoding now
    joiner.join()
    long_res, late_res = stream.result, late["result"]
    assert long_res.usage.completion_tokens == 200
    assert late_res.text == late_alone.text
    assert late_res.timings.parallel == 2 and long_res.timings.parallel == 2
    # the late request's TTFT runs from its own start, not from the batch's
    assert late_res.timings.ttft_s <= late["first"] - late["start"]
    assert late_res.timings.ttft_s < late["first"] - long_start
    assert late_res.timings.ttft_s != long_res.timings.ttft_s


def test_seeds_reproduce_whatever_the_batch(engine):
    seeded = [Request(prompt="Open", max_tokens=20, temperature=1.0, seed=s) for s in (1, 2)]
    alone = [engine.complete(r).text for r in seeded]
    assert alone[0] != alone[1]
    company = [Request(prompt=p, max_tokens=20, temperature=0.7, top_p=0.9) for p in PROMPTS[:3]]
    together = _in_threads(engine, [*company, seeded[1], *company, seeded[0]])
    assert [together[3].text, together[7].text] == [alone[1], alone[0]]
    top_p = Request(prompt="Open", max_tokens=20, temperature=1.0, top_p=0.5, seed=3)
    assert engine.complete(top_p).text == _in_threads(engine, [top_p, *company])[0].text


def test_complete_many_keeps_order_beyond_the_batch_size(tiny_dir):
    from openpick.engines.transformers import TransformersEngine

    reqs = [Request(prompt=p, max_tokens=8 + i) for i, p in enumerate(PROMPTS)]
    with TransformersEngine(str(tiny_dir), {"device": "cpu", "batch_size": 3}) as e:
        alone = [e.complete(r) for r in reqs]
        many = e.complete_many(reqs)
    assert [m.text for m in many] == [a.text for a in alone]
    assert [m.usage.completion_tokens for m in many] == [a.usage.completion_tokens for a in alone]
    assert max(m.timings.parallel for m in many) <= 3


def test_a_closed_stream_leaves_the_batch(engine):
    gen = engine.generate(Request(prompt="The capital", max_tokens=200))
    next(gen)
    gen.close()  # the caller walks away after one token
    r = engine.complete(Request(prompt="Hello", max_tokens=5))
    assert r.usage.completion_tokens == 5 and r.timings.parallel == 1


def test_closed_engine_refuses(tiny_dir):
    from openpick.engines import EngineError
    from openpick.engines.transformers import TransformersEngine

    e = TransformersEngine(str(tiny_dir), {"device": "cpu"})
    assert e.complete(Request(prompt="Hello", max_tokens=2)).usage.completion_tokens <= 2
    e.close()
    e.close()
    with pytest.raises(EngineError, match="closed"):
        e.complete(Request(prompt="Hello", max_tokens=2))


def test_sliding_window_model_decodes_one_row_at_a_time(tiny_dir, tmp_path):
    """A sliding-window cache cannot be merged by padding: one row at a time, same answers."""
    from transformers import AutoTokenizer, MistralConfig, MistralForCausalLM

    from openpick.engines.transformers import TransformersEngine

    tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    config = MistralConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                           max_position_embeddings=256, sliding_window=8,
                           bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                           pad_token_id=tok.pad_token_id)
    import torch

    torch.manual_seed(0)
    MistralForCausalLM(config).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    with TransformersEngine(str(tmp_path), {"device": "cpu"}) as e:
        assert e.max_parallel() == 1
        reqs = [Request(prompt=p, max_tokens=16) for p in PROMPTS[:3]]
        alone = [e.complete(r).text for r in reqs]
        together = _in_threads(e, reqs)
    assert [t.text for t in together] == alone
    assert {t.timings.parallel for t in together} == {1}


def test_gpu_bench_refuses_without_cuda():
    import subprocess

    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here: the bench would run, not refuse")
    bench = Path(__file__).parents[2] / "bench" / "gpu_transformers.py"
    out = subprocess.run([sys.executable, str(bench)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "needs a CUDA GPU" in out.stderr and "Nothing measured" in out.stderr
