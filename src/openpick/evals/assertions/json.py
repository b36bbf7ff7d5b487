"""JSON checks: `is-json` (optionally against a JSON schema), `contains-json` (the same,
never strict: JSON anywhere in the output) and `json-path` equals.

Models often wrap JSON in a ```json fence or add a sentence around it, so the JSON is taken
from, in order: the whole output, the first fenced block, the first `{...}` or `[...]` that
parses. `strict: true` requires the whole output (whitespace aside) to be the JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)```", re.DOTALL)
_MISSING = object()


def extract_json(output: str, strict: bool = False) -> Any:
    """The JSON value in an output; ValueError when there is none."""
    text = output.strip()
    try:
        return json.loads(text)
    except ValueError:
        if strict:
            raise ValueError("the output is not JSON") from None
    for block in _FENCE.findall(text):
        try:
            return json.loads(block)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[\[{]", text):
        try:
            return decoder.raw_decode(text, m.start())[0]
        except ValueError:
            continue
    raise ValueError("no JSON found in the output")


def _prepare_schema(a: Assertion, base_dir: Path | None) -> Assertion:
    import jsonschema

    schema = a.value
    if schema is None or schema is True:
        return replace(a, value=None)
    if isinstance(schema, str):
        path = Path(schema)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ValueError(f"{a.type}: cannot read schema file {schema}: {e.strerror}") from None
        except ValueError as e:
            raise ValueError(f"{a.type}: schema file {schema} is not JSON: {e}") from None
    if not isinstance(schema, dict):
        raise ValueError(f"{a.type}: value must be a JSON schema (mapping) or a schema file")
    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise ValueError(f"{a.type}: invalid JSON schema: {e.message}") from None
    return replace(a, value=schema, prepared=cls(schema))


@register("is-json", options=("strict",), validate=_prepare_schema, templated=False,
          needs_value=False)
def is_json(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    try:
        data = extract_json(output, bool(a.options.get("strict")))
    except ValueError as e:
        return Outcome(False, str(e))
    if a.prepared is None:
        return Outcome(True, "is valid JSON")
    errors = sorted(a.prepared.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return Outcome(True, "is JSON matching the schema")
    first = errors[0]
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
    return Outcome(False, f"JSON does not match the schema at {where}: {first.message}",
                   detail={"errors": [e.message for e in errors[:10]]})


@register("contains-json", validate=_prepare_schema, templated=False, needs_value=False)
def contains_json(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    """promptfoo's name for a lenient `is-json`: a JSON value somewhere in the output."""
    return is_json(a, output, ctx)


_TOKEN = re.compile(r"""\.([A-Za-z_][\w-]*)|\[(\d+|-\d+)\]|\[(?:"([^"]*)"|'([^']*)')\]""")


def parse_path(path: str) -> list[str | int]:
    """`$.a.b[0]["c d"]` → ['a', 'b', 0, 'c d']. ValueError on anything else."""
    p = path.strip()
    if p.startswith("$"):
        p = p[1:]
    elif p and not p.startswith((".", "[")):
        p = "." + p  # allow a bare "a.b"
    parts: list[str | int] = []
    pos = 0
    while pos < len(p):
        m = _TOKEN.match(p, pos)
        if not m:
            raise ValueError(f"bad JSON path {path!r} near {p[pos:]!r}; use $.a.b[0]")
        name, index, dq, sq = m.groups()
        parts.append(int(index) if index is not None else (name or dq or sq or ""))
        pos = m.end()
    return parts


def get_path(data: Any, parts: list[str | int]) -> Any:
    for part in parts:
        if isinstance(part, int):
            if not isinstance(data, list) or not -len(data) <= part < len(data):
                return _MISSING
            data = data[part]
        else:
            if not isinstance(data, dict) or part not in data:
                return _MISSING
            data = data[part]
    return data


def _prepare_path(a: Assertion, base_dir: Path | None) -> Assertion:
    if not isinstance(a.value, str):
        raise ValueError(f"{a.type}: value must be a path such as $.name")
    return replace(a, prepared=parse_path(a.value))


@register("json-path", options=("equals", "strict"), validate=_prepare_path)
def json_path(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    try:
        data = extract_json(output, bool(a.options.get("strict")))
    except ValueError as e:
        return Outcome(False, str(e))
    found = get_path(data, a.prepared)
    if found is _MISSING:
        return Outcome(False, f"{a.value} is not in the JSON")
    if "equals" not in a.options:
        return Outcome(True, f"{a.value} exists")
    want = a.options["equals"]
    ok = _same(found, want)
    return Outcome(ok, f"{a.value} = {_show(found)}" + ("" if ok else f", expected {_show(want)}"))


def _show(value: Any, limit: int = 80) -> str:
    s = json.dumps(value, ensure_ascii=False, default=str)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _same(found: Any, want: Any) -> bool:
    # YAML `equals: 3` should match JSON 3 and 3.0, but not "3" nor true.
    if isinstance(found, bool) or isinstance(want, bool):
        return found is want
    return found == want
