"""The generation parameters as the server's request bodies take them.

Bounds live on `engines.base.Sampling` only; a body field takes the Sampling field's type
and constraints and adds what this server is stricter about (temperature at most 2, as
OpenAI and the UI's slider). So a body error is a 400 before anything runs, and the
request the engine gets is always a valid `Sampling`.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Le
from pydantic import ValidationError

from openpick.engines.base import Sampling

FIELDS = tuple(Sampling.model_fields)


def sampling_type(name: str, *stricter: Any) -> Any:
    """Sampling's type for one parameter, with its bounds and any stricter ones."""
    f = Sampling.model_fields[name]
    constraints = (*f.metadata, *stricter)
    return Annotated[(f.annotation, *constraints)] if constraints else f.annotation


MaxTokens = sampling_type("max_tokens")
Temperature = sampling_type("temperature", Le(2))
TopP = sampling_type("top_p")
Seed = sampling_type("seed")


def first_error(e: ValidationError) -> tuple[str, str]:
    """(message, parameter) of a Sampling error, worded like the server's body errors."""
    first = e.errors()[0]
    param = ".".join(str(p) for p in first["loc"])
    return f"{first['msg']} ({param})", param
