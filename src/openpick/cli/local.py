"""`openpick models local` and `openpick models add`: the models a user can run by name."""

from __future__ import annotations

import typer
from rich.table import Table

from openpick.cli.models import models_app
from openpick.cli.output import console, print_json
from openpick.errors import InvalidInput


@models_app.command("local")
def local(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """List local models (embedded and openpick.toml) and whether each is ready."""
    from openpick.engines.local import local_models

    models = local_models()
    if as_json:
        print_json(models)
        return
    table = Table("name", "engine", "status", "catalog record", "where / how to install")
    for m in models:
        status = {"ready": "[green]ready[/]", "missing": "[red]missing[/]"}.get(m.status, m.status)
        where = m.install or m.target or (f"{m.size_bytes / 1e6:.0f} MB, bundled"
                                          if m.size_bytes else "bundled")
        if m.replicas:
            where += f" ({m.replicas} replicas)"
        table.add_row(m.name, m.engine, status, m.record_id or "-", where)
    console.print(table)


def parse_price(text: str):
    """'0.15/0.60' → USD per 1M input / output tokens."""
    from openpick.engines.config import Price

    try:
        inp, out = (float(x) for x in text.split("/"))
        return Price(usd_per_1m_input=inp, usd_per_1m_output=out)
    except ValueError:
        raise InvalidInput(f"--price {text!r}: expected INPUT/OUTPUT in USD per 1M tokens, "
                           "e.g. 0.15/0.60") from None


@models_app.command("add")
def add(
    name: str = typer.Argument(..., help="the name to use with -m"),
    engine: str = typer.Option(..., "--engine", "-e", help="llama-cpp, transformers, openai, ..."),
    path: str | None = typer.Option(None, "--path", help="model file or folder"),
    url: str | None = typer.Option(None, "--url", help="server base URL (openai engine)"),
    model_id: str | None = typer.Option(None, "--model-id", help="model id on the server"),
    record: str | None = typer.Option(None, "--record", help="catalog record id it links to"),
    price: str | None = typer.Option(None, "--price", help="USD per 1M tokens, IN/OUT"),
    option: list[str] = typer.Option([], "-o", "--option", help="engine option KEY=VALUE"),
    project: bool = typer.Option(False, "--project", help="write ./openpick.toml instead"),
) -> None:
    """Store your own model in openpick.toml so `-m NAME` finds it."""
    from pydantic import ValidationError

    from openpick.engines import config, registry
    from openpick.engines.spec import parse_options

    engine = registry.canonical(engine)
    registry.get_engine_class(engine)  # unknown engines fail here, listing the installed
    if path and not url:
        from pathlib import Path

        path = str(Path(path).expanduser().resolve())
    try:
        entry = config.ModelEntry(engine=engine, path=path, url=url, model=model_id,
                                  record=record, options=parse_options(option),
                                  price=parse_price(price) if price else None)
    except ValidationError as e:
        raise InvalidInput(f"models add {name}: {e.errors()[0]['msg']}") from e
    written = config.add_model(name, entry, project=project)
    console.print(f"added {name} ({engine}) to {written}")
