"""`openpick compare SUITE -m A -m B`: run models on a suite, store every answer, report.

Progress bars go to stderr, so `--json` output on stdout stays clean. Ctrl-C keeps what
finished and prints the command that resumes the run.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
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


def run_compare(suite: str | None, models: list[str], *, repeats: int = 1, seed: int = 0,
                no_cache: bool = False, resume: str | None = None, quiet: bool = False,
                as_json: bool = False, concurrency: int | None = None,
                prices: list[str] | None = None, machine_usd_per_hour: float | None = None,
                html: Path | None = None, timeout_s: float | None = None,
                judge: str | None = None):
    """What the command does; returns (run, results, html path or None)."""
    from openpick.evals.runner import RunOptions, compare
    from openpick.evals.suite import load_suite

    if resume:
        from openpick.store.runs import RunStore

        prior = RunStore().get(resume)
        suite = suite or prior.suite_path or prior.suite
        models = models or [m.name for m in prior.models]
        base = RunOptions.model_validate({k: v for k, v in prior.options.items()
                                          if k in RunOptions.model_fields})
        options = base.model_copy(update={"use_cache": not no_cache,
                                          **({"concurrency": concurrency} if concurrency else {})})
        resume = prior.id
    else:
        options = RunOptions(repeats=repeats, seed=seed, use_cache=not no_cache,
                             concurrency=concurrency, timeout_s=timeout_s,
                             prices=parse_prices(prices or []),
                             machine_usd_per_hour=machine_usd_per_hour, judge=judge)
    loaded = load_suite(suite or DEMO_SUITE)
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
    if as_json:
        print_json(json_report(run, results, path))
    elif not quiet:
        print_report(run, results)
        if path:
            console.print(f"HTML report: {path}")
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


@app.command("compare")
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
) -> None:
    """Run models on a suite; every answer is stored, reruns resume, reports follow."""
    if suite and suite_opt and suite != suite_opt:
        raise InvalidInput("give the suite once (SUITE or --suite)")
    run, results, _ = run_compare(
        suite or suite_opt, model, repeats=repeats, seed=seed, no_cache=no_cache,
        resume=resume, quiet=quiet, as_json=as_json, concurrency=concurrency, prices=price,
        machine_usd_per_hour=machine_usd_per_hour, html=html, timeout_s=timeout, judge=judge)
    if run.status != "finished":
        sys.exit(1)
