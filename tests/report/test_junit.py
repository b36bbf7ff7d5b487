"""JUnit XML of a run (report/junit.py) and the CI Markdown summary and gate (report/ci.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from openpick.evals.summary import summarize
from openpick.report.ci import gate, markdown, md
from openpick.report.junit import junit_xml, to_junit, write_junit
from openpick.store.records import CaseResult, Grade, ModelInfo, RunInfo


def parse(run, results) -> ET.Element:
    return ET.fromstring(junit_xml(run, results).encode("utf-8"))


def test_one_testcase_per_model_and_case_with_ci_attributes(sample):
    run, results = sample
    root = parse(run, results)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["big-model", "small-model", "<b>odd</b>"]
    # totals: 24 cases × 3 models; big fails i % 8 == 0 (3), small odd i (12), odd i % 4 != 0
    # (18, one of which, case 5, is an engine error instead)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("72", "32", "1")
    for s in suites:
        tcs = s.findall("testcase")
        assert int(s.get("tests")) == len(tcs) == 24
        assert int(s.get("failures")) == sum(tc.find("failure") is not None for tc in tcs)
        assert int(s.get("errors")) == sum(tc.find("error") is not None for tc in tcs)
        assert float(s.get("time")) == pytest.approx(sum(float(tc.get("time")) for tc in tcs))
        assert {tc.get("classname") for tc in tcs} == {s.get("name")}
    assert float(root.get("time")) == pytest.approx(24 * 0.5 + 48 * 2.0)  # errors keep their time


def test_failures_carry_reasons_errors_the_engine_message(sample, hostile):
    run, results = sample
    cases = {(tc.get("classname"), tc.get("name")): tc for tc in parse(run, results).iter("testcase")}
    fail = cases[("big-model", "case-08")].find("failure")
    assert fail.get("message") == "icontains: expected 'paris' in output <8>"
    assert cases[("big-model", "case-08")].get("time") == "0.500"
    err = cases[("<b>odd</b>", "case-05")].find("error")
    assert err.get("message") == "timeout after 60 s" and err.get("type") == "engine-error"
    assert cases[("<b>odd</b>", "case-05")].find("system-out") is None
    ok = cases[("big-model", "case-01")]
    assert ok.find("failure") is None and ok.find("system-out").text == hostile  # escaped, intact


def test_text_xml_cannot_hold_is_replaced_and_the_file_still_parses():
    run = RunInfo(id="r", suite="s", created_at="t", models=[ModelInfo(name="m\x01", spec="fake:x",
                                                                       engine="fake")])
    r = CaseResult(run_id="r", model="m\x01", case_id="c", input="p", output="a\x00b\x1b[31mc\ud800",
                   grade=Grade(passed=True, score=1.0))
    tc = parse(run, [r]).find("testsuite/testcase")
    assert tc.get("classname") == "m\ufffd"
    assert tc.find("system-out").text == "a\ufffdb\ufffd[31mc\ufffd"


def test_variants_repeats_ungraded_and_models_without_results():
    run = RunInfo(id="r", suite="s", created_at="t", status="failed", models=[
        ModelInfo(name="a", spec="fake:a", engine="fake"),
        ModelInfo(name="dead", spec="fake:d", engine="fake")])
    results = [CaseResult(run_id="r", model="a", case_id="c", variant=v, repeat=k, input="p",
                          output="x", grade=Grade(passed=False, score=0.4, threshold=0.5))
               for v in ("short", "long") for k in (0, 1)]
    results.append(CaseResult(run_id="r", model="a", case_id="u", variant="short", input="p",
                              output="x"))
    root = to_junit(run, results)
    names = [(s.get("name"), [tc.get("name") for tc in s.iter("testcase")]) for s in root]
    assert names == [("a [long]", ["c [long] #0", "c [long] #1"]),
                     ("a [short]", ["c [short] #0", "c [short] #1", "u [short] #0"]),
                     ("dead", ["(no results)"])]
    first = root.find("testsuite/testcase/failure")
    assert first.get("message") == "score 0.40 below the pass threshold 0.5"
    assert root.get("skipped") == "1" and root.get("errors") == "1"
    assert "run failed" in root.find("testsuite[@name='dead']/testcase/error").get("message")


def test_write_junit_creates_the_folder_and_leaves_no_temp_file(sample, tmp_path):
    run, results = sample
    path = write_junit(run, results, tmp_path / "reports" / "junit.xml")
    assert ET.parse(path).getroot().get("tests") == "72"
    assert [p.name for p in path.parent.iterdir()] == ["junit.xml"]
    assert path.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')


# --- the Markdown summary and the gate -----------------------------------------------


def test_markdown_escapes_untrusted_text():
    assert md("<b>odd</b> | x") == "&lt;b&gt;odd&lt;/b&gt; \\| x"
    assert md("*bold* [link](http://x) `code`\nnext") == (
        "\\*bold\\* \\[link\\](http://x) \\`code\\` next")


def test_summary_has_the_gate_the_leaderboard_and_the_verdicts(sample):
    run, results = sample
    report = summarize(run, results)
    outcome = gate(report, results, fail_under=0.5)
    assert [(t.label, t.ok) for t in outcome.thresholds] == [
        ("big-model", True), ("small-model", True), ("<b>odd</b>", False)]
    assert outcome.exit_code == 5
    text = markdown(report, outcome)
    assert "❌ **Gate failed** (exit 5)" in text
    assert "- FAIL: &lt;b&gt;odd&lt;/b&gt; pass rate 25% &lt; 50% (24 cases, 1 errored)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| # | model | pass |")
    assert [r.split(" | ")[1] for r in rows[1:]] == ["big-model", "small-model",
                                                     "&lt;b&gt;odd&lt;/b&gt;"]
    assert "<b>" not in text
    better = [p for p in report.pairwise if p.better]
    assert better and all(f"**{md(p.verdict)}**" in text for p in better)


def test_gate_without_checks_is_ok_and_the_summary_says_nothing_about_it(sample):
    run, results = sample
    report = summarize(run, results)
    outcome = gate(report, results)
    assert outcome.ok and outcome.exit_code == 0
    assert "Gate" not in markdown(report, outcome)


def test_a_run_model_without_results_fails_the_threshold(sample):
    run, results = sample
    run = run.model_copy(update={"models": [*run.models, ModelInfo(name="ghost", spec="fake:g",
                                                                   engine="fake")]})
    outcome = gate(summarize(run, results), results, fail_under=0.0)
    ghost = next(t for t in outcome.thresholds if t.label == "ghost")
    assert (ghost.ok, ghost.n_cases, outcome.exit_code) == (False, 0, 5)


def test_an_unfinished_run_exits_1_whatever_the_checks_say(sample):
    run, results = sample
    run = run.model_copy(update={"status": "interrupted"})
    outcome = gate(summarize(run, results), results, fail_under=0.0)
    assert all(t.ok for t in outcome.thresholds) and outcome.exit_code == 1
    assert outcome.lines()[-1] == "gate FAILED (exit 1): the run is interrupted; resume it and gate again"
    assert "The run is **interrupted**" in markdown(summarize(run, results), outcome)
