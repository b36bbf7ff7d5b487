"""A CI gate over a run: a pass-rate threshold, a paired test against a baseline run, and a
Markdown summary for a CI job page (GitHub's $GITHUB_STEP_SUMMARY).

Exit codes of `openpick compare` (stated here once; the command's help and the README say
the same):

    0    ok: the run finished and every gate passed
    1    an openpick error, or the run did not finish (resume it)
    2    not found (a run or model), or a usage error
    3    a missing optional dependency        4    an engine error
    5    gate failed: a model's pass rate is below --fail-under
    6    gate failed: significantly worse than the --fail-if-worse-than baseline
         (takes precedence over 5 when both fail)
    130  interrupted

Choices, stated once:

- The threshold reads each entry's pass rate as the report computes it (repeats of a case
  averaged; an engine error or timeout is a failed case). A model of the run with no
  result at all (it failed to load) has pass rate 0.
- The regression test pairs each model with the baseline model of the same name (or, when
  both runs have exactly one model, those two), per prompt variant, on the cases both runs
  answered. Repeats of a case are averaged first, as in every other report: repeats are not
  independent cases. The test is the report's own (`stats.verdict`: exact McNemar on
  pass/fail, the paired sign-flip test for partial scores) at p < 0.05, and the gate fails
  only when the baseline is significantly better, never on a difference it cannot prove.
"""

from __future__ import annotations

import html

from pydantic import BaseModel, ConfigDict, Field

from openpick.errors import InvalidInput
from openpick.evals.summary import ALPHA, Pairwise, RunReport, group_results, paired
from openpick.report import interval, pct, seconds
from openpick.store.records import CaseResult, RunInfo

EXIT_OK = 0
EXIT_UNFINISHED = 1  # the run stopped short: no gate can vouch for it (OpenpickError's code)
EXIT_BELOW_THRESHOLD = 5
EXIT_REGRESSION = 6
MIN_DIFFERING = 6   # fewer discordant cases can never reach p < 0.05 (2/2^5 > 0.05)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThresholdCheck(_Base):
    label: str
    pass_rate: float
    errors: int
    n_cases: int
    ok: bool


class RegressionCheck(_Base):
    model: str
    baseline_model: str
    variant: str
    pair: Pairwise | None = None     # None: no case in common
    regressed: bool = False          # the baseline is significantly better


class GateOutcome(_Base):
    run_status: str = "finished"
    fail_under: float | None = None
    thresholds: list[ThresholdCheck] = Field(default_factory=list)
    baseline: str | None = None      # the baseline run's id
    regressions: list[RegressionCheck] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def below(self) -> list[ThresholdCheck]:
        return [t for t in self.thresholds if not t.ok]

    @property
    def regressed(self) -> list[RegressionCheck]:
        return [r for r in self.regressions if r.regressed]

    @property
    def exit_code(self) -> int:
        if self.run_status != "finished":
            return EXIT_UNFINISHED
        if self.regressed:
            return EXIT_REGRESSION
        return EXIT_BELOW_THRESHOLD if self.below else EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def lines(self) -> list[str]:
        """The outcome in plain sentences: each check, then the notes."""
        out = []
        for t in self.thresholds:
            cmp = "≥" if t.ok else "<"
            err = f", {t.errors} errored" if t.errors else ""
            out.append(f"{'ok' if t.ok else 'FAIL'}: {t.label} pass rate {pct(t.pass_rate)} {cmp} "
                       f"{pct(self.fail_under)} ({t.n_cases} cases{err})")
        for r in self.regressions:
            text = r.pair.verdict if r.pair else f"{r.model}: no case in common with the baseline"
            out.append(f"{'REGRESSION' if r.regressed else 'ok'}: {text}")
        out += [f"note: {n}" for n in self.notes]
        gate = "passed" if self.ok else f"FAILED (exit {self.exit_code})"
        if self.run_status != "finished":
            gate += f": the run is {self.run_status}; resume it and gate again"
        return out + [f"gate {gate}"]

    def to_dict(self) -> dict:
        return {**self.model_dump(mode="json"), "exit_code": self.exit_code, "ok": self.ok}


# --- checks ------------------------------------------------------------------------


def check_threshold(report: RunReport, fail_under: float) -> list[ThresholdCheck]:
    """Every entry's pass rate against the threshold; a run model without results fails."""
    if not 0.0 <= fail_under <= 1.0:
        raise InvalidInput(f"--fail-under {fail_under}: a pass rate between 0 and 1, e.g. 0.8")
    out = [ThresholdCheck(label=e.label, pass_rate=e.pass_rate, errors=e.errors,
                          n_cases=e.n_cases, ok=e.pass_rate >= fail_under) for e in report.entries]
    answered = {e.model for e in report.entries}
    out += [ThresholdCheck(label=m.name, pass_rate=0.0, errors=0, n_cases=0, ok=False)
            for m in report.run.models if m.name not in answered]
    return out


def _model_pairs(run: RunInfo, baseline: RunInfo) -> dict[str, str]:
    """This run's model name → the baseline's: same names, or a single model on each side."""
    names = [m.name for m in run.models]
    base = [m.name for m in baseline.models]
    same = {n: n for n in names if n in base}
    if same:
        return same
    if len(names) == 1 and len(base) == 1:
        return {names[0]: base[0]}
    raise InvalidInput(f"no model of run {run.id} ({', '.join(names)}) is in baseline run "
                       f"{baseline.id} ({', '.join(base)}); compare the same model names, or a "
                       "single model with a single-model baseline")


