"""Web UI pages and their JSON/SSE endpoints, on the fake engine (no model, no network)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from openpick.engines.base import Message, Request
from openpick.engines.fake import FakeEngine
from openpick.engines.pool import ModelPool
from openpick.engines.spec import load_engine
from openpick.server.app import create_app, serve_in_thread
from openpick.server.routes import Candidate, Resolved, Run
from openpick.server.settings import Settings
from openpick.server.ui.render import render_markdown, safe_url
from openpick.server.ui.stream import Generation
from openpick.store.conversations import ConversationStore

EVIL = ('<script>window.__pwned=1</script> **bold** <img src=x onerror="window.__pwned=2"> '
        '[click](javascript:alert(1))')
MODELS = {"echo": "fake:echo", "parrot": "fake:squawk", "evil": "fake:" + EVIL}


@pytest.fixture
def pool():
    with ModelPool() as p:
        yield p


@pytest.fixture
def client(pool):
    app = create_app(Settings(models=MODELS, max_tokens_cap=1000), pool=pool)
    app.state.ui_models = list(MODELS)  # only the fake ones, whatever is installed
    with TestClient(app) as c:
        yield c


def events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        name = re.search(r"^event: (.*)$", block, re.M).group(1)
        data = json.loads(re.search(r"^data: (.*)$", block, re.M).group(1))
        out.append((name, data))
    return out


def chat(client, **body) -> list[tuple[str, dict]]:
    r = client.post("/ui/api/chat/stream", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return events(r.text)


# --- catalog -----------------------------------------------------------------------

def test_catalog_filters_medical_finds_biomistral(client):
    r = client.get("/ui/catalog", params={"domain": "medical"})
    assert r.status_code == 200
    names = re.findall(r'class="model-link" href="([^"]+)"', r.text)
    assert "/ui/models/BioMistral/BioMistral-7B" in names
    assert "/ui/models/HuggingFaceTB/SmolLM2-135M-Instruct" not in names
    everything = client.get("/ui/catalog").text
    assert len(re.findall('class="model-link"', everything)) > len(names)


@pytest.mark.parametrize("params", [{"mof": "1"}, {"license": "osi"}, {"size": "<=1B"},
                                    {"fits": "4GB"}, {"language": "de"}, {"q": "coder"}])
def test_catalog_each_filter_narrows(client, params):
    total = len(re.findall('class="model-link"', client.get("/ui/catalog").text))
    hits = len(re.findall('class="model-link"', client.get("/ui/catalog", params=params).text))
    assert 0 < hits < total


def test_catalog_bad_filter_says_why(client):
    r = client.get("/ui/catalog", params={"size": "huge"})
    assert r.status_code == 200
    assert "cannot read parameter count" in r.text


def test_model_page_has_facts_openness_lineage(client):
    r = client.get("/ui/models/BioMistral/BioMistral-7B")
    assert r.status_code == 200
    t = r.text
    for part in ["BioMistral 7B", "Model Openness Framework", "Class III · open model",
                 "Training data", "Full model weights", "Evaluation code", "Fine-tuning code",
                 "Training metrics / intermediate weights", "Open Source AI Definition",
                 "Open Source AI Index", 'id="lineage"', "mistralai/Mistral-7B-Instruct-v0.1",
                 "Published results", "Measured on your suites"]:
        assert part in t, part
    assert 'href="https://huggingface.co/BioMistral/BioMistral-7B"' in t


def test_model_page_unknown_is_404(client):
    r = client.get("/ui/models/nobody/nothing")
    assert r.status_code == 404
    assert "nobody/nothing" in r.text


def test_safe_url_only_http():
    assert safe_url("https://x.org/a") == "https://x.org/a"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url(" JaVaScRiPt:alert(1)") is None
    assert safe_url(None) is None


# --- static files ------------------------------------------------------------------

def test_static_files_fixed_table(client):
    r = client.get("/ui/static/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    assert client.get("/ui/static/app.css").headers["content-type"].startswith("text/css")
    for bad in ["ui.py", "..%2Fui.py", "%2e%2e%2fui.py", "nope.js"]:
        assert client.get(f"/ui/static/{bad}").status_code == 404


# --- markdown and escaping ---------------------------------------------------------

def test_markdown_is_sanitized():
    html = str(render_markdown(EVIL + "\n\n```\ncode <b>\n```"))
    assert "<script" not in html and "<img" not in html and "href" not in html
    assert "&lt;script&gt;" in html and "<strong>bold</strong>" in html
    assert "<pre><code>code &lt;b&gt;" in html


def test_model_output_is_escaped_in_stream_and_page(client):
    ev = chat(client, model="evil", message="hello")
    deltas = "".join(d["text"] for n, d in ev if n == "delta")
    assert deltas == EVIL  # raw text: the browser sets it with textContent
    done = dict(ev)["done"]
    assert "<script" not in done["html"] and "<img" not in done["html"]
    cid = dict(ev)["meta"]["conversation_id"]
    page = client.get(f"/ui/chat/{cid}").text
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page


# --- chat --------------------------------------------------------------------------

def test_chat_streams_persists_and_switches_model(client, pool):
    ev = chat(client, model="echo", message="first question", system="Be brief.",
              max_tokens=50, temperature=0)
    names = [n for n, _ in ev]
    assert names[0] == "meta" and names[-1] == "done" and "delta" in names
    cid = dict(ev)["meta"]["conversation_id"]
    assert dict(ev)["done"]["model"] == "echo"

    ev2 = chat(client, model="parrot", message="second", conversation_id=cid, system="Be brief.")
    assert "".join(d["text"] for n, d in ev2 if n == "delta") == "squawk"
    assert dict(ev2)["done"]["model"] == "parrot"

    # The second model saw the whole history, the first model's answer included.
    with pool.use("fake:squawk") as engine:
        seen = engine.calls[-1].messages
    assert [(m.role, m.content) for m in seen] == [
        ("system", "Be brief."), ("user", "first question"), ("assistant", "first question"),
        ("user", "second")]

    page = client.get(f"/ui/chat/{cid}").text
    assert re.findall(r'class="model-label">([^<]+)<', page) == ["echo", "parrot"]
    assert '<option value="parrot" selected>' in page  # the picker follows the last answer
    assert "first question" in client.get("/ui/chat").text  # listed in the sidebar


def test_chat_system_prompt_change_is_recorded(client, pool):
    cid = dict(chat(client, model="echo", message="a", system="one"))["meta"]["conversation_id"]
    chat(client, model="echo", message="b", system="two", conversation_id=cid)
    with pool.use("fake:echo") as engine:
        msgs = engine.calls[-1].messages
    assert msgs[0] == Message(role="system", content="two")
    assert sum(m.role == "system" for m in msgs) == 1


def test_chat_rejects_unknown_model_and_limits(client):
    r = client.post("/ui/api/chat/stream", json={"model": "/etc/passwd", "message": "x"})
    assert r.status_code == 404 and "unknown model" in r.json()["error"]["message"]
    r = client.post("/ui/api/chat/stream", json={"model": "echo", "message": "x", "max_tokens": 5000})
    assert r.status_code == 400 and "capped" in r.json()["error"]["message"]
    r = client.post("/ui/api/chat/stream", json={"model": "echo", "message": ""})
    assert r.status_code == 400
    r = client.post("/ui/api/chat/stream",
                    json={"model": "echo", "message": "x", "conversation_id": "nope"})
    assert r.status_code == 404


@pytest.mark.parametrize("settings", [{"temperature": 2.5}, {"top_p": 0}, {"max_tokens": 0}])
def test_chat_and_arena_settings_keep_samplings_bounds(client, settings):
    r = client.post("/ui/api/chat/stream", json={"model": "echo", "message": "x", **settings})
    assert r.status_code == 400 and next(iter(settings)) in r.json()["error"]["param"]
    r = client.post("/ui/api/arena/battles",
                    json={"models": ["echo", "parrot"], "prompt": "x", **settings})
    assert r.status_code == 400


def test_chat_page_unknown_conversation_404(client):
    assert client.get("/ui/chat/doesnotexist").status_code == 404


def route(pool, req, *members) -> Run:
    """The API's route runner on (name, spec) members, tried in order."""
    cands = tuple(Candidate(name, spec) for name, spec in members)
    return Run(pool, Resolved(name="r", kind="route", candidates=cands), req)


