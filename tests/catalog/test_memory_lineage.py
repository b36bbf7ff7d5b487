from __future__ import annotations

import pytest

from openpick.catalog import memory
from openpick.catalog.lineage import Lineage
from openpick.catalog.schema import ModelRecord
from openpick.errors import InvalidInput


def test_kv_cache_matches_llama2_7b():
    # Llama-2-7B: 32 layers × 4096 width × K,V × 2 bytes = 524,288 bytes per token
    kv = memory.kv_bytes_per_token(6_738_000_000)
    assert 0.85 < kv / 524_288 < 1.15
    assert memory.kv_bytes_per_token(6_738_000_000, ["gqa"]) == pytest.approx(kv / 4)


def test_estimate_orders_and_units():
    q4 = memory.estimate_bytes(7_000_000_000, quant="Q4_K_M")
    f16 = memory.estimate_bytes(7_000_000_000, quant="F16")
    assert 4e9 < q4 < 8e9 < f16
    assert memory.estimate_bytes(None) is None
    assert memory.parse_bytes("8GB") == 8e9
    assert memory.parse_bytes("16GiB") == 16 * 1024**3
    with pytest.raises(InvalidInput):
        memory.parse_bytes("lots")
    with pytest.raises(InvalidInput):
        memory.bits_per_weight("Q9_X")


def test_param_ranges():
    assert memory.parse_param_range("1B-8B") == (1_000_000_000, 8_000_000_000)
    assert memory.parse_param_range("..500M") == (None, 500_000_000)
    assert memory.parse_param_range(">=70B") == (70_000_000_000, None)
    lo, hi = memory.parse_param_range("7B")
    assert lo < 7e9 < hi
    with pytest.raises(InvalidInput):
        memory.parse_param_range("big")


def _r(id, bases=(), rel=None):
    return ModelRecord(id=id, name=id, developer="x", license="MIT", base_model=list(bases),
                       base_model_relation=rel)


def test_lineage_tree_and_cycles():
    recs = [_r("a/base"), _r("a/inst", ["a/base"], "finetune"), _r("b/med", ["a/inst"], "finetune"),
            _r("c/q4", ["a/base"], "quantized"), _r("d/merge", ["a/inst", "e/other"], "merge"),
            _r("x/c1", ["x/c2"]), _r("x/c2", ["x/c1"])]
    lin = Lineage(recs)
    tree = lin.tree("b/med")
    assert tree["ancestors"] == [["a/inst", "a/base"]]
    nodes = {n.id: n for n in lin.descendants("a/base").walk()}
    assert set(nodes) == {"a/base", "a/inst", "b/med", "c/q4", "d/merge"}
    assert nodes["c/q4"].relation == "quantized"
    # a base with no record still appears as an ancestor, marked unknown in its own tree
    assert ["e/other"] in lin.ancestors("d/merge")
    assert lin.descendants("e/other").known is False
    # cycles in the data terminate
    assert lin.ancestors("x/c1") and len(list(lin.descendants("x/c1").walk())) == 2
