"""`openpick demo`, the main job `make demo` runs: two embedded open models compared on
the bundled demo suite, with a terminal leaderboard and an offline HTML report.

`openpick tour` shows the catalog side: a filtered search, a lineage tree, an openness
explanation and a recommendation, all from bundled data.
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
    """Compare the embedded SmolLM2 and Qwen2.5-Coder models on the bundled demo suite."""
    from openpick.cli.compare import run_demo

    run_demo()
    console.print("\nNext: `openpick tour` for the catalog, `openpick compare --help` to run your own suite.")


@app.command()
def tour() -> None:
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
              quant="Q4_K_M", ctx=4096, min_mof_class=None, params=None, limit=5, run_ref=None,
              json_out=False)
