"""`openpick lineage ID`: the family tree of a model."""

from __future__ import annotations

import typer
from rich.tree import Tree

from openpick.cli.main import app
from openpick.cli.output import console, print_json


def _add(tree: Tree, node: dict, focus: str) -> None:
    for child in node["children"]:
        label = child["id"] + (f" [dim]({child['relation']})[/dim]" if child["relation"] else "")
        if child["id"].lower() == focus.lower():
            label = f"[bold green]{label}[/bold green]"
        _add(tree.add(label), child, focus)


@app.command()
def lineage(model_id: str = typer.Argument(..., metavar="ID"),
            json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Base → fine-tunes, adapters, quantizations and merges, as a tree."""
    from openpick.catalog.catalog import all_records, get_record
    from openpick.catalog.lineage import Lineage

    records = all_records()
    rec = get_record(model_id, records)
    data = Lineage(records).tree(rec.id)
    if json_out:
        print_json(data)
        return
    for ancestors in data["ancestors"]:
        console.print("ancestors: " + " ← ".join([rec.id, *ancestors]))
    for root in data["family"]:
        label = root["id"] if root["id"].lower() != rec.id.lower() else f"[bold green]{root['id']}[/bold green]"
        t = Tree(label + ("" if root["known"] else " [dim](not in catalog)[/dim]"))
        _add(t, root, rec.id)
        console.print(t)
