"""The transformers engine loading a real GGUF through gguf_file= (dequantized to torch)."""

import pytest

from openpick.engines import Request, load_engine

pytestmark = pytest.mark.slow


def test_smollm2_gguf_through_transformers(smollm2_path):
    pytest.importorskip("accelerate", reason="GGUF in transformers needs: pip install 'openpick[hf]'")
    with load_engine(f"hf:{smollm2_path}", {"device": "cpu"}) as e:
        assert e.gguf_file == smollm2_path.name
        r = e.complete(Request.chat("What is the capital of France?",
                                    system="You are a helpful assistant.", max_tokens=16))
    assert "Paris" in r.text
    assert r.model.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
