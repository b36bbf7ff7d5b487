"""`openpick suite convert`: other tools' eval files as native openpick suites."""

from __future__ import annotations

from pathlib import Path

import typer

from openpick.cli.main import app
from openpick.cli.output import console, err_console

suite_app = typer.Typer(help="Suite files: convert other tools' eval configs.",
                        no_args_is_help=True)
app.add_typer(suite_app, name="suite")


@suite_app.command("convert")
def convert(
    src: Path = typer.Argument(..., help="a promptfoo config (promptfooconfig.yaml)"),
    out: Path = typer.Option(..., "--output", "-o", help="the native suite file to write"),
    force: bool = typer.Option(False, "--force", help="overwrite OUT if it exists"),
) -> None:
    """Write the native suite a promptfoo config becomes (`compare` also runs the config
    itself, unchanged)."""
    from openpick.evals.suite import promptfoo

    doc = promptfoo.convert_to(src, out, force=force)
    cases, variants = len(doc["cases"]), len(doc["prompts"])
    models = len(doc.get("models") or [])
    console.print(f"wrote {out}: {cases} case{'s' * (cases != 1)} × {variants} prompt"
                  f"{'s' * (variants != 1)}, {models} model{'s' * (models != 1)}",
                  soft_wrap=True, highlight=False)
    for note in doc["x-promptfoo"].get("notes", []):
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
