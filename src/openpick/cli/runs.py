"""`openpick runs list|show|diff|export`: the comparison runs kept in the store."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from openpick.cli.main import app
from openpick.cli.output import console, print_json
from openpick.errors import InvalidInput

runs_app = typer.Typer(help="Comparison runs kept in the store.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")



def _store():
    from openpick.store.runs import RunStore

    return RunStore()


@runs_app.command("list")
def list_runs(
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recent runs, newest first."""
    rows = _store().list(limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No runs yet; start one with `openpick compare SUITE -m MODEL -m MODEL`.")
        return
    t = Table()
    t.add_column("run", no_wrap=True)
    for col in ("suite", "status", "models", "done", "passed", "errors", "started"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r.id, r.suite, r.status, ", ".join(r.models), f"{r.done}/{r.planned}",
                  str(r.passed), str(r.errors), r.created_at[:19].replace("T", " "))
    console.print(t)


@runs_app.command("show")
def show(
    run: str = typer.Argument(..., help="run id, unique prefix or 'last'"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The leaderboard and verdicts of a stored run."""
    from openpick.cli.compare import json_report, print_report

    store = _store()
    info = store.get(run)
    results = store.results(info.id)
    if as_json:
        print_json(json_report(info, results))
        return
    console.print(f"run {info.id} · {info.suite} · {info.status} · "
                  f"{len(results)}/{info.planned} results · started {info.created_at[:19]}")
    print_report(info, results)


@runs_app.command("diff")
def diff(
    a: str = typer.Argument(..., help="the earlier run"),
    b: str = typer.Argument(..., help="the later run"),
    all_cases: bool = typer.Option(False, "--all", help="list unchanged cases too"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which cases improved or regressed between two runs, per model."""
    changes = diff_runs(a, b, include_unchanged=all_cases)
    if as_json:
        print_json(changes)
        return
    if not changes:
        console.print("No case changed between the two runs.")
        return
    t = Table()
    for col in ("model", "case", "change", "before", "after"):
        t.add_column(col, overflow="fold")
    style = {"improved": "green", "regressed": "red"}
    for c in changes:
        label = c.model if c.variant == "default" else f"{c.model} [{c.variant}]"
        t.add_row(label, c.case_id, f"[{style.get(c.change, 'dim')}]{c.change}[/]",
                  _pf(c.before_passed), _pf(c.after_passed))
    console.print(t)
    for model in sorted({c.model for c in changes}):
        up = sum(1 for c in changes if c.model == model and c.change == "improved")
        down = sum(1 for c in changes if c.model == model and c.change == "regressed")
        console.print(f"{model}: {up} improved, {down} regressed")


def _pf(v: bool | None) -> str:
    return "-" if v is None else ("pass" if v else "fail")


def diff_runs(a: str, b: str, *, include_unchanged: bool = False):
    """Case changes from run A to run B. Models are matched by name; two single-model runs
    with different model names are compared with each other."""
    from openpick.evals.summary import diff as summary_diff

    store = _store()
    ra, rb = store.results(store.resolve(a)), store.results(store.resolve(b))
    names_a, names_b = {r.model for r in ra}, {r.model for r in rb}
    if len(names_a) == 1 and len(names_b) == 1 and names_a != names_b:
        (only_b,) = names_b
        ra = [r.model_copy(update={"model": only_b}) for r in ra]
    return summary_diff(ra, rb, include_unchanged=include_unchanged)


@runs_app.command("export")
def export(
    run: str = typer.Argument(..., help="run id, unique prefix or 'last'"),
    fmt: str = typer.Option("json", "--format", "-f", help="json or csv"),
    output: Path | None = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
) -> None:
    """Every result of a run as JSON or CSV."""
    text = export_run(run, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


def export_run(run: str, fmt: str) -> str:
    from openpick.cli.compare import json_report

    if fmt not in ("json", "csv"):
        raise InvalidInput(f"--format {fmt!r}: choose json or csv")
    store = _store()
    info = store.get(run)
    results = store.results(info.id)
    if fmt == "json":
        from openpick.cli.output import _plain

        return json.dumps(_plain(json_report(info, results)), indent=2, ensure_ascii=False,
                          default=str) + "\n"
    from openpick.report.export import RESULT_COLUMNS, _cell, result_row

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in results:
        w.writerow({k: _cell(v, True) for k, v in result_row(r).items()})
    return buf.getvalue()
