"""promptfoo assertions (`{type, value, threshold, weight, metric, ...}`) as openpick's.

One function, `convert`, maps one promptfoo assertion onto one native assertion mapping, or
raises `Unsupported` with what to use instead; promptfoo.py adds the file and line. The
table below is the whole mapping (see promptfoo.py's module doc for the user's view).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpick.evals.assertions import javascript as js
from openpick.evals.suite.templating import is_template


class Unsupported(ValueError):
    """A promptfoo feature openpick cannot run; the message says what to use instead."""


# promptfoo's own types that openpick has under the same name (and same meaning)
SAME = ("contains", "icontains", "starts-with", "regex", "levenshtein", "word-count",
        "finish-reason", "similar")
LISTS = ("contains-any", "contains-all", "icontains-any", "icontains-all")

# what to use instead of the types openpick cannot run
INSTEAD = {
    "ruby": "use python",
    "webhook": "use python",
    "moderation": "no openpick equivalent; drop it, or use python or llm-rubric",
    "select-best": "compare the models side by side instead (openpick compare)",
    "max-score": "compare the models side by side instead (openpick compare)",
    "assert-set": "list its assertions directly (with a test threshold if needed)",
    "ends-with": "use regex with a $ anchor",
    "factuality": "use llm-rubric with the fact as the rubric",
    "model-graded-closedqa": "use llm-rubric",
    "model-graded-factuality": "use llm-rubric",
    "g-eval": "use llm-rubric",
    "answer-relevance": "use llm-rubric or similar",
    "context-faithfulness": "use llm-rubric",
    "context-recall": "use llm-rubric",
    "context-relevance": "use llm-rubric",
    "classifier": "use llm-rubric",
    "rouge-n": "use similar or levenshtein",
    "bleu": "use similar or levenshtein",
    "gleu": "use similar or levenshtein",
    "meteor": "use similar or levenshtein",
    "perplexity": "no openpick equivalent",
    "perplexity-score": "no openpick equivalent",
    "is-sql": "use python",
    "contains-sql": "use python",
    "is-xml": "use python",
    "contains-xml": "use python",
    "is-html": "use python",
    "contains-html": "use python",
    "is-valid-openai-tools-call": "tool calls are not supported; use python on the text",
    "is-valid-openai-function-call": "tool calls are not supported; use python on the text",
    "is-valid-function-call": "tool calls are not supported; use python on the text",
    "tool-call-f1": "tool calls are not supported",
    "is-refusal": "use llm-rubric, or not-icontains on refusal phrases",
    "guardrails": "no openpick equivalent",
    "pi": "use llm-rubric",
    "cost-per-token": "use cost",
}

# assertion keys that only promptfoo can act on
_UNSUPPORTED_KEYS = {
    "transform": "a JavaScript transform; transform the output in a python assertion instead",
    "rubricPrompt": "a custom grading prompt; write the rubric as llm-rubric's value",
    "contextTransform": "a JavaScript transform",
}


def convert(raw: Mapping[str, Any], *, judge_spec: Callable[[Any], str | None],
            read_text: Callable[[str], str], read_data: Callable[[str], Any],
            note: Callable[[str], None], csv_threshold: bool = False,
            render: Callable[[str], str] | None = None) -> dict[str, Any]:
    """One promptfoo assertion → one native assertion mapping.

    `judge_spec` maps a promptfoo grading provider onto a model spec (None: the runner's
    judge); `read_text`/`read_data` read `file://` values (text; parsed JSON or YAML);
    `csv_threshold` applies promptfoo's CSV default of 0.8 to `similar`; `render` renders
    the `{{vars}}` of inline python and javascript code, as promptfoo does before running
    it (None: no vars known here, and a template in such code is an error)."""
    for key, why in _UNSUPPORTED_KEYS.items():
        if key in raw:
            raise Unsupported(f"'{key}' is not supported ({why})")
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError("an assertion needs a `type` (a string)")
    negate = kind.startswith("not-")
    base = kind[4:] if negate else kind
    if base.startswith("similar:"):
        if base != "similar:cosine":
            raise Unsupported(f"assertion type '{kind}' is not supported (use similar, cosine)")
        base = "similar"
    if base in INSTEAD:
        raise Unsupported(f"promptfoo assertion type '{kind}' is not supported; {INSTEAD[base]}")
    value = raw.get("value")
    threshold = raw.get("threshold")
    if base in ("python", "javascript") and isinstance(value, str) \
            and not value.startswith("file://") and is_template(value):
        if render is None:
            raise Unsupported(f"{{{{vars}}}} in a defaultTest {base} value are not supported; "
                              "move the assertion into the tests, or read context['vars']")
        value = render(value)
    if isinstance(value, str) and value.startswith("file://") and base not in ("python",
                                                                              "javascript"):
        value = read_data(value) if base in ("is-json", "contains-json") else read_text(value)
    if "metric" in raw:
        note(f"assertion metric names ({raw['metric']!r}) are not kept: openpick scores "
             "each case, not named metrics")
    env = _Env(judge_spec, read_text, csv_threshold)
    out = _MAPPERS.get(base, _unknown)(base, value, threshold, raw, env)
    type_key = next(iter(out))
    if negate:
        out = {f"not-{type_key}": out.pop(type_key), **out}
    if "weight" in raw:
        out["weight"] = raw["weight"]
    return out


@dataclass(frozen=True)
class _Env:
    judge_spec: Callable[[Any], str | None]
    read_text: Callable[[str], str]
    csv_threshold: bool


def _same(base, value, threshold, raw, env):
    out: dict[str, Any] = {base: value}
    if threshold is not None and base in ("levenshtein", "similar"):
        out["threshold"] = threshold
    elif base == "similar" and env.csv_threshold:
        out["threshold"] = 0.8
    return out


def _lists(base, value, *_):
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    return {base: value}


def _equals(base, value, *_):
    if isinstance(value, (dict, list)):
        raise Unsupported("equals with a JSON value is not supported; use is-json with a schema, "
                          "or python: json.loads(output) == ...")
    return {"equals": value}


def _json(base, value, *_):
    out: dict[str, Any] = {base: value if value not in (None, "") else None}
    if base == "is-json":
        out["strict"] = True  # promptfoo's is-json parses the whole output
    return out


def _rubric(base, value, threshold, raw, env):
    out: dict[str, Any] = {"judge": value}
    if threshold is not None:
        out["threshold"] = threshold
    model = env.judge_spec(raw.get("provider"))
    if model:
        out["model"] = model
    return out


def _latency(base, value, threshold, *_):
    if threshold is None:
        raise ValueError("latency needs a threshold (milliseconds)")
    return {"latency": _num(threshold, "latency threshold") / 1000.0}


def _cost(base, value, threshold, *_):
    if threshold is None:
        raise ValueError("cost needs a threshold (US dollars)")
    return {"cost": _num(threshold, "cost threshold")}


def _python(base, value, threshold, raw, env):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("python needs a value: an expression, a function body or file://x.py")
    config = _plain(raw.get("config")) if raw.get("config") else None
    if threshold is not None:
        _num(threshold, "python threshold")
    if value.startswith("file://"):
        code = _from_file(value, env.read_text, config, threshold)
    else:
        code = python_check(value, config, threshold)
    # promptfoo passes a number above 0 (or at its threshold); openpick's default is 0.5
    return {"python": code, "threshold": threshold if threshold is not None else 1e-9}


def _javascript(base, value, threshold, raw, env):
    if js.node() is None:
        raise Unsupported(js.NO_NODE)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("javascript needs a value: an expression, a function body or "
                         "file://x.js")
    out: dict[str, Any] = {"javascript": _js_from_file(value, env.read_text)
                           if value.startswith("file://") else value}
    if threshold is not None:
        out["threshold"] = _num(threshold, "javascript threshold")
    if raw.get("config"):
        out["config"] = _plain(raw["config"])
    return out


def _unknown(base, *_):
    raise Unsupported(f"unknown promptfoo assertion type '{base}'; openpick maps: "
                      f"{', '.join(sorted(_MAPPERS))}")


def _num(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{what} must be a number, got {v!r}")
    return float(v)


_MAPPERS = {**{t: _same for t in SAME}, **{t: _lists for t in LISTS},
            "equals": _equals, "is-json": _json, "contains-json": _json,
            "llm-rubric": _rubric, "latency": _latency, "cost": _cost, "python": _python,
            "javascript": _javascript}


# -- python ------------------------------------------------------------------------------

_CONTEXT_PROMPT = ('    context = {**context, "prompt": context["prompt"] if context["prompt"] '
                   'is not None else context["messages"][-1]["content"]}')


# promptfoo reads a python check's result so: "true"/"false" and numbers as text, a JSON
# object as text, and a dict whose score is under the assertion's threshold fails.
_RESULT = """

