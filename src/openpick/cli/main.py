"""The `openpick` command. Each command group lives in its own module and registers
itself on `app`; every command is a few lines over a library function."""

from __future__ import annotations

import sys

import typer

from openpick.errors import OpenpickError

app = typer.Typer(
    name="openpick",
    help="Choose, measure and use open language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups: importing a module registers its commands on `app`.
from openpick.cli import about as _about  # noqa: E402,F401
from openpick.cli import ask as _ask  # noqa: E402,F401
from openpick.cli import catalog as _catalog  # noqa: E402,F401
from openpick.cli import chat as _chat  # noqa: E402,F401
from openpick.cli import compare as _compare  # noqa: E402,F401
from openpick.cli import demo as _demo  # noqa: E402,F401
from openpick.cli import lineage as _lineage  # noqa: E402,F401
from openpick.cli import local as _local  # noqa: E402,F401
from openpick.cli import models as _models  # noqa: E402,F401
from openpick.cli import openness as _openness  # noqa: E402,F401
from openpick.cli import recommend as _recommend  # noqa: E402,F401
from openpick.cli import serve as _serve  # noqa: E402,F401
from openpick.cli import tune as _tune  # noqa: E402,F401
from openpick.cli import suite as _suite  # noqa: E402,F401
from openpick.cli import runs as _runs  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one line on stderr and exit non-zero.

    Typer's standalone mode already handles usage errors and Ctrl-C; everything an
    OpenpickError says is printed without a traceback.
    """
    try:
        app(args=argv, prog_name="openpick")
    except OpenpickError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(e.exit_code)


if __name__ == "__main__":
    # Run as `python -m openpick.cli.main`: this module is then a second copy named
    # __main__, so hand over to the registered one.
    from openpick.cli.main import main as _main

    _main()
