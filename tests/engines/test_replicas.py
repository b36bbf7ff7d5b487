"""One model behind several OpenAI-compatible replicas: spread, fail over, probe back in.

Every replica is a real HTTP server on 127.0.0.1 (conftest's ReplicaServer), killed and
restarted on the same port to play a replica that dies and comes back.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from typer.testing import CliRunner

from openpick.cli.main import app
from openpick.engines import EngineError, Request, load_engine
from openpick.engines.config import load_models
from openpick.engines.openai import OpenAIEngine, split_target, split_targets
from openpick.engines.replicas import probe_delay
from openpick.engines.spec import parse_spec
from openpick.errors import InvalidInput

FAST = {"backoff_base_s": 0.001, "backoff_max_s": 0.01, "max_retries": 2,
        "probe_interval_s": 0.05, "probe_interval_max_s": 0.2, "connect_timeout_s": 2.0,
        "read_timeout_s": 5.0, "timeout_s": 30.0}
HELLO = "Hello, world"


def replicated(urls, model="m", **opts) -> OpenAIEngine:
    return OpenAIEngine(",".join(urls) + f"#{model}", {**FAST, **opts})


def stats(engine) -> dict:
    return {s.url: s for s in engine.replica_stats()}


def wait_until(condition, timeout_s=10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- targets and identity ---------------------------------------------------------------------
def test_target_lists_replicas_and_identity_is_stable():
    a, b = "http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"
    assert split_targets(f"{b}, {a}/#m") == ([b, a], "m")
    assert split_target(f"{b},{a}#m") == (f"{a},{b}", "m")
    assert split_target(f"{a}/#m") == (a, "m")  # one URL: as before
    one, other = (OpenAIEngine(t, FAST, display_name="pair") for t in (f"{a},{b}#m", f"{b},{a}#m"))
    assert one.identity() == other.identity()
    assert (one.identity().engine, one.identity().url, one.identity().model_id) == (
        "openai", f"{a},{b}", "m")
    assert OpenAIEngine(f"{a}#m").identity().url == a
    for bad, match in [(f"{a},localhost:8000#m", "needs a URL"), (f"{a},#m", "needs a URL"),
                       (f"{a},{a}/#m", "listed twice")]:
        with pytest.raises(InvalidInput, match=match):
            OpenAIEngine(bad)


def test_command_line_spec_with_comma_separated_urls():
    e = load_engine("openai:http://127.0.0.1:2/v1,http://127.0.0.1:1/v1#m")
    assert isinstance(e, OpenAIEngine)
    assert [s.url for s in e.replica_stats()] == ["http://127.0.0.1:2/v1", "http://127.0.0.1:1/v1"]
    assert e.max_parallel() == 2 * e.options.max_concurrency
    assert OpenAIEngine("http://127.0.0.1:1/v1#m").max_parallel() == 8


def test_probe_backoff_doubles_up_to_the_cap():
    assert [probe_delay(k, 1.0, 30.0) for k in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


# -- spreading load ---------------------------------------------------------------------------
def test_load_spreads_across_replicas(replica_server):
    a, b = replica_server(), replica_server()
    with replicated([a.url("replica"), b.url("replica")], max_concurrency=2) as e:
        for _ in range(4):  # one at a time: equally idle, so round-robin
            assert e.complete(Request.chat("hi")).text == HELLO
        assert (a.served(), b.served()) == (2, 2)
        results = e.complete_many([Request.chat(f"q{i}") for i in range(12)])
        assert [r.text for r in results] == [HELLO] * 12
        s = stats(e)
    assert a.served() + b.served() == 16 and a.served() > 2 and b.served() > 2
    assert a.max_in_flight <= 2 and b.max_in_flight <= 2  # per-replica limits stay
    assert {(x.in_flight, x.healthy, x.failures) for x in s.values()} == {(0, True, 0)}
    assert sum(x.served for x in s.values()) == 16
    assert all(r.model.url == ",".join(sorted([a.url("replica"), b.url("replica")]))
               for r in results)


def test_replica_dies_mid_run_then_comes_back(replica_server):
    a, b = replica_server(), replica_server()
    ua, ub = a.url("replica"), b.url("replica")
    e = replicated([ua, ub], max_concurrency=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(e.complete, Request.chat(f"q{i}")) for i in range(30)]
        assert wait_until(lambda: a.served() >= 3)
        a.kill()  # in-flight requests there are cut; new ones are refused
        texts = [f.result(timeout=60).text for f in futures]
    assert texts == [HELLO] * 30, "every request succeeds on the survivor"
    s = stats(e)
    assert not s[ua].healthy and s[ua].failures >= 1 and s[ua].last_error
    assert s[ub].healthy and s[ub].served >= 30 - a.served()
    assert e.max_parallel() == 2
    assert wait_until(lambda: stats(e)[ua].consecutive_failures >= 2), "probes keep failing"
    assert not stats(e)[ua].healthy

    back = replica_server(a.port)  # the same replica restarts
    assert wait_until(lambda: stats(e)[ua].healthy), "probed back in"
    assert e.max_parallel() == 4
    for i in range(4):
        assert e.complete(Request.chat(f"again {i}")).text == HELLO
    assert back.served() >= 1, "it gets work again"
    assert stats(e)[ua].consecutive_failures == 0
    e.close()


def test_all_replicas_down_is_one_clear_error(closed_ports):
    urls = [f"http://127.0.0.1:{closed_ports()}/v1" for _ in range(2)]
    with replicated(urls) as e:
        with pytest.raises(EngineError) as err:
            e.complete(Request.chat("hi"))
        msg = str(err.value)
        assert msg.startswith("all 2 replicas of model m failed or are down")
        assert all(f"{u} (cannot reach {u}/chat/completions" in msg for u in urls)
        assert not any(s.healthy for s in e.replica_stats())
        assert e.max_parallel() == e.options.max_concurrency
        with pytest.raises(EngineError, match="all 2 replicas"):  # fails fast while down
            e.complete(Request.chat("again"))


def test_all_down_by_5xx_names_each_error(replica_server):
    s = replica_server()
    with replicated([s.url("always-500"), s.url("400")]) as e, \
            replicated([s.url("always-500"), s.url("503-503-then-ok")], max_retries=1) as f:
        with pytest.raises(EngineError, match="max_tokens is too large"):
            e.complete(Request.chat("hi"))  # first the 5xx one, then a 4xx: not a failover
        with pytest.raises(EngineError, match=r"all 2 replicas.*answered 500.*answered 503"):
            f.complete(Request.chat("hi"))


# -- what moves to another replica, and what does not -----------------------------------------
@pytest.mark.parametrize("scenario,tries,opts", [
    ("headers-then-drop", 1, {}),           # stream broken before the first token
    ("hang", 1, {"read_timeout_s": 0.2}),   # timed out before the first token
    ("always-500", 3, {}),                  # 5xx after the retries
    ("always-500", 3, {"stream": False}),
])
def test_failure_before_text_moves_to_another_replica(replica_server, scenario, tries, opts):
    s = replica_server()
    bad, good = s.url(scenario), s.url("ok")
    with replicated([bad, good], **opts) as e:
        r = e.complete(Request.chat("hi"))
        st = stats(e)
    assert r.text == ("whole answer" if opts.get("stream") is False else HELLO)
    assert s.counts[scenario] == tries and s.counts["ok"] == 1
    assert not st[bad].healthy and st[bad].failures == 1 and st[good].served == 1


@pytest.mark.parametrize("scenario,match", [
    ("drop-mid", "stream broke after 1 chunks|stream ended early"),
    ("no-done", "stream ended early after 1 chunks"),
])
def test_stream_broken_after_text_is_an_error(replica_server, scenario, match):
    s = replica_server()
    with replicated([s.url(scenario), s.url("ok")]) as e:
        seen = []
        with pytest.raises(EngineError, match=match):
            e.complete(Request.chat("hi"), on_delta=lambda d: seen.append(d.text))
        assert seen[0] == ("Partial" if scenario == "drop-mid" else "Cut")
        assert s.counts["ok"] == 0, "text went out: never retried elsewhere"
        assert not stats(e)[s.url(scenario)].healthy


def test_request_errors_do_not_take_a_replica_out(replica_server):
    s = replica_server()
    with replicated([s.url("400"), s.url("ok")]) as e:
        with pytest.raises(EngineError, match="max_tokens is too large"):
            e.complete(Request.chat("hi"))
        assert s.counts["ok"] == 0 and all(x.healthy for x in e.replica_stats())


def test_model_discovery_fails_over(replica_server, closed_ports):
    s = replica_server()
    with replicated([f"http://127.0.0.1:{closed_ports()}/v1", s.url("ok")], model="") as e:
        assert e.complete(Request.chat("hi")).text == HELLO
        assert e.model_id == "only-model"
        assert s.bodies[0]["model"] == "only-model"


# -- openpick.toml ----------------------------------------------------------------------------
def write_toml(tmp_path, monkeypatch, text: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "openpick.toml").write_text(text, encoding="utf-8")


def test_config_urls_become_a_replicated_model(tmp_path, monkeypatch):
    write_toml(tmp_path, monkeypatch, """