def consume(gen: Generation, on_item) -> list:
    async def main():
        got = []
        async for item in gen.events():
            got.append(item)
            if on_item(item) == "leave":
                break
        return got

    # In a thread of its own: an earlier test's client (Playwright's sync API in the browser
    # tests) may leave an event loop running in this thread.
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, main()).result(timeout=60)


def test_stop_keeps_the_partial_answer(pool):
    """A stopped generation ends at the next token and its partial text is kept."""
    done: list = []
    req = Request(messages=[Message(role="user", content="one two three four five")])
    gen = Generation(route(pool, req, ("echo", "fake:echo")), lambda r, s: done.append((r, s)))
    # The browser pressed stop as soon as the first token arrived.
    got = consume(gen, lambda item: gen.stop())
    result, stopped = done[0]
    assert stopped and result.text == "one" and result.model.name == "echo"
    assert got[-1][0] == "done" and got[-1][1]["finish_reason"] == "stopped"


def test_closing_the_response_keeps_the_partial_answer_once(pool):
    """The browser went away mid-answer: the response's close keeps what was said."""
    done: list = []
    req = Request(messages=[Message(role="user", content="one two three four five")])
    gen = Generation(route(pool, req, ("echo", "fake:echo")), lambda r, s: done.append((r, s)))
    consume(gen, lambda item: "leave" if item[0] == "delta" else None)
    assert done == []  # nothing kept until the response ends
    gen.close()
    gen.close()
    [(result, stopped)] = done
    assert stopped and result.text == "one" and result.model.name == "echo"


