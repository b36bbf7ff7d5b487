"""`openpick models local` and `openpick models add`: the models a user can run by name."""

from __future__ import annotations

import typer
from rich.table import Table

from openpick.cli.models import models_app
from openpick.cli.output import console, print_json
from openpick.engines.discover import CatalogFacts, register_catalog_facts
from openpick.errors import InvalidInput


def catalog_facts() -> CatalogFacts:
    """The catalog's records and GGUF header reader, for describing discovered models
    (engines sit below the catalog and cannot import it)."""
    from pathlib import Path

    from openpick.catalog.catalog import all_records
    from openpick.catalog.importers import gguf
    from openpick.errors import OpenpickError

    def header_id(header: dict, path: Path) -> str | None:
        try:
            return gguf.header_to_record(header, path).id
        except (OpenpickError, ValueError):  # pydantic's ValidationError is a ValueError
            return None

    records = all_records()
    return CatalogFacts(ids=[r.id for r in records], names={r.name: r.id for r in records},
                        read_header=gguf.read_gguf_header,
                        quantization_name=gguf.quantization_name, header_id=header_id)


register_catalog_facts(catalog_facts)


@models_app.command("local")
def local(
    scan: list[str] = typer.Option([], "--scan", help="also look for GGUF files and model "
                                   "folders under DIR (remembered for -m)", metavar="DIR"),
    ollama_url: str | None = typer.Option(None, "--ollama-url", help="also ask a running "
                                          "Ollama for its models (default: $OLLAMA_HOST if set)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List local models: embedded, openpick.toml, and those Ollama, LM Studio, the Hugging
    Face cache and llama.cpp already downloaded (found without loading them)."""
    from pathlib import Path

    from openpick.cli.output import err_console
    from openpick.engines.local import local_models

    warnings: list[str] = []
    models = local_models(discover=True, scan=[Path(d) for d in scan], ollama_url=ollama_url,
                          warnings=warnings)
    for w in warnings:
        err_console.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print_json(models)
        return
    from rich.table import Column

    from openpick.catalog.memory import human_bytes

    longest = max((len(m.name) for m in models), default=4)
    table = Table(Column("name", overflow="fold", min_width=min(longest, 60)), "engine",
                  "status", "size", "quant",
                  Column("catalog record", overflow="fold"),
                  Column("where / how to install", overflow="fold"))
    for m in models:
        status = {"ready": "[green]ready[/]", "missing": "[red]missing[/]"}.get(m.status, m.status)
        where = m.install or m.spec or m.target or "bundled"
        if m.replicas:
            where += f" ({m.replicas} replicas)"
        size = human_bytes(m.size_bytes) if m.size_bytes else "-"
        table.add_row(m.name, m.engine, status, size, m.quantization or "-", m.record_id or "-",
                      where)
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