def _promptfoo_result(r, threshold):
    if isinstance(r, str):
        if r.strip().lower() in ("true", "false"):
            return r.strip().lower() == "true"
        if not r.lstrip().startswith("{"):
            return float(r)
        import json
        r = json.loads(r)
    if isinstance(r, dict) and threshold is not None and r.get("score") is not None \\
            and r["score"] < threshold:
        why = f"Python score {r['score']} is less than threshold {threshold}"
        r = {**r, "pass": False, "reason": f"{why}: {r['reason']}" if r.get("reason") else why}
    return r
"""


def python_check(code: str, config: Any = None, threshold: float | None = None) -> str:
    """promptfoo inline python (an expression, or a function body that returns) as an
    openpick `check(output, context)`: openpick's case dict has the `vars` and `prompt`
    that promptfoo's context has, and promptfoo's assertion `config` is added to it."""
    code = code.rstrip()
    lines = ["def promptfoo_assert(output, context):", *_context_lines(code, config)]
    if "\n" in code:
        lines.append(textwrap.indent(textwrap.dedent(code).strip("\n"), "    "))
    else:
        lines.append(f"    return {code.strip()}")
    return "\n".join(lines) + "\n" + _RESULT + _caller("promptfoo_assert", threshold)


def _caller(fn: str, threshold: float | None) -> str:
    return (f"\n\ndef check(output, context):  # promptfoo calls {fn}(output, context)\n"
            f"    return _promptfoo_result({fn}(output, context), {threshold!r})\n")


def _context_lines(code: str, config: Any) -> list[str]:
    out = []
    if "prompt" in code:
        out.append(_CONTEXT_PROMPT)
    if config is not None:
        out.append(f"    context = {{**context, \"config\": {config!r}}}")
    return out


_PY_REF = re.compile(r"^file://(.+?\.py)(?::([A-Za-z_]\w*))?$")


def _from_file(ref: str, read_text: Callable[[str], str], config: Any,
               threshold: float | None = None) -> str:
    """A promptfoo `file://x.py[:fn]` check (fn defaults to get_assert), inlined: the file's
    source followed by a `check` that calls it, so the suite carries (and hashes) the code."""
    m = _PY_REF.match(ref.strip())
    if not m:
        raise ValueError(f"python: expected file://name.py or file://name.py:function, got {ref!r}")
    fn = m.group(2) or "get_assert"
    source = read_text(f"file://{m.group(1)}")
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(f"python: {m.group(1)} does not compile: {e.msg} (line {e.lineno})") \
            from None
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if fn not in names:
        raise ValueError(f"python: {m.group(1)} has no function {fn}()")
    for taken in ("check", "_promptfoo_result"):
        if taken in names:
            raise Unsupported(f"python: {m.group(1)} defines {taken}(), a name openpick "
                              "uses; rename it")
    wrapper = ["", "", f"def check(output, context):  # promptfoo calls {fn}(output, context)",
               *_context_lines(source, config),
               f"    return _promptfoo_result({fn}(output, context), {threshold!r})"]
    return source.rstrip() + "\n" + _RESULT + "\n".join(wrapper) + "\n"


_JS_REF = re.compile(r"^file://(.+?\.(?:js|cjs|mjs))(?::([A-Za-z_$][\w$]*))?$")


def _js_from_file(ref: str, read_text: Callable[[str], str]) -> str:
    """A promptfoo `file://x.js[:fn]` check, inlined as a function body that loads the file's
    CommonJS module (`export default` too) and calls its function, so the suite carries (and
    hashes) the code."""
    m = _JS_REF.match(ref.strip())
    if not m:
        raise ValueError(f"javascript: expected file://name.js or file://name.js:function, "
                         f"got {ref!r}")
    source = read_text(f"file://{m.group(1)}")
    source = re.sub(r"^\s*export\s+default\s+", "module.exports = ", source, count=1,
                    flags=re.MULTILINE)
    name = Path(m.group(1)).name
    pick = (f"module.exports[{m.group(2)!r}]" if m.group(2) else
            "typeof module.exports === 'function' ? module.exports : module.exports.default")
    return (f"// promptfoo's file://{m.group(1)}{':' + m.group(2) if m.group(2) else ''}, "
            "inlined\nconst module = { exports: {} };\n"
            f"(function (module, exports) {{\n{source.rstrip()}\n}})(module, module.exports);\n"
            f"const fn = {pick};\n"
            f"if (typeof fn !== 'function') throw new Error({name!r} + ' exports no function');\n"
            "return fn(output, context);\n")


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


# -- CSV `__expected` cells --------------------------------------------------------------

_KNOWN = sorted({*SAME, *LISTS, *_MAPPERS, *INSTEAD}, key=len, reverse=True)
_CELL = re.compile(r"^(not-)?(" + "|".join(re.escape(t) for t in _KNOWN) +
                   r")(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$")


def from_cell(text: str) -> dict[str, Any]:
    """promptfoo's `__expected` shorthand (`contains: Paris`, `similar(0.9): ...`,
    `grade: ...`, `python: ...`, plain text = equals) as a long-form promptfoo assertion."""
    for prefix, kind in (("javascript:", "javascript"), ("fn:", "javascript"),
                         ("eval:", "javascript"), ("grade:", "llm-rubric"),
                         ("llm-rubric:", "llm-rubric"), ("python:", "python")):
        if text.startswith(prefix):
            body = text[len(prefix):]
            return {"type": kind, "value": body.strip() if kind != "llm-rubric" else body}
    if text.startswith("file://") and (text.endswith(".py") or ".py:" in text):
        return {"type": "python", "value": text.strip()}
    if text.startswith("file://") and re.search(r"\.(js|ts)(:|$)", text):
        return {"type": "javascript", "value": text}
    m = _CELL.match(text)
    if not m:
        return {"type": "equals", "value": text}
    neg, kind, threshold, value = m.groups()
    out: dict[str, Any] = {"type": f"{neg or ''}{kind}", "value": value}
    if kind in LISTS and value is not None:
        out["value"] = [v.strip() for v in value.split(",")]
    if threshold is not None:
        out["threshold"] = float(threshold)
    if value is None:
        out.pop("value")
    return out


def resolve(path: str, base_dir: Path) -> Path:
    p = Path(path.removeprefix("file://"))
    return p if p.is_absolute() else base_dir / p
