"""`openpick about`: version and the attributions for bundled third-party data."""

from __future__ import annotations

import typer

from openpick import __version__
from openpick.cli.main import app
from openpick.cli.output import console, print_json

CREDITS = [
    {
        "what": "Model Openness Framework components, license lists and sample release files",
        "source": "Model Openness Tool, github.com/lfai/model_openness_tool",
        "license": "MIT",
    },
    {
        "what": "European Open Source AI Index openness grades",
        "source": "https://osai-index.eu/ — Liesenfeld, A. and Dingemanse, M. (2024), "
        "'Rethinking open source generative AI: open-washing and the EU AI Act', FAccT '24",
        "license": "CC-BY-4.0",
    },
    {
        "what": "SPDX license list data (via the Model Openness Tool)",
        "source": "https://spdx.org/licenses/",
        "license": "CC0-1.0",
    },
]


@app.command()
def about(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Version and credits for the data openpick ships."""
    if json_out:
        print_json({"version": __version__, "credits": CREDITS})
        return
    console.print(f"[bold]openpick[/bold] {__version__}\n")
    console.print("Bundled data and its sources:")
    for c in CREDITS:
        console.print(f"• {c['what']}\n  {c['source']} ({c['license']})")
