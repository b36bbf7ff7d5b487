"""`openpick models ...`: list, search and show catalog records."""

from __future__ import annotations

from typing import Optional

import typer
from rich import box
from rich.table import Table

from openpick.catalog import memory
from openpick.catalog.index import Hit, search
from openpick.cli.filters import make_query
from openpick.cli.main import app
from openpick.cli.output import console, print_json

models_app = typer.Typer(help="Browse the open-model catalog.", no_args_is_help=True)
app.add_typer(models_app, name="models")

ROMAN = {0: "–", 1: "I", 2: "II", 3: "III"}

TaskOpt = typer.Option(None, "--task", help="Task, e.g. chat, code, math (repeatable).")
DomainOpt = typer.Option(None, "--domain", help="Domain, e.g. medical, legal (repeatable).")
LangOpt = typer.Option(None, "--language", help="ISO 639-1 code, e.g. ja (repeatable).")
LicenseOpt = typer.Option(None, "--license", help="A license id, 'osi' or 'commercial'.")
MofOpt = typer.Option(None, "--mof-class", help="At least this MOF class: I, II or III.")
ParamsOpt = typer.Option(None, "--params", help="Parameter range: 1B-8B, ..8B, 7B.., or 7B (±15%).")
FitsOpt = typer.Option(None, "--fits", help="Only models whose estimate fits, e.g. 8GB.")
QuantOpt = typer.Option("Q4_K_M", "--quant", help="Quantization for --fits estimates.")
CtxOpt = typer.Option(4096, "--ctx", help="Context length for --fits estimates.")
BaseOpt = typer.Option(None, "--base", help="Only descendants (fine-tunes, ...) of this id.")
SortOpt = typer.Option("auto", "--sort", help="relevance, openness, size, date or name.")
LimitOpt = typer.Option(None, "--limit", help="Show at most N models.")
JsonOpt = typer.Option(False, "--json", help="Print JSON.")


def hit_to_dict(h: Hit) -> dict:
    r = h.record
    return {"id": r.id, "name": r.name, "developer": r.developer, "family": r.family,
            "license": r.license, "license_osi": h.license_osi,
            "license_commercial": h.license_commercial, "parameters": r.parameters,
            "active_parameters": r.active_parameters, "context_length": r.context_length,
            "release_date": r.release_date, "tasks": r.tasks, "domains": r.domains,
            "languages": r.languages, "base_model": r.base_model,
            "base_model_relation": r.base_model_relation, "mof_class": h.mof_class,
            "openness": h.openness, "memory_bytes": h.memory_bytes}


