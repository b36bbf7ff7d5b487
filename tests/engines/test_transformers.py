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
