"""The one results view: the offline report and the UI's run page show the same numbers as
`compare --json`, the verdict's p is the table's p, truncated answers are flagged (and the
judge is told), charts fit, and the report is small and offline.

The runs here are real runs of the runner (the fake engine stands in for a model) on the
bundled demo suite and on a small suite of their own."""

from __future__ import annotations

import json
import re
import textwrap
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from openpick.cli.compare import json_report, run_compare
from openpick.evals.assertions.base import GradeContext
from openpick.evals.assertions.judge import TRUNCATED_NOTE, judge
from openpick.evals.assertions import Assertion
from openpick.evals.display import interval, money, pct, rate, seconds
from openpick.report import charts, html
from openpick.server.app import create_app
from openpick.server.settings import Settings

FAKES = ["fake:echo", "fake:Paris 42 Jupiter 8 HELLO"]


class Cells(HTMLParser):
    """Text of every td[data-k] under tr[data-entry] (leaderboard) and tr[data-a] (pairs)."""

    def __init__(self):
        super().__init__()
        self.entries: dict[str, dict[str, str]] = {}
        self.pairs: dict[tuple[str, str], dict[str, str]] = {}
        self._row: dict[str, str] | None = None
        self._key: str | None = None
        self.labels: list[tuple[float, str, str]] = []  # chart label: x, anchor, text
        self._label: tuple[float, str] | None = None
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
        if tag == "tr" and "data-entry" in a:
            self._row = self.entries.setdefault(a["data-entry"], {})
        elif tag == "tr" and "data-a" in a:
            self._row = self.pairs.setdefault((a["data-a"], a["data-b"]), {})
        elif tag == "td" and self._row is not None and "data-k" in a:
            self._key = a["data-k"]
            self._row[self._key] = ""
        elif tag == "text" and a.get("class") == "label" and "x" in a:
            self._label = (float(a["x"]), a.get("text-anchor", "start"))

    def handle_endtag(self, tag):
        if tag == "td":
            self._key = None
        elif tag == "tr":
            self._row = None
        elif tag == "text":
            self._label = None

    def handle_data(self, data):
        if self._row is not None and self._key:
            self._row[self._key] += data
        if self._label is not None:
            self.labels.append((*self._label, data))
            self._label = None


def cells(text: str) -> Cells:
    c = Cells()
    c.feed(text)
    for row in [*c.entries.values(), *c.pairs.values()]:
        for k, v in row.items():
            row[k] = " ".join(v.split())
    return c


@pytest.fixture
def demo_run():
    """The demo suite, two fake models, priced by machine time (so every chart is drawn)."""
    run, results, _ = run_compare("demo", FAKES, quiet=True, as_json=True, machine_usd_per_hour=0.1)
    return run, results


def page_text(run_id: str) -> str:
    with TestClient(create_app(Settings(models={}))) as client:
        r = client.get(f"/ui/results/{run_id}")
    assert r.status_code == 200
    return r.text


def _num(text: str) -> float:
    return float(re.sub(r"[^0-9.+-]", "", text))


def test_report_and_page_agree_with_compare_json(demo_run, tmp_path):
    run, results = demo_run
    summary = json.loads(json.dumps(json_report(run, results)))["summary"]
    report = cells(html.write(run, results, tmp_path / "r.html").read_text(encoding="utf-8"))
    ui = cells(page_text(run.id))
    assert report.entries == ui.entries and report.pairs == ui.pairs  # one view, two places
    assert list(report.entries) == [e["label"] for e in summary["entries"]]
    for e in summary["entries"]:
        row = report.entries[e["label"]]
        # numbers parsed back from the page, against the JSON to the precision shown
        assert _num(row["pass_rate"]) == pytest.approx(e["pass_rate"] * 100, abs=0.051)
        low, high = (float(x) for x in re.findall(r"\d+", row["interval"]))
        assert (low, high) == pytest.approx((e["pass_low"] * 100, e["pass_high"] * 100), abs=0.51)
        assert float(row["mean_score"]) == pytest.approx(e["mean_score"], abs=0.0005)
        assert int(row["errors"]) == e["errors"]          # 0 reads 0, never blank
        assert row["tokens"] == f"{e['prompt_tokens']} / {e['completion_tokens']}"
        assert row["latency_p50_s"] == seconds(e["latency_p50_s"])
        assert row["output_tok_s"] == rate(e["output_tok_s"])
        assert row["cost_per_1k_cases_usd"] == money(e["cost_per_1k_cases_usd"])
        assert row["pass_rate"] == pct(e["pass_rate"], 1)
        assert row["interval"] == interval(e["pass_low"], e["pass_high"])
    assert len(report.pairs) == len(summary["pairwise"]) == 1
    for p in summary["pairwise"]:
        row = report.pairs[(p["a"], p["b"])]
        assert row["a"] == f"A {p['a']}" and row["b"] == f"B {p['b']}"  # which is A, which is B
        assert int(row["n"]) == p["n"] and row["only"] == f"{p['a_only']} / {p['b_only']}"
        assert _num(row["p"]) == pytest.approx(p["p"], abs=0.0051)  # 2 digits, as the verdict
        diff, low, high = (float(x) for x in re.findall(r"[+-]\d\.\d+", row["score_diff"]))
        assert (diff, low, high) == pytest.approx((p["score_diff"], p["score_low"], p["score_high"]),
                                                  abs=0.0005)
        # the verdict's p is the p column's, character for character
        assert row["verdict"] == p["verdict"]
        assert re.search(r"p ([=<] )?([0-9.]+)\)?$", row["verdict"]).group(0).endswith(row["p"] + ")")