def test_route_falls_back_before_first_token(pool):
    done: list = []
    req = Request(messages=[Message(role="user", content="hi")])
    run = route(pool, req, ("broken", "no-such-engine:x"), ("echo", "fake:echo"))
    consume(Generation(run, lambda r, s: done.append(r)), lambda item: None)
    assert done[0].model.name == "echo" and done[0].text == "hi"


def test_a_failed_answer_is_an_error_event_and_stores_nothing(pool):
    done: list = []
    req = Request(messages=[Message(role="user", content="hi")])
    gen = Generation(route(pool, req, ("broken", "no-such-engine:x")), done.append,
                     meta={"conversation_id": "c1"})
    got = consume(gen, lambda item: None)
    assert [k for k, _ in got] == ["meta", "error"] and "no-such-engine" in got[-1][1]["message"]
    gen.close()
    assert done == []


class CountingFake(FakeEngine):
    """The echoing fake engine, slowed down, counting the pieces it produced."""

    def __init__(self):
        super().__init__("echo", {"delay_s": 0.01})
        self.produced = 0
        self.finished = threading.Event()

    def generate(self, request):
        try:
            for delta in super().generate(request):
                self.produced += 1
                yield delta
        finally:
            self.finished.set()


def test_browser_leaving_mid_answer_stops_the_model_and_keeps_the_answer():
    """Over a real server: the stream is dropped after a few words; the model stops and
    the conversation keeps the partial answer."""
    words = " ".join(f"w{i}" for i in range(400))
    slow = CountingFake()
    pool = ModelPool(loader=lambda spec, opts: slow if spec == "slowpoke"
                     else load_engine(spec, opts))
    with serve_in_thread(Settings(port=0, models={"slowpoke": "slowpoke"}), pool=pool) as server:
        body = {"model": "slowpoke", "message": words, "max_tokens": 1000}
        with httpx.Client(timeout=30) as c:
            with c.stream("POST", server.url + "/ui/api/chat/stream", json=body) as r:
                assert r.status_code == 200
                lines = r.iter_lines()
                assert next(lines) == "event: meta"
                cid = json.loads(next(lines)[len("data: "):])["conversation_id"]
                seen = 0
                for line in lines:
                    seen += line == "event: delta"
                    if seen >= 3:
                        break  # leaving the block closes the connection mid-answer
        assert slow.finished.wait(20), "the engine kept generating after the browser left"
        assert slow.produced < 400
        deadline = time.monotonic() + 20
        answers: list = []
        while not answers and time.monotonic() < deadline:
            answers = [m for m in ConversationStore().get(cid).messages if m.role == "assistant"]
            time.sleep(0.02)
    assert [m.model for m in answers] == ["slowpoke"]
    assert 3 <= len(answers[0].content.split()) < 400
    assert words.startswith(answers[0].content.strip())


# --- arena -------------------------------------------------------------------------

def battle(client, models=("echo", "parrot")) -> str:
    r = client.post("/ui/api/arena/battles",
                    json={"models": list(models), "prompt": "say something", "max_tokens": 20})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id"}  # no names before the vote
    bid = r.json()["id"]
    for side in "ab":
        r = client.post(f"/ui/api/arena/battles/{bid}/stream/{side}")
        assert r.status_code == 200
        for name in models:
            assert f'"{name}"' not in r.text  # blind: nothing names the model
        assert events(r.text)[-1][0] == "done"
    return bid


