"""`openpick compare` and `openpick runs` on fake models (no real model, no network)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from openpick.cli.main import app

SUITE = """
name: cli-test
defaults: {max_tokens: 16}
cases:
  - id: hello
    prompt: "say pass please"
    tags: [greet]
    assert: [{icontains: pass}]
  - id: nope
    prompt: "say nothing"
    assert: [{icontains: pass}]
  - id: num
    prompt: "the answer is 42"
    assert: [{number: 42}]
"""


@pytest.fixture
def suite_file(tmp_path):
    p = tmp_path / "suite.yaml"
    p.write_text(SUITE)
    return p


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def compare_json(suite_file, *extra):
    r = invoke("compare", str(suite_file), "-m", "fake:echo", "-m", "fake:pass 42", "--json",
               *extra)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_compare_json_has_pass_rates_intervals_outputs_and_assertions(suite_file):
    data = compare_json(suite_file)
    assert data["run"]["status"] == "finished" and data["run"]["planned"] == 6
    entries = {e["model"]: e for e in data["summary"]["entries"]}
    assert entries["fake:pass 42"]["pass_rate"] == 1.0
    assert entries["fake:echo"]["pass_rate"] == pytest.approx(2 / 3)
    assert 0 <= entries["fake:echo"]["pass_low"] < entries["fake:echo"]["pass_high"] <= 1
    r = next(x for x in data["results"] if x["model"] == "fake:echo" and x["case_id"] == "nope")
    assert r["output"] == "say nothing"
    assert r["grade"]["assertions"][0]["type"] == "icontains"
    assert r["grade"]["passed"] is False


def test_suite_option_quiet_and_rerun_uses_cache(suite_file):
    r = invoke("compare", "--suite", str(suite_file), "-m", "fake:echo", "--quiet")
    assert r.exit_code == 0 and r.stdout == ""
    data = compare_json(suite_file)
    assert all(x["cached"] for x in data["results"] if x["model"] == "fake:echo")
    data = compare_json(suite_file, "--no-cache")
    assert not any(x["cached"] for x in data["results"])


def test_terminal_report_and_html(suite_file, tmp_path):
    out = tmp_path / "report.html"
    r = invoke("compare", str(suite_file), "-m", "fake:echo", "-m", "fake:pass 42",
               "--html", str(out))
    assert r.exit_code == 0, r.output
    assert "fake:echo" in r.stdout and "HTML report" in r.stdout
    assert out.is_file() and "fake:echo" in out.read_text()


def test_runs_list_show_export_diff(suite_file, tmp_path):
    first = compare_json(suite_file)["run"]["id"]
    better = tmp_path / "s2.yaml"
    better.write_text(SUITE.replace("say nothing", "say pass now"))
    second = compare_json(better)["run"]["id"]

    r = invoke("runs", "list", "--json")
    rows = json.loads(r.stdout)
    assert [x["id"] for x in rows] == [second, first]
    assert rows[0]["done"] == 6 and rows[0]["status"] == "finished"
    assert second in invoke("runs", "list").stdout

    r = invoke("runs", "show", first[:6])
    assert r.exit_code == 0 and "fake:echo" in r.stdout
    assert json.loads(invoke("runs", "show", "last", "--json").stdout)["run"]["id"] == second

    exported = json.loads(invoke("runs", "export", first, "--format", "json").stdout)
    assert len(exported["results"]) == 6
    rows = list(csv.DictReader(io.StringIO(invoke("runs", "export", first, "-f", "csv").stdout)))
    assert len(rows) == 6 and {"model", "case_id", "passed", "output"} <= set(rows[0])

    changes = json.loads(invoke("runs", "diff", first, second, "--json").stdout)
    assert [(c["model"], c["case_id"], c["change"]) for c in changes] == [
        ("fake:echo", "nope", "improved")]
    text = invoke("runs", "diff", first, second).stdout
    assert "improved" in text and "1 improved, 0 regressed" in text


def test_price_option_lands_on_the_run(suite_file):
    data = compare_json(suite_file, "--price", "fake:echo=0.5/1.5")
    m = next(x for x in data["run"]["models"] if x["name"] == "fake:echo")
    assert (m["usd_per_1m_input"], m["usd_per_1m_output"], m["price_source"]) == (0.5, 1.5, "user")


@pytest.mark.parametrize("args, message", [
    (["-m", "fake:echo", "--price", "fake:echo=cheap"], "MODEL=IN/OUT"),
    (["-m", "no-such-model-zz"], "unknown model"),
    ([], "no models"),
])
def test_user_errors_are_one_line(suite_file, args, message, capsys):
    from openpick.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["compare", str(suite_file), *args])
    assert e.value.code != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_resume_by_id_continues_the_run(suite_file):
    first = compare_json(suite_file)["run"]["id"]
    r = invoke("compare", "--resume", first, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["run"]["id"] == first and len(data["results"]) == 6


def test_unknown_run_is_not_found(capsys):
    from openpick.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["runs", "show", "nosuchrun"])
    assert e.value.code == 2 and "runs list" in capsys.readouterr().err