[models.pair]
engine = "openai"
urls = ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"]
model = "m"
options = { max_concurrency = 3 }
""")
    spec = parse_spec("pair")
    assert spec.target == "http://127.0.0.1:9001/v1,http://127.0.0.1:9002/v1#m"
    e = load_engine("pair")
    assert len(e.replica_stats()) == 2 and e.max_parallel() == 6
    runner = CliRunner()
    out = runner.invoke(app, ["models", "local", "--json"])
    assert out.exit_code == 0, out.output
    pair = next(m for m in json.loads(out.output) if m["name"] == "pair")
    assert (pair["status"], pair["replicas"]) == ("remote", 2)
    assert "(2 replicas)" in runner.invoke(app, ["models", "local"], env={"COLUMNS": "300"}).output


@pytest.mark.parametrize("body,match", [
    ('url = "http://a:8000/v1"\nurls = ["http://b:8000/v1"]', r"models\.x: .*url .*urls.*not both"),
    ("urls = []", r"models\.x\.urls: .*at least one"),
    ('urls = ["http://a:8000/v1", "b:8000/v1"]', r"models\.x\.urls: .*item 2 \('b:8000/v1'\)"),
    ('urls = "http://a:8000/v1"', r"models\.x\.urls: .*list"),
    ('urls = ["http://a:8000/v1", "http://a:8000/v1/"]', r"models\.x\.urls: .*listed twice"),
])
def test_config_urls_are_validated(tmp_path, monkeypatch, body, match):
    write_toml(tmp_path, monkeypatch, f'[models.x]\nengine = "openai"\n{body}\n')
    with pytest.raises(InvalidInput, match=match):
        load_models()


def test_config_urls_need_the_openai_engine(tmp_path, monkeypatch):
    write_toml(tmp_path, monkeypatch, '[models.x]\nengine = "llama-cpp"\nurls = ["http://a/v1"]\n')
    with pytest.raises(InvalidInput, match=r"models\.x: .*urls .*needs engine \"openai\""):
        load_models()


# -- end to end: a compare run while a replica dies ------------------------------------------
class KillAfter:
    """Progress that kills `server` once it has served `n` requests (from the runner's
    main thread, while other cases are still in flight)."""

    def __init__(self, server, n):
        self.server, self.n = server, n

    def start(self, run, totals):
        pass

    def advance(self, result):
        if self.server.served() >= self.n:
            self.server.kill()

    def finish(self):
        pass


def test_compare_survives_a_replica_dying(tmp_path, replica_server):
    from openpick.evals.runner import RunOptions, compare

    a, b = replica_server(), replica_server()
    cases = [{"id": f"c{i}", "prompt": f"Say hello {i}", "assert": [{"icontains": "hello"}]}
             for i in range(16)]
    suite = tmp_path / "replicas.yaml"
    suite.write_text(json.dumps({"name": "replicas", "cases": cases}), encoding="utf-8")
    model = f"openai:{a.url('replica')},{b.url('replica')}#m"
    options = RunOptions(concurrency=4, engine_options={model: {**FAST, "max_concurrency": 2}})
    info, results = compare(str(suite), [model], options, progress=KillAfter(b, 2))
    assert b.killed, "the replica died partway"
    assert info.status == "finished" and len(results) == 16
    assert [r.error for r in results] == [None] * 16
    assert all(r.passed and r.output == HELLO for r in results)
    assert a.served() > 0 and b.served() > 0, "both replicas served cases"
    assert a.served() + b.served() >= 16
    assert info.models[0].identity["url"] == ",".join(sorted([a.url("replica"), b.url("replica")]))
