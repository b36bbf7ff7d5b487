"""Chat templates found inside model files, rendered in a sandbox.

A GGUF's `tokenizer.chat_template` is untrusted input: CVE-2024-34359 ran code through an
unsandboxed Jinja render of exactly this field. We render with Jinja's immutable sandbox,
which refuses attribute access to internals (`__class__`, `__globals__`, ...) and any
mutation of objects passed in.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from openpick.engines.base import Message
from openpick.errors import InvalidInput


def _raise(message: str) -> None:
    raise TemplateError(message)


@lru_cache(maxsize=16)
def _compile(source: str):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    env.filters["tojson"] = lambda v, indent=None: json.dumps(v, ensure_ascii=False, indent=indent)
    return env.from_string(source)


def render_chat(template: str, messages: list[Message], *, bos_token: str = "",
                eos_token: str = "", add_generation_prompt: bool = True) -> str:
    """Render `messages` with a model's own chat template, sandboxed."""
    try:
        compiled = _compile(template)
        return compiled.render(
            messages=[m.model_dump() for m in messages],
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    except SecurityError as e:
        raise InvalidInput(f"the model's chat template tried an unsafe operation, refused: {e}") from e
    except TemplateError as e:
        raise InvalidInput(f"the model's chat template failed: {e}") from e
