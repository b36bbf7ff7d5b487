"""`openpick ask -m MODEL "prompt"`: stream one answer; timings go to stderr."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from openpick.cli.main import app
from openpick.cli.output import print_json
from openpick.engines import Request, Sampling, load_engine
from openpick.engines.base import DEFAULT_SYSTEM, Result
from openpick.errors import InvalidInput



def sampling_options(**values) -> Sampling:
    """The generation options of `ask` and `chat` as a Sampling; a bad value is one line
    naming its option (--max-tokens, --top-p, ...)."""
    try:
        return Sampling(**values)
    except ValidationError as e:
        first = e.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-")
        raise InvalidInput(f"{option}: {first['msg']}, got {first['input']!r}") from None


def timing_line(result: Result) -> str:
    t, u = result.timings, result.usage
    ttft = f"{t.ttft_s:.2f}s" if t.ttft_s is not None else "-"
    speed = f"{t.decode_tok_s:.1f} tok/s" if t.decode_tok_s else "- tok/s"
    prompt = "?" if u.prompt_tokens is None else u.prompt_tokens
    threads = f" · {t.threads} threads" if t.threads else ""
    return (f"[{result.model.name} · {result.model.engine}] TTFT {ttft} · {speed} · "
            f"{prompt} prompt + {u.completion_tokens} completion tokens · "
            f"{t.total_s:.2f}s total{threads} · finish {result.finish_reason}")


@app.command()
def ask(
    prompt: str = typer.Argument(..., help="what to ask"),
    model: str = typer.Option("smollm2-135m", "-m", "--model", help="model name or spec"),
    system: str = typer.Option(DEFAULT_SYSTEM, "--system", "-s",
                               help="system message ('' = the model's own default)"),
    raw: bool = typer.Option(False, "--raw", help="plain completion: no chat template"),
    max_tokens: int = typer.Option(256, "--max-tokens", "-n"),
    temperature: float = typer.Option(0.0, "--temperature", "-t"),
    top_p: float = typer.Option(1.0, "--top-p"),
    seed: int | None = typer.Option(None, "--seed"),
    stop: list[str] = typer.Option([], "--stop", help="stop string (repeatable)"),
    option: list[str] = typer.Option([], "-o", "--option", help="engine option KEY=VALUE"),
    as_json: bool = typer.Option(False, "--json", help="print the whole result as JSON"),
) -> None:
    """Ask a model one question; the answer streams to stdout."""
    from openpick.engines.spec import parse_options

    params = sampling_options(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                              seed=seed, stop=stop).params()
    request = (Request(prompt=prompt, **params) if raw
               else Request.chat(prompt, system=system or None, **params))
    with load_engine(model, parse_options(option)) as engine:
        if as_json:
            print_json(engine.complete(request))
            return
        result = engine.complete(request, on_delta=_write)
    sys.stdout.write("\n")
    sys.stdout.flush()
    sys.stderr.write(timing_line(result) + "\n")


def _write(delta) -> None:
    if delta.text:
        sys.stdout.write(delta.text)
        sys.stdout.flush()
