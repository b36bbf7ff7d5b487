"""The terminal report: a leaderboard and the pairwise verdicts, readable in 80 columns."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from openpick.evals.summary import RunReport, summarize
from openpick.store.records import CaseResult, RunInfo
from openpick.report import bytes_, interval, money, mof, pct, rate, seconds


def leaderboard(report: RunReport) -> Table:
    """One row per model (and variant), best pass rate first. Two-line cells keep it narrow."""
    r = report.run
    t = Table(title=Text(f"{r.suite} · run {r.id} · {report.n_cases} cases"), title_justify="left",
              show_lines=True, pad_edge=False, expand=False)
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("model\nlicense · openness", overflow="fold", ratio=1, min_width=14)
    t.add_column("pass\n95% CI", justify="right", no_wrap=True)
    t.add_column("score", justify="right", no_wrap=True)
    t.add_column("tok/s\np50", justify="right", no_wrap=True)
    t.add_column("$/1k\ncases", justify="right", no_wrap=True)
    t.add_column("err", justify="right", no_wrap=True)
    front = set(report.pareto_cost) | set(report.pareto_speed)
    for i, e in enumerate(report.entries, start=1):
        name = Text(e.label, style="bold")
        if e.label in front:
            name.append(" ★", style="yellow")
        name.append(f"\n{e.license or 'license ?'} · {mof(e.mof_class)}", style="dim")
        t.add_row(str(i), name, f"{pct(e.pass_rate)}\n{interval(e.pass_low, e.pass_high)}",
                  f"{e.mean_score:.2f}", f"{rate(e.output_tok_s)}\n{seconds(e.latency_p50_s)}",
                  money(e.cost_per_1k_cases_usd), str(e.errors) if e.errors else "")
    return t


def verdicts(report: RunReport) -> Group:
    """One line per pair; '•' marks a significant difference, '=' none."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for p in report.pairwise:
        grid.add_row("•" if p.better else "=", Text(p.verdict, style="" if p.better else "dim"))
    if not report.pairwise:
        grid.add_row("", Text("only one model: nothing to compare"))
    return Group(Text("Paired comparisons on the same cases:", style="bold"), grid)


def details(report: RunReport) -> Group:
    out = []
    if report.pareto_cost or report.pareto_speed:
        parts = []
        if report.pareto_cost:
            parts.append("quality/cost: " + ", ".join(report.pareto_cost))
        if report.pareto_speed:
            parts.append("quality/speed: " + ", ".join(report.pareto_speed))
        out.append(Text("★ Pareto frontier (nothing else is both better and cheaper or faster): "
                        + "; ".join(parts)))
    mem = [f"{e.label} {bytes_(e.peak_rss_bytes)}" for e in report.entries if e.peak_rss_bytes]
    if mem:
        out.append(Text("Peak memory: " + ", ".join(mem), style="dim"))
    for n in report.notes:
        out.append(Text(f"note: {n}", style="dim"))
    return Group(*out)


def render(run: RunInfo, results: list[CaseResult], console: Console | None = None,
           report: RunReport | None = None) -> RunReport:
    """Print the leaderboard, the verdicts and the notes; return the summary it showed."""
    console = console or Console()
    report = report or summarize(run, results)
    if not report.entries:
        console.print(f"Run {run.id} ({run.suite}) has no results yet.")
        return report
    console.print(leaderboard(report))
    console.print(verdicts(report))
    console.print(details(report))
    if run.options.get("suite_notes"):  # what the numbers compare with (benchmarks say)
        console.print(Text(f"Comparability: {run.options['suite_notes']}"))
    return report
