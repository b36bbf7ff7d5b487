"""`openpick models ...`: list, search and show catalog records."""

from __future__ import annotations

import typer

from openpick.cli.main import app

models_app = typer.Typer(help="Browse the open-model catalog.", no_args_is_help=True)
app.add_typer(models_app, name="models")
