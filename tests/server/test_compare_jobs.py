"""Comparisons started from the browser's API: the same runner and store as `openpick
compare`, a background job that no watcher keeps alive, resumable after a stop or a crash,
and suite text that can neither read files nor run code on the server."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from openpick.engines.pool import ModelPool
from openpick.paths import config_dir
from openpick.server.app import create_app
from openpick.server.settings import Settings
from openpick.store.db import connect
from openpick.store.runs import RunStore

SUITE = """name: tiny
cases:
  - id: hi
    prompt: say hi
    assert: [{icontains: hi}]
  - id: bye
    prompt: say bye
    assert: [{icontains: hi}]
  - id: three
    prompt: one two three
    assert: [{icontains: three}]
"""
# "echo" and "slow" are config models (openpick.toml), "parrot" a --model style spec.
TOML = """[models.echo]
engine = "fake"
url = "echo"

[models.slow]
engine = "fake"
url = "echo"
options = { delay_s = 0.15 }
"""
OFFERED = ["echo", "slow", "parrot"]


@pytest.fixture
def pool():
    with ModelPool() as p:
        yield p


def make_app(pool, **settings):
    (config_dir() / "openpick.toml").write_text(TOML)
    app = create_app(Settings(models={"parrot": "fake:squawk"}, **settings), pool=pool)
    app.state.ui_models = OFFERED  # only the fake ones, whatever else is installed
    return app


@pytest.fixture
def client(pool):
    with TestClient(make_app(pool)) as c:
        yield c


def start(client, models, suite_text=SUITE, **extra) -> dict:
    r = client.post("/ui/api/compare", json={"suite_text": suite_text, "models": models, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def wait_job(client, job_id, until=("finished", "failed", "interrupted"), timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = client.get(f"/ui/api/compare/jobs/{job_id}").json()
        if snap["status"] in until:
            return snap
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {snap['status']} after {timeout}s")


def test_a_job_runs_to_the_end_with_nobody_watching(client):
    job = start(client, ["echo", "parrot"])
    assert job["status"] in ("queued", "running")
    assert [m["total"] for m in job["models"]] == [3, 3]  # known before the runner starts
    # Nobody reads the SSE stream: the store fills up anyway.
    deadline = time.monotonic() + 60
    store = RunStore()
    while time.monotonic() < deadline:
        runs = store.list()
        if runs and runs[0].status == "finished":
            break
        time.sleep(0.05)
    run = store.list()[0]
    assert run.status == "finished" and run.done == run.planned == 6
    results = store.results(run.id)
    by = {(r.model, r.case_id): r.passed for r in results}
    # echo repeats the prompt: "say hi" passes, "say bye" fails; parrot says "squawk".
    assert by == {("echo", "hi"): True, ("echo", "bye"): False, ("echo", "three"): True,
                  ("fake:squawk", "hi"): False, ("fake:squawk", "bye"): False,
                  ("fake:squawk", "three"): False}
    snap = wait_job(client, job["id"])
    assert snap["run_id"] == run.id and snap["results_url"] == f"/ui/results/{run.id}"
    assert [(m["passed"], m["failed"], m["errors"]) for m in snap["models"]] == [(2, 1, 0),
                                                                                 (0, 3, 0)]
    # The run is an ordinary stored run: same options shape as the CLI's (limit, notes).
    info = store.get(run.id)
    assert info.options["limit"] is None and info.options["repeats"] == 1
    assert client.get(snap["results_url"]).status_code == 200


def test_sse_reports_progress_then_the_end(client):
    job = start(client, ["slow", "echo"])
    with client.stream("GET", f"/ui/api/compare/jobs/{job['id']}/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [(m.group(1), json.loads(m.group(2)))
              for m in re.finditer(r"^event: (\w+)\ndata: (.*)$", text, re.M)]
    names = [n for n, _ in events]
    assert names[-1] == "end" and names.count("end") == 1
    dones = [sum(m["done"] for m in d["models"]) for n, d in events if n == "progress"]
    assert dones == sorted(dones) and len(set(dones)) >= 4  # one step per stored result, roughly
    end = events[-1][1]
    assert end["status"] == "finished" and end["done"] == end["total"] == 6
    slow = end["models"][0]
    assert slow["model"] == "slow" and slow["state"] == "done" and slow["eta_s"] == 0
    # While it ran, the running model had an ETA once it had answered something.
    assert any(m["eta_s"] and m["state"] == "running" for n, d in events for m in d["models"])


def test_limit_and_repeats_are_the_runs_options(client):
    job = wait_job(client, start(client, ["echo"], limit=2, repeats=2)["id"])
    info = RunStore().get(job["run_id"])
    assert info.planned == 4 and info.options["limit"] == 2 and info.options["repeats"] == 2
    assert {r.case_id for r in RunStore().results(info.id)} == {"hi", "bye"}


def test_a_bundled_suite_by_name(client):
    r = client.post("/ui/api/compare/check", json={"suite": "starter"})
    assert r.status_code == 200 and r.json()["name"] == "starter" and r.json()["cases"] == 24
    job = wait_job(client, start(client, ["echo"], suite_text=None, suite="math", limit=1)["id"])
    assert job["status"] == "finished"
    assert RunStore().get(job["run_id"]).suite == "math"


INVALID = [
    ("name: t\ncases:\n  - prompt: hi\n    assert: [{bogus: 1}]\n", 4, "unknown assertion type"),
    ("name: t\ncases:\n  - prompt: hi\n   bad indent: x\n", 4, "YAML error"),
    ("name: t\ncases:\n  - prompt: hi\n    assert: [{python: 'True'}]\n", 4, "cannot run code"),
    ("name: t\ncases:\n  - prompt: hi\n    assert:\n      - type: not-code\n        value: x\n",
     5, "cannot run code"),
    ("name: t\ncases:\n  - prompt: hi\n    assert: [{is-json: /etc/schema.json}]\n", 4,
     "schema inline"),
    ("name: t\ndata:\n  - file: /etc/passwd\n    prompt: x\n", 2, "cannot read other files"),
    ("name: t\nx-source-files: [/etc/passwd]\ncases:\n  - prompt: hi\n", 2,
     "cannot read other files"),
    ("prompts: [file:///etc/passwd]\ntests:\n  - vars: {}\n", 1, "cannot read other files"),
    ("prompts: ['{{q}}']\ntests:\n  - vars: {q: hi}\n    assert:\n      - type: python\n"
     "        value: 'True'\n", 5, "cannot run code"),
    ("task: t\ndataset_path: json\ndoc_to_text: x\n", 1, "lm-eval"),
]


@pytest.mark.parametrize("text,line,words", INVALID)
def test_an_invalid_or_unsafe_suite_names_its_line_and_starts_nothing(client, text, line, words):
    r = client.post("/ui/api/compare", json={"suite_text": text, "models": ["echo"],
                                             "suite_filename": "mine.yaml"})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["line"] == line and words in err["message"]
    assert err["message"].startswith(f"mine.yaml:{line}: ")
    assert client.get("/ui/api/compare/jobs").json()["jobs"] == []
    assert RunStore().list() == []


def test_promptfoo_config_is_accepted(client):
    text = "prompts: ['Say {{word}}']\ntests:\n  - vars: {word: hello}\n    assert:\n" \
           "      - type: icontains\n        value: hello\n"
    r = client.post("/ui/api/compare/check", json={"suite_text": text})
    assert r.status_code == 200 and r.json()["cases"] == 1
    job = wait_job(client, start(client, ["echo"], suite_text=text)["id"])
    assert job["status"] == "finished" and job["models"][0]["passed"] == 1


@pytest.mark.parametrize("models,status", [(["nope"], 404), (["/etc/passwd"], 404),
                                           (["fake:echo"], 404), (["echo", "echo"], 400),
                                           ([], 400)])
def test_only_offered_models(client, models, status):
    r = client.post("/ui/api/compare", json={"suite_text": SUITE, "models": models})
    assert r.status_code == status
    assert RunStore().list() == []


def test_a_judge_must_be_an_offered_model(client):
    text = SUITE.replace("[{icontains: three}]", "[{judge: good?, model: /tmp/x.gguf}]")
    r = client.post("/ui/api/compare", json={"suite_text": text, "models": ["echo"]})
    assert r.status_code == 400 and "judge model" in r.json()["error"]["message"]


def test_stop_then_resume_after_a_restart(pool):
    with TestClient(make_app(pool)) as c:
        job = start(c, ["slow"], suite_text=SUITE.replace("say bye", "say bye " + "w " * 12))
        deadline = time.monotonic() + 30
        while c.get(f"/ui/api/compare/jobs/{job['id']}").json()["done"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        c.post(f"/ui/api/compare/jobs/{job['id']}/stop")
        stopped = wait_job(c, job["id"])
    assert stopped["status"] == "interrupted"
    run_id = stopped["run_id"]
    first = {r.case_id: r.created_at for r in RunStore().results(run_id)}
    assert 1 <= len(first) < 3 and RunStore().get(run_id).status == "interrupted"

    # A new server process (fresh jobs): the page offers the stopped run with Resume.
    with TestClient(make_app(pool)) as c:
        page = c.get("/ui/compare").text
        assert f'class="resume" data-run="{run_id}"' in page
        job = c.post(f"/ui/api/compare/runs/{run_id}/resume").json()
        assert job["resume"] and job["run_id"] == run_id
        done = wait_job(c, job["id"])
        assert done["status"] == "finished" and done["models"][0]["done"] == 3
        assert f'data-run="{run_id}"' not in c.get("/ui/compare").text
    results = RunStore().results(run_id)
    assert len(results) == 3 and RunStore().get(run_id).status == "finished"
    # What was stored before the stop was not asked again.
    assert all({r.case_id: r.created_at for r in results}[k] == v for k, v in first.items())


def test_a_killed_run_shows_as_interrupted_and_resumes(client):
    job = wait_job(client, start(client, ["echo"])["id"])
    run_id = job["run_id"]
    store = RunStore()
    store.update(store.get(run_id).model_copy(update={"status": "running", "finished_at": None}))
    conn = connect()
    # What kill -9 leaves: the run still "running", owned by a process that is gone,
    # one result missing.
    conn.execute("UPDATE runs SET owner = 'nohost:999999' WHERE id = ?", (run_id,))
    conn.execute("DELETE FROM case_results WHERE run_id = ? AND case_id = 'bye'", (run_id,))
    conn.commit()
    stopped = client.get("/ui/api/compare/jobs").json()["stopped"]
    assert [(s["id"], s["resumable"], s["done"]) for s in stopped] == [(run_id, True, 2)]
    done = wait_job(client, client.post(f"/ui/api/compare/runs/{run_id}/resume").json()["id"])
    assert done["status"] == "finished"
    assert [(m["done"], m["passed"], m["failed"]) for m in done["models"]] == [(3, 2, 1)]
    assert client.post(f"/ui/api/compare/runs/{run_id}/resume").status_code == 400  # finished


def test_a_cli_run_on_a_users_file_is_not_resumable_here(client, tmp_path):
    from openpick.evals.runner import RunOptions, compare

    path = tmp_path / "mine.yaml"
    path.write_text(SUITE)
    run, _ = compare(str(path), ["echo"], RunOptions())
    RunStore().update(run.model_copy(update={"status": "interrupted"}))
    r = client.post(f"/ui/api/compare/runs/{run.id}/resume")
    assert r.status_code == 400 and "openpick compare --resume" in r.json()["error"]["message"]
    assert [s["resumable"] for s in client.get("/ui/api/compare/jobs").json()["stopped"]] == [False]


def test_the_page_preselects_models_from_the_url(client):
    html = client.get("/ui/compare?model=slow&model=nope").text
    assert re.search(r'value="slow" checked', html)
    assert not re.search(r'value="echo" checked', html) and "nope" not in html
    assert 'value="parrot"' in html


def test_every_compare_route_needs_login_when_a_key_is_set(pool):
    with TestClient(make_app(pool, api_key="sekret")) as c:
        for method, url in [("GET", "/ui/compare"), ("GET", "/ui/api/compare/jobs"),
                            ("GET", "/ui/api/compare/jobs/x/events"),
                            ("POST", "/ui/api/compare"), ("POST", "/ui/api/compare/runs/x/resume")]:
            r = c.request(method, url, json={}, follow_redirects=False)
            assert r.status_code in (302, 303, 307) and "/login" in r.headers["location"], url
        c.post("/login", data={"key": "sekret", "next": "/ui/compare"})
        job = start(c, ["echo"])
        with c.stream("GET", f"/ui/api/compare/jobs/{job['id']}/events") as r:
            assert r.status_code == 200 and "event: end" in "".join(r.iter_text())
