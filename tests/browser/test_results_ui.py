"""The results view in real Chromium: the UI's run page and the offline report (opened
from a file) filter the same matrix alike, failures are open, and model text stays text."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

HOSTILE = "fake:<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2> Paris 42 Jupiter 8 HELLO"
MODELS = ["fake:Paris Jupiter", HOSTILE]


@pytest.fixture
def demo_run(server_home, monkeypatch):
    """A real run of the demo suite (fake engines) in the server's own store, deleted after
    (other browser tests share that store and expect it empty)."""
    from openpick.cli.compare import run_compare
    from openpick.store.runs import RunStore

    monkeypatch.setenv("OPENPICK_HOME", str(server_home))
    run, results, _ = run_compare("demo", MODELS, quiet=True, as_json=True)
    yield run, results
    RunStore().delete(run.id)


def _expected(results):
    by_case: dict[str, dict[str, bool]] = {}
    for r in results:
        by_case.setdefault(r.case_id, {})[r.model] = bool(r.grade and r.grade.passed)
    fail = sum(1 for c in by_case.values() if not all(c.values()))
    disagree = sum(1 for c in by_case.values() if len(set(c.values())) > 1)
    failed_outputs = sum(1 for r in results if r.output is not None and not r.grade.passed)
    return len(by_case), fail, disagree, failed_outputs


def _visible_rows(page) -> int:
    return page.locator("#matrix tbody tr[data-case]:visible").count()


def _check_filters(page, results) -> None:
    total, fail, disagree, failed_outputs = _expected(results)
    assert 0 < disagree < fail < total  # the run has all three kinds of rows
    assert _visible_rows(page) == total
    assert page.locator("details.rv-output[open]").count() == failed_outputs  # failures open
    page.check('input[name="rv-show"][value="fail"]')
    assert _visible_rows(page) == fail
    assert page.inner_text("#matrix-count") == f"{fail} of {total} cases"
    page.check('input[name="rv-show"][value="disagree"]')
    assert _visible_rows(page) == disagree
    page.check('input[name="rv-show"][value="all"]')
    page.select_option("#filter-tag", "math")
    assert _visible_rows(page) == 5
    page.select_option("#filter-tag", "")
    # one model only: its column alone, and one model cannot disagree with itself
    page.uncheck("input.rv-model >> nth=1")
    assert page.locator('#matrix th[data-col="1"]').is_hidden()
    page.check('input[name="rv-show"][value="disagree"]')
    assert _visible_rows(page) == 0
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#matrix img").count() == 0


def test_run_page_filters_and_inert_output(page, shot, demo_run):
    run, results = demo_run
    page.goto(f"/ui/results/{run.id}")
    page.wait_for_selector("#matrix-filters:not([hidden])")
    assert page.locator("#results-view figure.chart svg").count() == 2  # speed and tags
    assert "No cost to plot" in page.inner_text("#results-view")
    assert "<script>window.__pwned=1</script>" in page.inner_text("#matrix")  # shown as text
    shot("w2-01-results-run")
    _check_filters(page, results)
    shot("w2-02-results-run-filtered")


def test_offline_report_filters_alike(page, shot, demo_run, tmp_path):
    from openpick.report import html

    run, results = demo_run
    path = html.write(run, results, tmp_path / "report.html")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("#matrix-filters:not([hidden])")
    assert all(u.startswith("file://") for u in requests), requests  # nothing from a network
    shot("w2-03-report")
    _check_filters(page, results)
