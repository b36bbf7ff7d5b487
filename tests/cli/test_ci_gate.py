"""`openpick compare` as a CI gate: --fail-under, --fail-if-worse-than, --junit, --summary,
their exit codes, and the example GitHub Actions workflow, all on fake models."""

from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from openpick.cli.main import app, main
from openpick.report.ci import EXIT_BELOW_THRESHOLD, EXIT_REGRESSION
from openpick.store.runs import RunStore

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "openpick.yml"

# fake:echo answers the prompt: it passes the 2 "say pass" cases and fails the 6 others
# (pass rate 25%); "fake:pass 42" passes all 8. Six discordant cases: exact McNemar
# p = 2/2^6 = 0.031, the fewest that can be significant at 0.05.
CASES = [("ok1", "say pass one"), ("ok2", "say pass two")] + [
    (f"no{i}", f"say nothing {i}") for i in range(6)]
SUITE = "name: gate-test\ncases:\n" + "".join(
    f"  - id: {cid}\n    prompt: \"{p}\"\n    assert: [{{icontains: pass}}]\n" for cid, p in CASES)
GOOD, BAD = "fake:pass 42", "fake:echo"


@pytest.fixture
def suite_file(tmp_path):
    """evals/suite.yaml, where the example workflow looks for it."""
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "suite.yaml").write_text(SUITE)
    return tmp_path / "evals" / "suite.yaml"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def run_id(suite_file, *models):
    args = [x for m in models for x in ("-m", m)]
    r = invoke("compare", suite_file, *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["run"]["id"]


def test_below_threshold_exits_5_and_still_writes_junit_summary_and_run(suite_file, tmp_path):
    junit, summary = tmp_path / "out" / "results.xml", tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    r = invoke("compare", suite_file, "-m", BAD, "-m", GOOD, "--fail-under", "0.8",
               "--junit", junit, "--summary", summary)
    assert r.exit_code == EXIT_BELOW_THRESHOLD == 5, r.output
    assert "FAIL: fake:echo pass rate 25% < 80% (8 cases)" in r.stderr
    assert "ok: fake:pass 42 pass rate 100% ≥ 80%" in r.stderr
    assert "gate FAILED (exit 5)" in r.stderr

    root = ET.parse(junit).getroot()
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites", "16", "6", "0")
    cases = {(tc.get("classname"), tc.get("name")): tc for tc in root.iter("testcase")}
    assert len(cases) == 16
    fail = cases[(BAD, "no3")].find("failure")
    assert "icontains" in fail.get("message") and "pass" in fail.get("message")
    assert cases[(GOOD, "no3")].find("failure") is None

    text = summary.read_text()
    assert text.startswith("# earlier step\n")            # appended, as GitHub expects
    assert "❌ **Gate failed** (exit 5)" in text and "| 2 | fake:echo | 25% |" in text

    [row] = [x for x in RunStore().list() if x.suite == "gate-test"]
    assert row.status == "finished" and row.done == 16     # the run stays in the store


def test_threshold_met_exits_0_and_json_carries_the_gate(suite_file, tmp_path):
    r = invoke("compare", suite_file, "-m", BAD, "-m", GOOD, "--fail-under", "0.25", "--json")
    assert r.exit_code == 0, r.output
    gate = json.loads(r.stdout)["gate"]
    assert gate["ok"] is True and gate["exit_code"] == 0
    assert {t["label"]: t["ok"] for t in gate["thresholds"]} == {BAD: True, GOOD: True}
    assert "gate passed" in r.stderr


def configure(folder, name, target, **options):
    """A project openpick.toml naming a fake model (so a name can change what it runs)."""
    opts = ", ".join(f"{k} = {v}" for k, v in options.items())
    (folder / "openpick.toml").write_text(
        f'[models.{name}]\nengine = "fake"\npath = "{target}"\noptions = {{ {opts} }}\n')


def test_errored_cases_count_as_failures(suite_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    configure(tmp_path, "slow", "echo", delay_s=0.3)   # every answer times out
    junit = tmp_path / "r.xml"
    r = invoke("compare", suite_file, "-m", "slow", "--timeout", "0.05", "--fail-under", "0.1",
               "-q", "--junit", junit)
    assert r.exit_code == EXIT_BELOW_THRESHOLD, r.output
    assert "FAIL: slow pass rate 0% < 10% (8 cases, 8 errored)" in r.stderr
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "0", "8")
    assert all(tc.find("error") is not None for tc in root.iter("testcase"))


def test_significantly_worse_than_the_baseline_exits_6(suite_file, tmp_path):
    run_id(suite_file, GOOD)                       # the baseline: one model, 8 of 8
    summary = tmp_path / "s.md"
    # `last` is resolved before this run starts, so it names the baseline, not this run
    r = invoke("compare", suite_file, "-m", BAD, "--fail-if-worse-than", "last",
               "--summary", summary, "--fail-under", "0.1")
    assert r.exit_code == EXIT_REGRESSION == 6, r.output
    assert "REGRESSION: fake:pass 42 (baseline " in r.stderr
    assert "is better than fake:echo (this run) on this suite, p = 0.03" in r.stderr
    assert "❌ **Gate failed** (exit 6)" in summary.read_text()


def test_regression_wins_over_the_threshold(suite_file):
    base = run_id(suite_file, GOOD)
    r = invoke("compare", suite_file, "-m", BAD, "--fail-if-worse-than", base[:6],
               "--fail-under", "0.9")
    assert r.exit_code == EXIT_REGRESSION, r.output
    assert "FAIL: fake:echo pass rate 25%" in r.stderr


def test_better_than_the_baseline_passes_and_says_so(suite_file):
    base = run_id(suite_file, BAD)
    r = invoke("compare", suite_file, "-m", GOOD, "--fail-if-worse-than", base, "-q")
    assert r.exit_code == 0, r.output
    assert f"ok: fake:pass 42 (this run) is better than fake:echo (baseline {base})" in r.stderr
    assert "gate passed" in r.stderr


def test_models_are_paired_by_name(suite_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    configure(tmp_path, "cand", "pass 42")
    base = run_id(suite_file, "cand", BAD)
    configure(tmp_path, "cand", "echo")          # the same name now answers worse
    r = invoke("compare", suite_file, "-m", "cand", "-m", BAD, "--fail-if-worse-than", base,
               "-q")
    assert r.exit_code == EXIT_REGRESSION, r.output
    assert "REGRESSION: cand (baseline" in r.stderr and "than cand (this run)" in r.stderr
    assert f"ok: fake:echo vs fake:echo (this run): no significant difference" in r.stderr.replace(
        f"fake:echo (baseline {base}) vs", "fake:echo vs")
    # a model the baseline lacks is named and left untested
    r = invoke("compare", suite_file, "-m", "cand", "-m", GOOD, "--fail-if-worse-than", base,
               "-q")
    assert f"note: fake:pass 42: not in baseline run {base}" in r.stderr


def test_baseline_of_another_suite_is_refused_naming_both(suite_file, tmp_path, capsys):
    base = run_id(suite_file, GOOD)
    other = tmp_path / "other.yaml"
    other.write_text(SUITE.replace("gate-test", "other-suite").replace("say pass two", "x"))
    junit = tmp_path / "r.xml"
    with pytest.raises(SystemExit) as e:
        main(["compare", str(other), "-m", GOOD, "--fail-if-worse-than", base,
              "--junit", str(junit)])
    assert e.value.code == 1
    msg = capsys.readouterr().err
    assert f"baseline run {base} ran suite 'gate-test'" in msg and "suite 'other-suite'" in msg
    assert junit.is_file()                         # written before the gate looked


def test_unpairable_models_and_unknown_baseline_are_user_errors(suite_file, capsys):
    base = run_id(suite_file, BAD, GOOD)
    with pytest.raises(SystemExit) as e:
        main(["compare", str(suite_file), "-m", "fake:a", "-m", "fake:b",
              "--fail-if-worse-than", base])
    assert e.value.code == 1 and "no model of run" in capsys.readouterr().err
    before = len(RunStore().list())
    with pytest.raises(SystemExit) as e:
        main(["compare", str(suite_file), "-m", BAD, "--fail-if-worse-than", "nosuchrun"])
    assert e.value.code == 2 and "no run 'nosuchrun'" in capsys.readouterr().err
    assert len(RunStore().list()) == before        # refused before anything ran


def test_junit_folder_is_refused_before_the_run(suite_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", str(suite_file), "-m", BAD, "--junit", str(tmp_path)])
    assert e.value.code == 1 and "is a folder" in capsys.readouterr().err
    assert RunStore().list() == []


# --- the example workflow ----------------------------------------------------------


def _workflow_steps():
    wf = yaml.safe_load(WORKFLOW.read_text())
    [job] = wf["jobs"].values()
    return wf, job["steps"]


def test_example_workflow_is_a_github_actions_job():
    wf, steps = _workflow_steps()
    # PyYAML reads the bare key `on` as True (YAML 1.1); GitHub reads it as "on"
    assert {"pull_request", "push"} <= set(wf.get("on") or wf[True])
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert any(s.get("run") == "pip install openpick" for s in steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "results.xml"


def test_example_workflow_command_runs_with_this_cli(suite_file, tmp_path, monkeypatch):
    _, steps = _workflow_steps()
    [line] = [s["run"] for s in steps if s.get("run", "").startswith("openpick compare")]
    summary = tmp_path / "step-summary.md"
    argv = shlex.split(line.replace("$GITHUB_STEP_SUMMARY", str(summary)))
    assert argv[:2] == ["openpick", "compare"]
    args = argv[1:]                       # "compare" and what follows
    # the same command on fake models: every model after -m becomes one
    models = [i + 1 for i, a in enumerate(args) if a in ("-m", "--model")]
    assert models, "the workflow names a model"
    for n, i in enumerate(models):
        args[i] = [BAD, GOOD][n % 2]
    monkeypatch.chdir(tmp_path)
    r = invoke(*args)
    assert r.exit_code == EXIT_BELOW_THRESHOLD, r.output   # fake:echo passes 25% < 80%
    root = ET.parse(tmp_path / "results.xml").getroot()
    assert root.tag == "testsuites" and int(root.get("tests")) == 8 * len(models)
    assert "**Gate failed** (exit 5)" in summary.read_text()


def test_readme_shows_the_workflow_file_as_it_is():
    readme = (WORKFLOW.parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"```yaml\n{WORKFLOW.read_text(encoding='utf-8')}```\n" in readme
