"""The results view's weight and speed: the offline HTML report and the UI's run page.

For a run of the bundled demo suite (22 cases, two models), measured:
- the report: bytes, and seconds to build it (`report.html.render_html`, median of 5);
- the UI's /ui/results/{run} page: seconds for the server to render it (FastAPI
  TestClient, median of 10 after one warm-up request) and its bytes;
- Chromium (Debian's /usr/bin/chromium via Playwright, when present): milliseconds from
  navigation to the load event, and to the charts and matrix being on screen, for the
  report opened from a file and for the run page served by a real server on 127.0.0.1
  (median of 3 fresh pages).

By default the run is made here with the fake engine (instant answers, so the numbers are
the view's own). `--home DIR` measures the newest run stored in that OPENPICK_HOME
instead (e.g. a real `openpick compare demo`). `--old-report FILE` also times Chromium
opening another report file (the plotly-based report, for the before/after).

The result goes under `--key` in the JSON file (other keys are kept), so one file holds
the runs measured: bench/results/report_size.json has the fake and the real demo run, each
with this code and with the plotly-based code before it (`git archive` of that commit
first on PYTHONPATH).

Usage: python bench/report_size.py [--home DIR] [--old-report FILE] [--key NAME] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import facts, write_json  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
FAKES = ["fake:echo", "fake:Paris 42 Jupiter 8 HELLO"]


def _median_s(fn, n: int) -> float:
    return statistics.median(timeit.repeat(fn, number=1, repeat=n))


def make_run():
    from openpick.cli.compare import run_compare

    run, results, _ = run_compare("demo", FAKES, quiet=True, as_json=True,
                                  machine_usd_per_hour=0.10)
    return run, results


def newest_run():
    from openpick.store.runs import RunStore

    store = RunStore()
    run = store.get(store.list(limit=1)[0].id)
    return run, store.results(run.id)


def measure_report(run, results, folder: Path) -> tuple[dict, Path]:
    from openpick.report import html

    html.render_html(run, results)  # warm: imports, templates
    build = _median_s(lambda: html.render_html(run, results), 5)
    path = html.write(run, results, folder / "report.html")
    return {"bytes": path.stat().st_size, "build_s": round(build, 4)}, path


def measure_page(run) -> dict:
    from fastapi.testclient import TestClient

    from openpick.server.app import create_app
    from openpick.server.settings import Settings

    with TestClient(create_app(Settings(models={}))) as client:
        first = time.perf_counter()
        r = client.get(f"/ui/results/{run.id}")
        first = time.perf_counter() - first
        assert r.status_code == 200, r.status_code
        render = _median_s(lambda: client.get(f"/ui/results/{run.id}"), 10)
    return {"bytes": len(r.content), "server_render_s": round(render, 4),
            "first_request_s": round(first, 4)}


def _open_ms(browser, url: str, n: int = 3) -> dict:
    loads, ready = [], []
    for _ in range(n):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        t = time.perf_counter()
        page.goto(url, wait_until="load", timeout=60_000)
        loads.append((time.perf_counter() - t) * 1000)
        # on screen: the matrix, and a chart (SVG now; plotly's .main-svg in old reports)
        page.wait_for_selector("#matrix, #case-matrix", timeout=60_000)  # old run page: #case-matrix
        page.wait_for_selector("svg", timeout=60_000)
        ready.append((time.perf_counter() - t) * 1000)
        page.close()
    return {"load_ms": round(statistics.median(loads)), "ready_ms": round(statistics.median(ready))}


def measure_chromium(run, report: Path, old_report: Path | None) -> dict | None:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} missing: no browser timings", file=sys.stderr)
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright missing: no browser timings", file=sys.stderr)
        return None
    from openpick.server.app import serve_in_thread
    from openpick.server.settings import Settings

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        out["report_file"] = _open_ms(browser, report.resolve().as_uri())
        if old_report is not None:
            out["old_report_file"] = {**_open_ms(browser, old_report.resolve().as_uri()),
                                      "bytes": old_report.stat().st_size}
        with serve_in_thread(Settings(port=0, models={})) as server:
            out["run_page"] = _open_ms(browser, f"{server.url}/ui/results/{run.id}")
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="measure the newest run in this OPENPICK_HOME")
    ap.add_argument("--old-report", type=Path, help="also time Chromium opening this report")
    ap.add_argument("--key", default="fake_demo", help="where in the JSON file the result goes")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "report_size.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.home:
            os.environ["OPENPICK_HOME"] = str(args.home)
            run, results = newest_run()
            source = f"newest run in {args.home.name}"
        else:
            os.environ["OPENPICK_HOME"] = tmp
            run, results = make_run()
            source = "fresh run, fake engine: " + ", ".join(FAKES)
        report, path = measure_report(run, results, Path(tmp))
        out = {"suite": run.suite, "run": source, "models": [m.name for m in run.models],
               "results": len(results), "report": report, "page": measure_page(run),
               "chromium": measure_chromium(run, path, args.old_report),
               "limit_report_bytes": 1_500_000, "limit_page_s": 1.0, "machine": facts()}
    path = Path(args.out)
    merged = json.loads(path.read_text()) if path.is_file() else {}
    merged[args.key] = out
    write_json(merged, args.out)


if __name__ == "__main__":
    main()
