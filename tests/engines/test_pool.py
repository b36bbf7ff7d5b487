import threading

import pytest

from openpick.engines import Request
from openpick.engines.fake import FakeEngine
from openpick.engines.pool import ModelPool
from openpick.errors import NotFound

MB = 1 << 20


def sized(size_mb):
    return f"fake:{size_mb}", {"size_bytes": size_mb * MB}


def test_lazy_load_and_sharing():
    loads = []

    def loader(spec, options):
        loads.append(spec)
        return FakeEngine(spec.split(":", 1)[1], options)

    with ModelPool(100 * MB, loader=loader) as pool:
        assert pool.loaded() == []
        with pool.use("fake:a") as e1, pool.use("fake:a") as e2:
            assert e1 is e2
        assert loads == ["fake:a"]


def test_lru_eviction_by_bytes():
    pool = ModelPool(100 * MB)
    engines = {}
    for n in (40, 50, 30):  # 120 MB > 100: the least recently used (40) goes
        spec, opts = sized(n)
        with pool.use(spec, opts) as e:
            engines[n] = e
    assert [k.split("?")[0] for k, _ in pool.loaded()] == ["fake:50", "fake:30"]
    assert engines[40].closed and not engines[50].closed
    spec, opts = sized(50)
    with pool.use(spec, opts):  # touch 50 → 30 is now the oldest
        pass
    with pool.use(*sized(25)):  # 105 MB: only the oldest (30) has to go
        pass
    assert [k.split("?")[0] for k, _ in pool.loaded()] == ["fake:50", "fake:25"]
    assert engines[30].closed and not engines[50].closed


def test_models_in_use_are_not_evicted():
    pool = ModelPool(50 * MB)
    with pool.use(*sized(40)) as big:
        with pool.use(*sized(30)):
            assert pool.total_bytes() == 70 * MB  # over budget while both are busy
            assert not big.closed
        assert not big.closed
    assert pool.total_bytes() <= 50 * MB


def test_load_errors_propagate_and_are_not_cached():
    pool = ModelPool()
    with pytest.raises(NotFound):
        with pool.use("no-such-model"):
            pass
    assert pool.loaded() == []


def test_threads_share_one_load():
    loads, gate = [], threading.Event()

    def loader(spec, options):
        loads.append(spec)
        gate.wait(5)
        return FakeEngine("shared")

    pool = ModelPool(loader=loader)
    results = []

    def worker():
        with pool.use("fake:shared") as e:
            results.append(e.complete(Request(prompt="x")).text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert loads == ["fake:shared"] and results == ["shared"] * 8


def test_unload_and_close():
    pool = ModelPool()
    with pool.use("fake:a") as a:
        assert not pool.unload("fake:a")  # busy
    assert pool.unload("fake:a") and a.closed
    with pool.use("fake:b") as b:
        pass
    pool.close()
    assert b.closed and pool.loaded() == []
