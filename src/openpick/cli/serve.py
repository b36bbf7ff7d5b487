"""`openpick serve`: the web UI and the OpenAI-compatible API on 127.0.0.1:8080."""

from __future__ import annotations

import typer

from openpick.cli.main import app
from openpick.errors import InvalidInput


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind; anything but "
                             "loopback needs an API key"),
    port: int = typer.Option(8080, "--port", "-p"),
    api_key_env: str = typer.Option("OPENPICK_API_KEY", "--api-key-env",
                                     help="environment variable holding the API key"),
    memory_budget: str | None = typer.Option(None, "--memory-budget",
                                             help="loaded models at most this big (e.g. 8G); "
                                                  "default half the RAM"),
    model: list[str] = typer.Option([], "--model", "-m",
                                    help="also offer NAME=SPEC (repeatable), e.g. "
                                         "mine=llama-cpp:/models/x.gguf"),
    cors_origin: list[str] = typer.Option([], "--cors-origin",
                                          help="allow browser calls from this origin "
                                               "(repeatable); off by default"),
    max_tokens_cap: int = typer.Option(4096, "--max-tokens-cap"),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Serve the web UI and an OpenAI-compatible API (/v1) on the local engine pool."""
    from openpick.catalog.memory import parse_bytes
    from openpick.server import Settings
    from openpick.server.app import serve as run_server

    extra = {}
    for pair in model:
        name, sep, spec = pair.partition("=")
        if not sep or not name or not spec:
            raise InvalidInput(f"--model {pair!r}: expected NAME=SPEC")
        extra[name.strip()] = spec.strip()
    budget = int(parse_bytes(memory_budget)) if memory_budget else None
    settings = Settings.from_env(api_key_env, host=host, port=port, memory_budget=budget,
                                 models=extra, cors_origins=cors_origin,
                                 max_tokens_cap=max_tokens_cap)
    settings.check()
    scheme_host = f"[{host}]" if ":" in host else host
    typer.echo(f"openpick serving on http://{scheme_host}:{port} (API at /v1"
               f"{', key required' if settings.api_key else ''})", err=True)
    run_server(settings, log_level=log_level)