def render_hits(hits: list[Hit], json_out: bool, show_memory: bool, title: str) -> None:
    if json_out:
        print_json([hit_to_dict(h) for h in hits])
        return
    table = Table(title=f"{title} ({len(hits)})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("id", overflow="fold", ratio=3)
    table.add_column("params", no_wrap=True)
    table.add_column("license", overflow="fold", ratio=2)
    table.add_column("MOF", no_wrap=True)
    table.add_column("domains", overflow="fold", ratio=1)
    table.add_column("released", no_wrap=True)
    if show_memory:
        table.add_column("memory")
    for h in hits:
        r = h.record
        row = [r.id, memory.human_params(r.parameters), r.license, ROMAN.get(h.mof_class, "–"),
               ", ".join(r.domains), (r.release_date or "")[:7]]
        if show_memory:
            row.append(memory.human_bytes(h.memory_bytes))
        table.add_row(*row)
    console.print(table)
    if not hits:
        console.print("No model matches; loosen a filter.")


def _run(text, task, domain, language, license, mof_class, params, fits, quant, ctx, base,
         sort, limit, json_out, title) -> None:
    q = make_query(text, task, domain, language, license, mof_class, params, fits, quant, ctx,
                   base, sort, limit)
    render_hits(search(q), json_out, fits is not None, title)


@models_app.command("list")
def list_models(task: Optional[list[str]] = TaskOpt, domain: Optional[list[str]] = DomainOpt,
                language: Optional[list[str]] = LangOpt, license: Optional[str] = LicenseOpt,
                mof_class: Optional[str] = MofOpt, params: Optional[str] = ParamsOpt,
                fits: Optional[str] = FitsOpt, quant: str = QuantOpt, ctx: int = CtxOpt,
                base: Optional[str] = BaseOpt, sort: str = SortOpt,
                limit: Optional[int] = LimitOpt, json_out: bool = JsonOpt) -> None:
    """List catalog models, filtered."""
    _run(None, task, domain, language, license, mof_class, params, fits, quant, ctx, base,
         sort, limit, json_out, "Models")


@models_app.command("search")
def search_models(query: str = typer.Argument(..., help="Free text: name, developer, family, task, ..."),
                  task: Optional[list[str]] = TaskOpt, domain: Optional[list[str]] = DomainOpt,
                  language: Optional[list[str]] = LangOpt, license: Optional[str] = LicenseOpt,
                  mof_class: Optional[str] = MofOpt, params: Optional[str] = ParamsOpt,
                  fits: Optional[str] = FitsOpt, quant: str = QuantOpt, ctx: int = CtxOpt,
                  base: Optional[str] = BaseOpt, sort: str = SortOpt,
                  limit: Optional[int] = LimitOpt, json_out: bool = JsonOpt) -> None:
    """Full-text search over the catalog, with the same filters as `list`."""
    _run(query, task, domain, language, license, mof_class, params, fits, quant, ctx, base,
         sort, limit, json_out, f"Search {query!r}")


@models_app.command("show")
def show(model_id: str = typer.Argument(..., metavar="ID"), json_out: bool = JsonOpt) -> None:
    """Every fact on record for one model, with openness and lineage summaries."""
    from openpick.catalog.catalog import all_records, get_record
    from openpick.catalog.lineage import Lineage
    from openpick.openness import assess
    from openpick.openness.licenses import license_info

    records = all_records()
    rec = get_record(model_id, records)
    report = assess(rec)
    lic = license_info(rec.license)
    lin = Lineage(records)
    children = [c.id for c in lin.descendants(rec.id).children]
    if json_out:
        print_json({"record": rec, "mof_class": report.mof_class,
                    "mof_progress": report.mof_progress, "license_info": lic,
                    "ancestors": lin.ancestors(rec.id), "children": children})
        return
    console.print(f"[bold]{rec.name}[/bold]  ({rec.id})")
    if rec.description:
        console.print(rec.description)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows = [
        ("developer", rec.developer), ("family", rec.family or ""),
        ("base model", ", ".join(rec.base_model) + (f" ({rec.base_model_relation})" if rec.base_model_relation else "")),
        ("parameters", memory.human_params(rec.parameters) + (
            f" ({memory.human_params(rec.active_parameters)} active)" if rec.active_parameters else "")),
        ("architecture", f"{rec.architecture or '?'}  {', '.join(rec.features)}"),
        ("context", f"{rec.context_length:,} tokens" if rec.context_length else "?"),
        ("released", rec.release_date or "?"),
        ("license", f"{rec.license}" + (" (OSI-approved)" if lic.osi_approved else "")
         + (f"; {'; '.join(lic.restrictions)}" if lic.restrictions else "")),
        ("tasks", ", ".join(rec.tasks)), ("domains", ", ".join(rec.domains)),
        ("languages", ", ".join(rec.languages)),
        ("MOF class", ROMAN.get(report.mof_class, "–") + "  progress " + ", ".join(
            f"{k}: {v:.0f}%" for k, v in sorted(report.mof_progress.items(), reverse=True))),
        ("children", ", ".join(children) or "none in catalog"),
    ]
    for k, v in rows:
        if v:
            facts.add_row(k, v)
    for k, v in rec.links.items():
        facts.add_row(k, v)
    console.print(facts)
    if rec.evaluations:
        t = Table(title="Published evaluations", title_justify="left")
        for c in ("benchmark", "metric", "value", "source"):
            t.add_column(c)
        for e in rec.evaluations:
            t.add_row(e.benchmark, e.metric, f"{e.value:g}", e.source)
        console.print(t)
    if rec.prices:
        t = Table(title="Prices (USD per 1M tokens)", title_justify="left")
        for c in ("provider", "input", "output", "as of"):
            t.add_column(c)
        for p in rec.prices:
            t.add_row(p.provider, f"{p.usd_per_1m_input:g}", f"{p.usd_per_1m_output:g}", p.as_of)
        console.print(t)
    console.print(f"\nFull openness explanation: openpick openness {rec.id}")
