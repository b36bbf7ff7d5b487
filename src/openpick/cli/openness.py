"""`openpick openness ID`: the full openness explanation for one model."""

from __future__ import annotations

import typer
from rich.table import Table

from openpick.catalog.catalog import get_record
from openpick.cli.main import app
from openpick.cli.output import console, print_json
from openpick.openness import OpennessReport, assess

_MARK = {"met": "[green]met[/green]", "partial": "[yellow]partial[/yellow]", "not_met": "[red]not met[/red]"}
_STATUS = {
    "included": "[green]included[/green]",
    "missing": "[dim]missing[/dim]",
    "invalid": "[red]invalid license[/red]",
    "unlicensed": "[yellow]unlicensed[/yellow]",
}


@app.command()
def openness(
    model_id: str = typer.Argument(..., metavar="ID", help="Catalog id, e.g. allenai/OLMo-7B."),
    json_out: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
) -> None:
    """How open a model is: MOF class, the five criteria, OSAID, index score, license."""
    report = assess(get_record(model_id))
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    render(report)


def render(r: OpennessReport) -> None:
    console.print(f"[bold]{r.name}[/bold] ({r.id})\n")
    console.print(f"[bold]MOF:[/bold] {r.mof_class_label}")
    for cls in ("3", "2", "1"):
        c = r.mof_classes[cls]
        console.print(f"  {c.label}: {c.progress_rounded}%" + (" [green]✓[/green]" if c.met else ""))
    table = Table(title="MOF components", title_justify="left")
    for col in ("component", "class", "type", "status", "license", "from"):
        table.add_column(col)
    for s in sorted(r.components, key=lambda s: (-s.mof_class, not s.required, s.name)):
        name = s.name + ("" if s.required else " (optional)")
        table.add_row(name, str(s.mof_class), s.content_type, _STATUS[s.status], s.license or "", s.license_source or "")
    console.print(table)
    if r.research_paper_stands_in:
        console.print("The research paper stands in for the technical report.")
    for w in r.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    if r.next_class:
        console.print(f"\n[bold]To reach class {'I' * r.next_class}:[/bold]")
        for step in r.to_next_class:
            console.print(f"  • {step.text}")

    console.print("\n[bold]Five criteria[/bold]")
    for c in r.criteria:
        link = f" — {c.evidence}" if c.evidence else ""
        console.print(f"  {c.title}: {_MARK[c.result]} ({c.reason}){link}")

    verdict = "[green]passes[/green]" if r.osaid.passes else "[red]fails[/red]"
    console.print(f"\n[bold]OSI Open Source AI Definition 1.0:[/bold] {verdict}")
    for reason in r.osaid.reasons:
        console.print(f"  • {reason}")

    if r.osai_index.available:
        console.print(
            f"\n[bold]Open Source AI Index:[/bold] {r.osai_index.percent}% "
            f"({r.osai_index.graded} of {r.osai_index.total_parameters} parameters graded)"
        )
    else:
        console.print("\n[bold]Open Source AI Index:[/bold] no index data for this model")

    lic = r.license
    commercial = {True: "yes", False: "no", None: "unclear"}[lic.commercial_use]
    console.print(f"\n[bold]License:[/bold] {lic.name} ({lic.id})")
    console.print(
        f"  OSI-approved: {'yes' if lic.osi_approved else 'no'}; open (MOF): {'yes' if lic.open else 'no'}; "
        f"commercial use: {commercial}"
    )
    for x in lic.restrictions:
        console.print(f"  • {x}")