def check_regression(run: RunInfo, results: list[CaseResult], baseline: RunInfo,
                     baseline_results: list[CaseResult]) -> tuple[list[RegressionCheck], list[str]]:
    """Each model (and variant) against the baseline on the same cases; returns the checks
    and notes (models left untested, too few cases to prove anything)."""
    if baseline.id == run.id:
        raise InvalidInput(f"--fail-if-worse-than {baseline.id} is this run itself; name an "
                           "earlier run of the same suite")
    if not run.suite_hash or run.suite_hash != baseline.suite_hash:
        raise InvalidInput(
            f"baseline run {baseline.id} ran suite {baseline.suite!r} "
            f"(hash {(baseline.suite_hash or 'unknown')[:12]}), this run {run.id} ran suite "
            f"{run.suite!r} (hash {(run.suite_hash or 'unknown')[:12]}): a regression test "
            "pairs the same cases, so give a baseline run of the same suite")
    pairs = _model_pairs(run, baseline)
    notes = [f"{m.name}: not in baseline run {baseline.id}; not tested for a regression"
             for m in run.models if m.name not in pairs]
    if baseline.status != "finished":
        notes.append(f"baseline run {baseline.id} is {baseline.status}; only the cases it "
                     "answered are compared")
    now, before = group_results(results), group_results(baseline_results)
    variants = {v for _, v in now}
    checks = []
    for model, base_model in pairs.items():
        for variant in sorted(v for m, v in now if m == model):
            tail = f" [{variant}]" if len(variants) > 1 else ""
            a, b = f"{base_model}{tail} (baseline {baseline.id})", f"{model}{tail} (this run)"
            p = paired(a, b, before.get((base_model, variant), {}), now[(model, variant)])
            checks.append(RegressionCheck(model=model, baseline_model=base_model, variant=variant,
                                          pair=p, regressed=bool(p and p.better == a)))
            if p and p.a_only + p.b_only < MIN_DIFFERING and p.test == "mcnemar":
                notes.append(f"{model}{tail}: {p.a_only + p.b_only} case(s) differ from the "
                             f"baseline; fewer than {MIN_DIFFERING} can never be significant")
    return checks, notes


def gate(report: RunReport, results: list[CaseResult], *, fail_under: float | None = None,
         baseline: RunInfo | None = None,
         baseline_results: list[CaseResult] | None = None) -> GateOutcome:
    """The CI gate over a run's report: threshold, regression, or both."""
    out = GateOutcome(run_status=report.run.status, fail_under=fail_under)
    if fail_under is not None:
        out.thresholds = check_threshold(report, fail_under)
    if baseline is not None:
        out.baseline = baseline.id
        out.regressions, out.notes = check_regression(report.run, results, baseline,
                                                      baseline_results or [])
    return out


# --- Markdown ----------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_~[]|#"})


def md(text: str) -> str:
    """Untrusted text (model names, verdicts) as inert Markdown: no markup, no HTML, one line."""
    return html.escape(" ".join(str(text).split()), quote=False).translate(_MD_SPECIAL)


def markdown(report: RunReport, outcome: GateOutcome | None = None) -> str:
    """A job-page summary: the gate's outcome, the leaderboard, the verdicts, the notes."""
    r = report.run
    lines = [f"## openpick · {md(r.suite)} · run `{r.id}`", ""]
    if outcome is not None and (outcome.thresholds or outcome.regressions):
        head = "✅ **Gate passed**" if outcome.ok else f"❌ **Gate failed** (exit {outcome.exit_code})"
        lines += [head, ""] + [f"- {md(x)}" for x in outcome.lines()[:-1]] + [""]
    if r.status != "finished":
        lines += [f"⚠️ The run is **{r.status}**: resume it with "
                  f"`openpick compare --resume {r.id}`", ""]
    lines += ["| # | model | pass | 95% CI | score | errors | cases | p50 latency |",
              "|--:|:--|--:|--:|--:|--:|--:|--:|"]
    for i, e in enumerate(report.entries, start=1):
        lines.append(f"| {i} | {md(e.label)} | {pct(e.pass_rate)} | "
                     f"{interval(e.pass_low, e.pass_high)} | {e.mean_score:.2f} | {e.errors} | "
                     f"{e.n_cases} | {seconds(e.latency_p50_s)} |")
    if report.pairwise:
        lines += ["", f"### Verdicts (paired tests, p < {ALPHA})", ""]
        lines += [f"- {'**' + md(p.verdict) + '**' if p.better else md(p.verdict)}  \n"
                  f"  {md(p.detail)}" for p in report.pairwise]
    if report.notes:
        lines += ["", "<details><summary>Notes</summary>", ""]
        lines += [f"- {md(n)}" for n in report.notes] + ["", "</details>"]
    return "\n".join(lines) + "\n"


def append_summary(text: str, path) -> None:
    """Append, as $GITHUB_STEP_SUMMARY expects: earlier content of the file stays."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(text if not path.stat().st_size else "\n" + text)
