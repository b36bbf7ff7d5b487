"""`openpick chat -m MODEL`: a REPL. /model NAME switches models mid-conversation."""

from __future__ import annotations

import sys

import typer

from openpick.cli.ask import DEFAULT_SYSTEM, sampling_options, timing_line
from openpick.cli.main import app
from openpick.cli.output import print_json
from openpick.errors import OpenpickError

HELP = """commands:
  /model NAME    switch model (the conversation carries over)
  /models        list local models
  /system TEXT   set the system message ('/system' alone clears it)
  /reset         start a new conversation
  /save [TITLE]  keep this conversation under a title
  /help          this text
  /quit          leave (Ctrl-D too)"""


@app.command()
def chat(
    model: str = typer.Option("smollm2-135m", "-m", "--model", help="model name or spec"),
    system: str = typer.Option(DEFAULT_SYSTEM, "--system", "-s", help="system message"),
    max_tokens: int = typer.Option(512, "--max-tokens", "-n"),
    temperature: float = typer.Option(0.0, "--temperature", "-t"),
    option: list[str] = typer.Option([], "-o", "--option", help="engine option KEY=VALUE"),
    list_: bool = typer.Option(False, "--list", help="list stored conversations and exit"),
    show: str | None = typer.Option(None, "--show", help="print a stored conversation and exit"),
    as_json: bool = typer.Option(False, "--json", help="with --list/--show: JSON output"),
) -> None:
    """Chat with a model; every turn is stored in the local SQLite store."""
    from openpick.chat import ChatSession
    from openpick.engines.spec import parse_options
    from openpick.store.conversations import ConversationStore

    if list_ or show:
        store = ConversationStore()
        data = store.get(show) if show else store.list()
        if as_json:
            print_json(data)
        else:
            _print_stored(data)
        return
    sampling = sampling_options(max_tokens=max_tokens, temperature=temperature)
    session = ChatSession(model, system=system or None, options=parse_options(option),
                          sampling=sampling)
    out = sys.stdout
    out.write(f"chatting with {model} (conversation {session.id}); /help for commands\n")
    try:
        while True:
            out.write("you> ")
            out.flush()
            line = sys.stdin.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            try:
                if line.startswith("/"):
                    if _command(session, line) == "quit":
                        break
                    continue
                out.write(f"[{session.model}] ")
                result = session.send(line, on_delta=lambda d: (out.write(d.text), out.flush()))
                out.write("\n")
                sys.stderr.write(timing_line(result) + "\n")
            except OpenpickError as e:
                out.write("\n")
                sys.stderr.write(f"error: {e}\n")
    finally:
        session.close()
    out.write(f"conversation {session.id} stored\n")


def _command(session, line: str) -> str | None:
    cmd, _, arg = line.partition(" ")
    arg = arg.strip()
    out = sys.stdout
    if cmd in ("/quit", "/exit", "/q"):
        return "quit"
    if cmd == "/help":
        out.write(HELP + "\n")
    elif cmd == "/model":
        if not arg:
            out.write(f"current model: {session.model}\n")
        else:
            session.switch(arg)
            out.write(f"switched to {arg}; the conversation carries over\n")
    elif cmd == "/models":
        from openpick.engines.local import local_models

        for m in local_models():
            mark = "*" if m.name == session.model else " "
            out.write(f"{mark} {m.name:24} {m.engine:12} {m.status}\n")
    elif cmd == "/system":
        session.set_system(arg)
        out.write("system message set\n" if arg else "system message cleared\n")
    elif cmd == "/reset":
        session.reset()
        out.write(f"new conversation {session.id}\n")
    elif cmd == "/save":
        out.write(f"saved conversation {session.save(arg or None)}\n")
    else:
        out.write(f"unknown command {cmd}; /help lists them\n")
    return None


def _print_stored(data) -> None:
    out = sys.stdout
    if isinstance(data, list):
        for c in data:
            out.write(f"{c.id}  {c.updated_at[:19]}  {'saved ' if c.saved else ''}{c.title or ''}\n")
        return
    out.write(f"conversation {data.id} {data.title or ''}\n")
    for m in data.messages:
        who = f"{m.role} ({m.model})" if m.model else m.role
        out.write(f"{who}: {m.content}\n")
