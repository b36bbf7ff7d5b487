"""The transformers engine loading a real GGUF through gguf_file= (dequantized to torch)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from openpick.engines import Request, load_engine

pytestmark = pytest.mark.slow


def test_smollm2_gguf_through_transformers(smollm2_path):
    """Through load_engine, so in its worker process: concurrent requests share one batch."""
    pytest.importorskip("accelerate", reason="GGUF in transformers needs: pip install 'openpick[hf]'")
    question = Request.chat("What is the capital of France? Answer in one sentence.", system="You are a helpful assistant.",
                            max_tokens=16)
    others = [Request.chat(q, max_tokens=16) for q in ("What is 2 + 2?", "Name a color.",
                                                       "Say hello.")]
    with load_engine(f"hf:{smollm2_path}", {"device": "cpu"}) as e:
        alone = e.complete(question)
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(e.complete, [question, *others]))
    assert "Paris" in alone.text
    assert together[0].text == alone.text
    assert max(r.timings.parallel for r in together) > 1
    assert alone.model.path.endswith(smollm2_path.name)
    assert alone.model.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
