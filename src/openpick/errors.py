"""Errors a user can cause. Each carries a one-line, actionable message.

The CLI prints `str(error)` without a traceback and exits non-zero; library users can
catch the subclasses they care about.
"""

from __future__ import annotations


class OpenpickError(Exception):
    """Base class for every error caused by user input or environment."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class InvalidInput(OpenpickError):
    """A file or value the user gave is malformed."""


class NotFound(OpenpickError):
    """An id, model or run that does not exist (message carries 'did you mean')."""

    exit_code = 2


class MissingDependency(OpenpickError):
    """An optional extra is not installed; the message names the pip command."""

    exit_code = 3


def missing_extra(module: str, extra: str) -> MissingDependency:
    return MissingDependency(
        f"{module} is not installed; install it with: pip install 'openpick[{extra}]'"
    )
