"""`openpick compare SUITE -m A -m B`: run models on a suite, store every answer, report.

Progress bars go to stderr, so `--json` output on stdout stays clean. Ctrl-C keeps what
finished and prints the command that resumes the run.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)

from openpick.cli.main import app
from openpick.cli.output import console, err_console, print_json
from openpick.errors import InvalidInput

DEMO_SUITE = "demo"
DEMO_MODELS = ("smollm2-135m", "qwen2.5-coder-0.5b")
# The demo prices local models by machine time: a 2-vCPU cloud VM rents for roughly
# this much per hour (an assumption stated in the report, not a quote).
DEMO_MACHINE_USD_PER_HOUR = 0.10


class RichProgress:
    """One bar per model with pass count and ETA (the runner's Progress protocol)."""

    def __init__(self, console_=None):
        self.bars = Progress(
            TextColumn("[bold]{task.description}", justify="left"), BarColumn(),
            MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=console_ or err_console, transient=False)
        self.tasks: dict[str, int] = {}
        self.counts: dict[str, list[int]] = {}

    def start(self, run, totals):
        self.bars.start()
        for name, (total, done) in totals.items():
            self.counts[name] = [0, 0, 0]  # passed, failed, errors
            self.tasks[name] = self.bars.add_task(name, total=total, completed=done,
                                                  status=self._status(name))

    def _status(self, name: str) -> str:
        p, f, e = self.counts[name]
        text = f"[green]{p} pass[/] [red]{f} fail[/]"
        return text + (f" [yellow]{e} err[/]" if e else "")

    def advance(self, result):
        c = self.counts[result.model]
        c[2 if result.error else (0 if result.passed else 1)] += 1
        self.bars.update(self.tasks[result.model], advance=1, status=self._status(result.model))

    def finish(self):
        self.bars.stop()


def parse_prices(pairs: list[str]) -> dict[str, tuple[float, float]]:
    """`--price MODEL=IN/OUT` (USD per 1M input/output tokens)."""
    out = {}
    for pair in pairs:
        model, sep, value = pair.rpartition("=")
        inp, slash, outp = value.partition("/")
        try:
            if not sep or not slash or not model:
                raise ValueError
            out[model] = (float(inp), float(outp))
        except ValueError:
            raise InvalidInput(f"--price {pair!r}: expected MODEL=IN/OUT in USD per 1M tokens, "
                               "e.g. smollm2-135m=0.05/0.10") from None
        if min(out[model]) < 0:
            raise InvalidInput(f"--price {pair!r}: prices cannot be negative")
    return out


@contextmanager
def _signals_as_interrupt():
    """Ctrl-C and `kill PID` stop a run cleanly (kill -9 cannot be caught; nothing finished
    is lost then either). The flag survives native code that swallows the exception."""
    from openpick.evals.runner import interrupt_requested

    def handler(signum, frame):
        interrupt_requested.set()
        raise KeyboardInterrupt
    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# One code a line, each short enough for an 80-column help (the codes: report/ci.py).
EXIT_CODES = "\n".join([
    "Exit codes:",
    "  0  ok: the run finished and every gate passed",
    "  1  an openpick error, or the run did not finish (resume it)",
    "  2  not found (a run, a model) or a usage error",
    "  3  a missing optional dependency;  4  an engine error;  130  interrupted",
    "  5  gate failed: a pass rate below --fail-under (errors count as failed)",
    "  6  gate failed: significantly worse than --fail-if-worse-than (wins over 5)",
    "--junit and --summary files are written whether the gate passes or not.",
])


@dataclass
class CiOptions:
    """The CI gate and its files; `outcome` is filled in once the run is gated."""

    fail_under: float | None = None
    baseline: str | None = None          # a run id, resolved before the run starts
    junit: Path | None = None
    summary: Path | None = None
    outcome: object | None = None        # report.ci.GateOutcome

    def __bool__(self) -> bool:
        return any(x is not None for x in (self.fail_under, self.baseline, self.junit,
                                           self.summary))


def ci_options(fail_under: float | None, baseline: str | None, junit: Path | None,
               summary: Path | None) -> CiOptions:
    """Check what can be checked before a long run: the baseline exists (and `last` means
    the run before this one), the output paths are not folders."""
    for flag, path in (("--junit", junit), ("--summary", summary)):
        if path is not None and path.is_dir():
            raise InvalidInput(f"{flag} {path}: is a folder; give a file name")
    if baseline is not None:
        from openpick.store.runs import RunStore

        baseline = RunStore().resolve(baseline)
    return CiOptions(fail_under, baseline, junit, summary)


def apply_ci(run, results, ci: CiOptions):
    """Write the JUnit file, gate the run, append the Markdown summary; returns the outcome."""
    from openpick.evals.summary import summarize
    from openpick.report.ci import append_summary, gate, markdown

    if ci.junit is not None:
        from openpick.report.junit import write_junit

        write_junit(run, results, ci.junit)
    baseline = baseline_results = None
    if ci.baseline is not None:
        from openpick.store.runs import RunStore

        store = RunStore()
        baseline, baseline_results = store.get(ci.baseline), store.results(ci.baseline)
    report = summarize(run, results)
    outcome = gate(report, results, fail_under=ci.fail_under, baseline=baseline,
                   baseline_results=baseline_results)
    if ci.summary is not None:
        append_summary(markdown(report, outcome), ci.summary)
    ci.outcome = outcome
    return outcome


def run_compare(suite: str | None, models: list[str], *, repeats: int = 1, seed: int = 0,
                no_cache: bool = False, resume: str | None = None, quiet: bool = False,
                as_json: bool = False, concurrency: int | None = None,
                prices: list[str] | None = None, machine_usd_per_hour: float | None = None,
                html: Path | None = None, timeout_s: float | None = None,
                judge: str | None = None, ci: CiOptions | None = None,
                limit: int | None = None):
    """What the command does; returns (run, results, html path or None). With `ci`, the run
    is gated too (the outcome lands on `ci.outcome`, and in the JSON as "gate"). `limit`
    runs the first N cases only (recorded on the run, so --resume runs the same N)."""
    from openpick.evals.runner import RunOptions as options_class
    from openpick.evals.runner import compare
    from openpick.evals.suite import load_suite

    if resume:
        from openpick.store.runs import RunStore

        prior = RunStore().get(resume)
        suite = suite or prior.suite_path or prior.suite
        models = models or [m.name for m in prior.models]
        base = options_class.model_validate({k: v for k, v in prior.options.items()
                                             if k in options_class.model_fields})
        if limit is not None and limit != base.limit:
            ran = f"with --limit {base.limit}" if base.limit else "without --limit"
            raise InvalidInput(f"run {prior.id} ran {ran}; resume it without --limit "
                               "(or start a new run)")
        limit = base.limit
        options = base.model_copy(update={"use_cache": not no_cache,
                                          **({"concurrency": concurrency} if concurrency else {})})
        resume = prior.id
    else:
        options = options_class(repeats=repeats, seed=seed, use_cache=not no_cache,
                                concurrency=concurrency, timeout_s=timeout_s,
                                prices=parse_prices(prices or []),
                                machine_usd_per_hour=machine_usd_per_hour, judge=judge)
    loaded = load_suite(suite or DEMO_SUITE)
    if limit is not None:
        loaded = loaded.head(limit)
    options = options.model_copy(update={"limit": limit, "suite_notes": loaded.notes})
    models = list(models) or loaded.models
    if not models:
        raise InvalidInput("no models: give -m MODEL (repeat it to compare several), "
                           "or list `models:` in the suite")
    progress = None if (quiet or as_json) else RichProgress()
    with _signals_as_interrupt():
        run, results = compare(loaded, models, options, resume=resume, progress=progress)
    path = None
    if html is not None:
        path = write_html(run, results, html)
    outcome = apply_ci(run, results, ci) if ci else None
    if as_json:
        print_json({**json_report(run, results, path),
                    **({"gate": outcome.to_dict()} if outcome else {})})
    elif not quiet:
        print_report(run, results)
        if path:
            console.print(f"HTML report: {path}")
    if outcome is not None and (outcome.thresholds or outcome.regressions):
        # stderr, even with --quiet (it explains the exit code), unwrapped for CI logs
        sys.stderr.write("".join(line + "\n" for line in outcome.lines()))
    return run, results, path


def write_html(run, results, path: Path) -> Path:
    try:
        from openpick.report.html import write
    except ImportError:  # the HTML report is another part of the project
        raise InvalidInput("the HTML report is not available in this build") from None
    return write(run, results, path)


def print_report(run, results, console_=None) -> None:
    console_ = console_ or console
    try:
        from openpick.report.terminal import render
    except ImportError:
        return _minimal_table(run, results, console_)
    render(run, results, console_)


def _minimal_table(run, results, console_) -> None:
    from rich.table import Table

    t = Table(title=f"{run.suite} · run {run.id}")
    for col in ("model", "passed", "errors", "cases"):
        t.add_column(col)
    for m in run.models:
        rs = [r for r in results if r.model == m.name]
        t.add_row(m.name, str(sum(1 for r in rs if r.passed)),
                  str(sum(1 for r in rs if r.error)), str(len(rs)))
    console_.print(t)


def json_report(run, results, html_path: Path | None = None) -> dict:
    """The run, a per-model summary (pass rate with its Wilson interval, ...) and every
    result with its output and assertion results."""
    from openpick.report.export import to_dict

    out = to_dict(run, results)
    if html_path:
        out["html"] = str(html_path)
    return out


def run_demo(html: Path | None = None, *, quiet: bool = False):
    """`openpick demo`: the two embedded instruct models on the bundled demo suite, with the
    leaderboard in the terminal and an HTML report. Returns (run, results, html path)."""
    from openpick.paths import data_dir

    if html is None:
        html = data_dir() / "reports"
        html.mkdir(parents=True, exist_ok=True)  # a folder: the report is named by run id
    return run_compare(DEMO_SUITE, list(DEMO_MODELS), html=html, quiet=quiet,
                       machine_usd_per_hour=DEMO_MACHINE_USD_PER_HOUR)


@app.command("compare", epilog=EXIT_CODES)
def compare_cmd(
    suite: str | None = typer.Argument(None, help="suite YAML file or bundled suite name "
                                                  "(default: demo)"),
    suite_opt: str | None = typer.Option(None, "--suite", "-s", help="same as SUITE"),
    model: list[str] = typer.Option([], "-m", "--model", help="model name or spec; repeat it"),
    repeats: int = typer.Option(1, "--repeats", "-r", min=1, help="answers per case (>1 "
                                "bypasses the cache)"),
    seed: int = typer.Option(0, "--seed", help="base seed; repeat r uses seed + r"),
    no_cache: bool = typer.Option(False, "--no-cache", help="always ask the model"),
    resume: str | None = typer.Option(None, "--resume", help="continue run RUN (id, prefix "
                                      "or 'last')"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress, no report"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    concurrency: int | None = typer.Option(None, "--concurrency", "-c", min=1,
                                           help="cap on requests in flight per model (default: the "
                                           "engine's batch slots or server limit)"),
    price: list[str] = typer.Option([], "--price", help="MODEL=IN/OUT, USD per 1M tokens"),
    machine_usd_per_hour: float | None = typer.Option(
        None, "--machine-usd-per-hour", min=0, help="price self-hosted models by time"),
    html: Path | None = typer.Option(None, "--html", help="write the HTML report (file or "
                                     "folder)"),
    timeout: float | None = typer.Option(None, "--timeout", min=0.001, help="seconds per case"),
    judge: str | None = typer.Option(None, "--judge", help="model that grades judge "
                                     "assertions"),
    fail_under: float | None = typer.Option(
        None, "--fail-under", min=0.0, max=1.0, help="CI gate: exit 5 unless every model's "
        "pass rate is at least this (0-1; errored cases count as failed)"),
    fail_if_worse_than: str | None = typer.Option(
        None, "--fail-if-worse-than", metavar="RUN", help="CI gate: exit 6 when a stored run "
        "of the same suite is significantly better (paired test, p < 0.05)"),
    junit: Path | None = typer.Option(None, "--junit", help="write JUnit XML: one testcase "
                                      "per model × case"),
    summary: Path | None = typer.Option(None, "--summary", help="append a Markdown summary "
                                        "(e.g. \"$GITHUB_STEP_SUMMARY\")"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="run only the first N "
                                     "cases, in suite order (a quick look; a benchmark's "
                                     "score is then not comparable)"),
) -> None:
    """Run models on a suite; every answer is stored, reruns resume, reports follow."""
    if suite and suite_opt and suite != suite_opt:
        raise InvalidInput("give the suite once (SUITE or --suite)")
    ci = ci_options(fail_under, fail_if_worse_than, junit, summary)
    run, results, _ = run_compare(
        suite or suite_opt, model, repeats=repeats, seed=seed, no_cache=no_cache,
        resume=resume, quiet=quiet, as_json=as_json, concurrency=concurrency, prices=price,
        machine_usd_per_hour=machine_usd_per_hour, html=html, timeout_s=timeout, judge=judge,
        ci=ci, limit=limit)
    code = ci.outcome.exit_code if ci.outcome is not None else 0
    if run.status != "finished" or code:
        sys.exit(code or 1)