def test_arena_vote_reveals_and_ratings_change(client):
    page = client.get("/ui/arena/ratings").text
    assert "No votes yet" in page
    bid = battle(client)
    r = client.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "a"})
    assert r.status_code == 200
    body = r.json()
    assert {body["model_a"], body["model_b"]} == {"echo", "parrot"}
    again = client.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "b"})
    assert again.status_code == 400
    client.post(f"/ui/api/arena/battles/{battle(client)}/vote", json={"winner": "tie"})
    page = client.get("/ui/arena/ratings").text
    assert "2 votes" in page
    rows = re.findall(r'<td class="model">([^<]+)</td>\s*<td class="rating">\s*([^<\s]+)', page)
    assert {m for m, _ in rows} == {"echo", "parrot"}
    assert all(v.strip() != "–" for _, v in rows)
    assert rows[0][0] == body["model_a"]  # the winner of the decided battle ranks first
    assert 'id="win-matrix"' in page


def test_arena_needs_two_models_and_a_known_side(client):
    r = client.post("/ui/api/arena/battles", json={"models": ["echo", "echo"], "prompt": "x"})
    assert r.status_code == 400
    r = client.post("/ui/api/arena/battles", json={"models": ["echo", "/bin/sh"], "prompt": "x"})
    assert r.status_code == 404
    bid = client.post("/ui/api/arena/battles",
                      json={"models": ["echo", "parrot"], "prompt": "x"}).json()["id"]
    assert client.post(f"/ui/api/arena/battles/{bid}/stream/c").status_code == 404
    assert client.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "x"}).status_code == 400
    assert client.post("/ui/api/arena/battles/nope/vote", json={"winner": "a"}).status_code == 404


def test_arena_side_answers_once(client):
    bid = battle(client)
    assert client.post(f"/ui/api/arena/battles/{bid}/stream/a").status_code == 400


# --- results -----------------------------------------------------------------------

def test_results_empty(client):
    r = client.get("/ui/results")
    assert r.status_code == 200 and "No runs yet" in r.text
    assert client.get("/ui/results/nothing").status_code == 404


def store_run() -> str:
    from openpick.store.records import AssertionResult, CaseResult, Grade, ModelInfo, RunInfo
    from openpick.store.runs import RunStore

    run = RunInfo(id="r1a2b3c4d5e6", suite="support-bot", created_at="2025-01-01T00:00:00+00:00",
                  status="finished", planned=4,
                  models=[ModelInfo(name="echo", spec="fake:echo", engine="fake",
                                    record_id="HuggingFaceTB/SmolLM2-135M-Instruct"),
                          ModelInfo(name="parrot", spec="fake:squawk", engine="fake")])
    store = RunStore()
    store.create(run, key="k")
    results = []
    for model, ok in (("echo", True), ("parrot", False)):
        for case in ("capital", "sum"):
            results.append(CaseResult(
                run_id=run.id, model=model, case_id=case, tags=["facts"], input="Q <b>?</b>",
                output="<script>x()</script>answer", total_s=0.2, ttft_s=0.05, decode_tok_s=30.0,
                completion_tokens=5,
                grade=Grade(passed=ok, score=1.0 if ok else 0.0,
                            assertions=[AssertionResult(type="icontains", passed=ok,
                                                        score=1.0 if ok else 0.0)])))
    store.save_results(results)
    return run.id


def test_results_list_and_run_page(client):
    rid = store_run()
    r = client.get("/ui/results")
    assert rid in r.text and "support-bot" in r.text
    page = client.get(f"/ui/results/{rid}")
    assert page.status_code == 200
    t = page.text
    assert 'id="leaderboard-table"' in t and 'id="matrix"' in t
    assert "<script>x()</script>" not in t and "&lt;script&gt;x()&lt;/script&gt;" in t
    assert '/ui/static/results.js' in t and '<figure class="chart" id="chart-speed"' in t
    # and the model page shows what was measured
    mp = client.get("/ui/models/HuggingFaceTB/SmolLM2-135M-Instruct").text
    assert rid in mp


# --- login -------------------------------------------------------------------------

def test_pages_need_login_when_a_key_is_set(pool):
    app = create_app(Settings(api_key="sekret", models=MODELS), pool=pool)
    with TestClient(app) as c:
        r = c.get("/ui/catalog", follow_redirects=False)
        assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")
        r = c.post("/ui/api/chat/stream", json={"model": "echo", "message": "x"},
                   follow_redirects=False)
        assert r.status_code in (302, 303, 307, 401)
        c.post("/login", data={"key": "sekret", "next": "/ui/catalog"})
        assert c.get("/ui/catalog").status_code == 200


def test_a_blank_chat_message_is_a_clear_4xx(client):
    # Found by the fuzz tests: "\r" alone used to raise IndexError (a 500).
    r = client.post("/ui/api/chat/stream", json={"model": "echo", "message": "\r", "max_tokens": 1})
    assert 400 <= r.status_code < 500, r.text
    assert "empty" in r.text
