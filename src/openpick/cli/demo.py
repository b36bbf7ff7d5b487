"""`openpick demo`: the main job `make demo` runs.

Until model comparison lands this is a catalog tour on real data: a filtered search,
a lineage tree, an openness explanation and a recommendation.
"""

from __future__ import annotations

from rich.rule import Rule

from openpick.cli.main import app
from openpick.cli.output import console


def _step(title: str, command: str) -> None:
    console.print(Rule(f"[bold]{title}[/bold]"))
    console.print(f"[dim]$ {command}[/dim]\n")


@app.command()
def demo() -> None:
    """A tour of the catalog: search, lineage, openness and a recommendation."""
    from openpick.cli.lineage import lineage
    from openpick.cli.models import list_models
    from openpick.cli.openness import openness
    from openpick.cli.recommend import recommend

    _step("Medical-domain models in the catalog", "openpick models list --domain medical")
    list_models(task=None, domain=["medical"], language=None, license=None, mof_class=None,
                params=None, fits=None, quant="Q4_K_M", ctx=4096, base=None, sort="auto",
                limit=None, json_out=False)
    _step("Where BioMistral comes from", "openpick lineage mistralai/Mistral-7B-v0.1")
    lineage("mistralai/Mistral-7B-v0.1", json_out=False)
    _step("How open is OLMo-7B, and why", "openpick openness allenai/OLMo-7B")
    openness("allenai/OLMo-7B", json_out=False)
    _step("Small open models for chat that fit in 4 GB",
          "openpick recommend --task chat --license osi --fits 4GB --limit 5")
    recommend(task="chat", domain=None, language=None, license="osi", fits="4GB",
              quant="Q4_K_M", ctx=4096, min_mof_class=None, params=None, limit=5, json_out=False)
