"""`openpick catalog ...`: import records from MOF, OSAI index, model cards and GGUF files; export."""

from __future__ import annotations

import typer

from openpick.cli.main import app

catalog_app = typer.Typer(help="Import and export catalog records.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
