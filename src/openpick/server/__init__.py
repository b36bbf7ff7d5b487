"""`openpick serve`: the OpenAI-compatible API and the web UI in one process.

Imports FastAPI lazily: `import openpick.server` costs nothing until the app is built.
"""

from __future__ import annotations

from openpick.server.settings import Settings

__all__ = ["Settings", "create_app", "serve", "serve_in_thread"]


def __getattr__(name: str):
    if name in ("create_app", "serve", "serve_in_thread"):
        from openpick.server import app

        return getattr(app, name)
    raise AttributeError(name)
