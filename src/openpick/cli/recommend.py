"""`openpick recommend`: ranked picks from constraints, each with its reasons."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from openpick.catalog import memory
from openpick.cli.filters import parse_mof_class
from openpick.cli.main import app
from openpick.cli.output import console, print_json


@app.command()
def recommend(task: Optional[str] = typer.Option(None, help="e.g. chat, code, math"),
              domain: Optional[str] = typer.Option(None, help="e.g. medical, legal"),
              language: Optional[str] = typer.Option(None, help="ISO 639-1 code"),
              license: Optional[str] = typer.Option(None, help="A license id, 'osi' or 'commercial'."),
              fits: Optional[str] = typer.Option(None, help="Memory budget, e.g. 8GB."),
              quant: str = typer.Option("Q4_K_M", help="Quantization for the memory estimate."),
              ctx: int = typer.Option(4096, "--ctx", help="Context length for the estimate."),
              min_mof_class: Optional[str] = typer.Option(None, "--min-mof-class", help="I, II or III."),
              params: Optional[str] = typer.Option(None, help="Parameter range, e.g. 1B-8B."),
              limit: int = typer.Option(10, help="How many picks."),
              run_ref: Optional[str] = typer.Option(None, "--run", help="Rank by this compare run first (id, prefix or 'last')."),
              json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Rank candidate models for your constraints and explain each rank."""
    from openpick.recommend import Constraints
    from openpick.recommend import recommend as run

    c = Constraints(task=task, domain=domain, language=language, license=license, fits=fits,
                    quant=quant, context=ctx, min_mof_class=parse_mof_class(min_mof_class),
                    params=params, limit=limit)
    if run_ref:
        from openpick.recommend.measured import basis_line, rank_with_stored_run

        measured_run, recs = rank_with_stored_run(c, run_ref)
        basis = basis_line(measured_run, recs)
    else:
        recs, basis = run(c), None
    if json_out:
        print_json({"constraints": c.__dict__, "basis": basis or "catalog facts (no measured runs)",
                    "recommendations": [r.to_dict() for r in recs]})
        return
    console.print(basis or "Ranked from catalog facts only; run `openpick compare` to rank by your own suite.",
                  markup=False)
    t = Table(show_lines=True)
    for col in ("#", "model", "score", "why"):
        t.add_column(col)
    for r in recs:
        why = "\n".join(f"• {x}" for x in r.reasons)
        score = f"{r.score:.2f}" + (f"\n({r.basis})" if getattr(r, "basis", None) else "")
        t.add_row(Text(str(r.rank)), Text(f"{r.id}\n{memory.human_params(r.parameters)} · {r.license}"),
                  Text(score), Text(why))
    console.print(t)
    if not recs:
        console.print("No candidate meets every constraint; loosen one.")
