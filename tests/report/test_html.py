"""The HTML report: one offline file, charts and matrix present, model output inert."""

from __future__ import annotations

from html.parser import HTMLParser

from openpick.store.records import RunInfo
from openpick.report import charts, html


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.ids: set[str] = set()
        self.tags: list[tuple[str, dict]] = []
        self.links: list[str] = []
        self._in_script = False
        self.script_text: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
        if tag in ("link", "img", "iframe") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src"))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.script_text if self._in_script else self.text).append(data)


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    return p


def test_report_is_one_offline_file(sample, tmp_path):
    path = html.write(*sample, tmp_path)
    assert path == tmp_path / "r1.html" and path.is_file()
    page = parse(path.read_text(encoding="utf-8"))
    assert page.scripts, "the matrix filter is an inline script"
    assert all("src" not in s for s in page.scripts), "no script is loaded from anywhere"
    assert page.links == [], "no stylesheet, image or frame is fetched"
    assert sum(t == "svg" for t, _ in page.tags) == 3, "the charts are inline SVG"
    assert len(text := path.read_text(encoding="utf-8")) < 300_000 and "plotly" not in text.lower()


def test_report_has_leaderboard_charts_heatmap_and_matrix(sample, tmp_path):
    text = html.write(*sample, tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    page = parse(text)
    assert {"leaderboard-table", "pairwise-table", "chart-cost", "chart-speed", "chart-tags",
            "matrix"} <= page.ids
    body = "".join(page.text)
    assert "big-model is better than small-model on this suite" in body
    assert "Pareto frontier" in body and f'fill="{charts.FRONTIER}"' in text  # ★ on the frontier
    # the matrix: a row per case, a cell per model, outputs and why assertions failed
    rows = [a for t, a in page.tags if t == "tr" and "data-fail" in a]
    assert len(rows) == 24
    assert "answer 3 from small-model" in body
    assert "expected 'paris' in output <3>" in body
    assert "timeout after 60 s" in body
    assert "the <i>answer</i> is vague" in body            # an assertion's detail, as text
    # cases keep the suite's order
    assert [a["data-case"] for t, a in page.tags if t == "tr" and "data-case" in a][:3] == [
        "case-00", "case-01", "case-02"]


def test_model_output_is_escaped_and_inert(sample, hostile, tmp_path):
    text = html.write(*sample, tmp_path / "r.html").read_text(encoding="utf-8")
    assert hostile not in text
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in text
    page = parse(text)
    # the hostile output is text of the page, not a tag of it
    assert hostile in "".join(page.text)
    assert not any(t == "img" for t, _ in page.tags)
    assert all("pwned" not in s for s in page.script_text)
    # model names with markup are shown as typed in tables, never as tags
    assert not any(t == "b" for t, _ in page.tags)


def test_report_without_prices_timings_or_tags_explains_missing_charts(sample, tmp_path):
    run, results = sample
    bare = [r.model_copy(update={"tags": [], "total_s": None, "ttft_s": None, "decode_tok_s": None})
            for r in results]
    run = run.model_copy(update={"models": []})
    text = html.write(run, bare, tmp_path / "bare.html").read_text(encoding="utf-8")
    assert "No cost to plot" in text and "No speed to plot" in text and "no tags" in text
    assert "<script>" in text  # only the small matrix filter
    assert "<svg" not in text  # no empty axes


def test_empty_run_renders(tmp_path):
    run = RunInfo(id="e", suite="s", created_at="2025-01-01T00:00:00Z")
    assert "Only one model" in html.write(run, [], tmp_path / "e.html").read_text(encoding="utf-8")
