"""`{{var}}` templating of prompts, messages, system prompts and assertion values.

Jinja, sandboxed, with StrictUndefined: a missing var is an error when the suite loads, not
an empty string sent to a model. A value that is exactly `{{var}}` keeps the var's type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any


class TemplateProblem(Exception):
    """A template that does not parse or render; the message is the user's one line."""


@lru_cache(maxsize=1)
def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                keep_trailing_newline=True)


@lru_cache(maxsize=4096)
def _template(source: str):
    return _env().from_string(source)


_ONE_VAR = re.compile(r"^\{\{\s*([A-Za-z_]\w*)\s*\}\}$")


def is_template(s: str) -> bool:
    return "{{" in s or "{%" in s or "{#" in s


def check_syntax(source: str) -> None:
    from jinja2 import TemplateSyntaxError

    if not is_template(source):
        return
    try:
        _template(source)
    except TemplateSyntaxError as e:
        raise TemplateProblem(f"template error: {e.message}") from None
    except (RecursionError, MemoryError):
        raise TemplateProblem("template error: nested too deeply") from None


def render(source: str, variables: Mapping[str, Any]) -> str:
    """Render a template; raises TemplateProblem with a one-line reason."""
    from jinja2 import TemplateError, UndefinedError
    from jinja2.sandbox import SecurityError

    if not is_template(source):
        return source
    check_syntax(source)
    try:
        return _template(source).render(**variables)
    except UndefinedError as e:
        raise TemplateProblem(f"missing var: {e.message}") from None
    except SecurityError as e:
        raise TemplateProblem(f"template not allowed: {e}") from None
    except TemplateError as e:
        raise TemplateProblem(f"template error: {e}") from None
    except Exception as e:  # noqa: BLE001 - e.g. a filter applied to the wrong type
        raise TemplateProblem(f"template error: {type(e).__name__}: {_one_line(e)}") from None


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside a value (lists, mappings); `"{{var}}"` alone keeps the
    var's own type, so `equals: "{{age}}"` compares a number with a number."""
    if isinstance(value, str):
        m = _ONE_VAR.match(value.strip())
        if m and m.group(1) in variables:
            return variables[m.group(1)]
        return render(value, variables)
    if isinstance(value, list):
        return [render_value(v, variables) for v in value]
    if isinstance(value, Mapping):
        return {k: render_value(v, variables) for k, v in value.items()}
    return value


def uses_var(source: str, name: str) -> bool:
    from jinja2 import meta

    return is_template(source) and name in meta.find_undeclared_variables(_env().parse(source))


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]
