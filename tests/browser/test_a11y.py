"""Accessibility: axe-core (bundled by axe-playwright-python) on every page, in the light and
the dark scheme: no critical and no serious violations. Each page's findings are written to
test-artifacts/browser/axe-PAGE-SCHEME.json."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PAGES = {
    "catalog": "/ui/catalog",
    "model": "/ui/models/HuggingFaceTB/SmolLM2-135M-Instruct",
    "chat": "/ui/chat",
    "arena": "/ui/arena",
    "ratings": "/ui/arena/ratings",
    "results-list": "/ui/results",
    "results-run": "/ui/results/{run}",
    "compare": "/ui/compare",
    "not-found": "/ui/models/nobody/nothing",
}
BLOCKING = ("critical", "serious")


@pytest.fixture(scope="module")
def axe():
    mod = pytest.importorskip("axe_playwright_python.sync_playwright",
                              reason="axe-playwright-python is missing: pip install -e '.[dev]'")
    return mod.Axe()


@pytest.fixture(scope="module")
def a11y_run(server, server_home):
    """One finished demo run (fake engines) for the run page, deleted after (other browser
    tests share the store)."""
    import os

    from openpick.cli.compare import run_compare
    from openpick.store.runs import RunStore

    old = os.environ.get("OPENPICK_HOME")
    os.environ["OPENPICK_HOME"] = str(server_home)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its --json output
            run, _, _ = run_compare("demo", ["fake:Paris Jupiter", "fake:42"], quiet=True,
                                as_json=True)
        yield run.id
        RunStore().delete(run.id)
    finally:
        if old is None:
            os.environ.pop("OPENPICK_HOME", None)
        else:
            os.environ["OPENPICK_HOME"] = old


def _summary(violations: list[dict]) -> list[str]:
    return [f"{v['impact']} {v['id']}: {v['help']} — "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            for v in violations if v["impact"] in BLOCKING]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_axe_violations(browser, server, a11y_run, axe, name, scheme):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server,
                              color_scheme=scheme)
    try:
        pg = ctx.new_page()
        pg.goto(PAGES[name].format(run=a11y_run))
        pg.wait_for_load_state("networkidle")
        found = axe.run(pg).response["violations"]
    finally:
        ctx.close()
    (ARTIFACTS / f"axe-{name}-{scheme}.json").write_text(json.dumps(found, indent=1))
    bad = _summary(found)
    assert bad == [], f"{name} ({scheme}):\n" + "\n".join(bad)