def test_report_is_small_offline_and_names_no_absolute_path(demo_run, tmp_path):
    run, results = demo_run
    assert run.suite_path and run.suite_path.startswith("/")
    text = html.write(run, results, tmp_path / "r.html").read_text(encoding="utf-8")
    assert len(text.encode()) < 1_500_000
    page = cells(text)
    assert page.scripts and all("src" not in s for s in page.scripts)
    assert "plotly" not in text.lower()
    assert run.suite_path not in text and "<code>demo.yaml</code>" in text
    assert text.count('<figure class="chart"') == 3  # cost, speed, tags: drawn as SVG
    assert 'id="matrix"' in text and text.count("<tr data-case=") == 22


def test_chart_labels_stay_inside_the_chart(demo_run):
    run, results = demo_run
    from openpick.evals.summary import summarize

    report = summarize(run, results)
    long = report.model_copy(update={"entries": [e.model_copy(update={"label": "qwen2.5-coder-0.5b-instruct-q4"})
                                                  if i == 0 else e for i, e in enumerate(report.entries)]})
    for chart in (charts.quality_vs_speed(long), charts.quality_vs_cost(long)):
        labels = cells(str(chart)).labels
        assert len(labels) == 2
        for x, anchor, text in labels:
            w = charts.text_width(text)
            left, right = (x, x + w) if anchor == "start" else (x - w, x)
            assert 0 <= left and right <= charts.W, (text, left, right)
    # a point at either edge still gets its whole label inside
    placed = charts.place_labels([(charts.W - 20, 100, "en2.5-coder-0.5b-long-name"),
                                  (20, 100, "another-model-name-here")])
    for x, _y, anchor, text in placed:
        w = charts.text_width(text)
        assert (x - w if anchor == "end" else x) >= 0 and (x if anchor == "end" else x + w) <= charts.W


def test_no_cost_leaves_no_empty_chart_slot(tmp_path):
    run, results, _ = run_compare("demo", FAKES, quiet=True, as_json=True)
    text = html.write(run, results, tmp_path / "r.html").read_text(encoding="utf-8")
    assert text.count('<figure class="chart"') == 2 and 'id="chart-cost"' not in text
    assert "No cost to plot" in text


SUITE = textwrap.dedent("""\
    name: cut
    defaults: {max_tokens: 3}
    cases:
      - {id: long, prompt: "Count to ten.", assert: [{icontains: ten}, {judge: "Counts to ten"}]}
      - {id: short, prompt: "Say ok.", max_tokens: 20, assert: [{icontains: one}]}
    """)


def test_truncated_answer_is_flagged_and_the_judge_is_told(tmp_path):
    suite = tmp_path / "cut.yaml"
    suite.write_text(SUITE)
    run, results, _ = run_compare(str(suite), ["fake:one two three four five six seven eight nine ten"],
                                  quiet=True, as_json=True, judge="fake:echo")
    by = {r.case_id: r for r in results}
    notes = [a for a in by["long"].grade.assertions if a.type == "truncated"]
    assert len(notes) == 1 and notes[0].weight == 0 and "max_tokens" in notes[0].reason
    assert by["long"].output == "one two three"
    # the judge (fake:echo answers with its prompt) was told the answer was cut
    j = next(a for a in by["long"].grade.assertions if a.type == "judge")
    assert TRUNCATED_NOTE in j.detail["reasoning"]
    assert not any(a.type == "truncated" for a in by["short"].grade.assertions)
    for text in (html.render_html(run, results), page_text(run.id)):
        assert text.count("truncated at max_tokens</span>") == 1


def test_judge_prompt_mentions_truncation_only_when_cut():
    prompts = []
    a = Assertion(type="judge", base="judge", value="Counts to ten", prepared=0.5)
    for reason in ("length", "stop"):
        ctx = GradeContext(case={"prompt": "Count"}, finish_reason=reason,
                           judge=lambda p: prompts.append(p) or "SCORE: 5")
        judge(a, "one two", ctx)
    assert TRUNCATED_NOTE in prompts[0] and "truncated" not in prompts[1]


def test_results_list_shows_zero_errors(demo_run):
    run, _ = demo_run
    with TestClient(create_app(Settings(models={}))) as client:
        text = client.get("/ui/results").text
    row = re.search(rf"{run.id}.*?</tr>", text, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row)[-1] == "0"
