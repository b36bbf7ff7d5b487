"""`python`: a user function `check(output, case) -> bool | float` decides.

The value is one of:
  `checks.py:check`   a function in a file (relative to the suite); `checks.py` means `check`
  inline code that defines `def check(output, case): ...`
  an inline expression over `output` and `case`, e.g. `len(output.split()) <= 10`
  (or several lines ending in `return ...`, used as the body of `check`)

`case` is a dict: id, variant, vars, tags, prompt or messages. The function may return
a bool, a number in [0, 1] (passes at >= `threshold`, default 0.5) or a dict
{pass, score, reason}. Files are imported when the suite loads, so a missing file or
function is an error before any model runs.

Trusted code only: the check runs inside openpick's own process with your full rights (your
files, your network, openpick's state), because it is the suite author's code, trusted as much
as the suite itself. Never use it to execute what a model wrote (no `exec(output)` in a check):
the `code` assertion is the one for untrusted model output, and runs it sandboxed.
"""

from __future__ import annotations

import importlib.util
import re
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register

_FILE_REF = re.compile(r"^\s*([^\s:]+\.py)(?::([A-Za-z_]\w*))?\s*$")
_loaded: dict[tuple[str, str], Any] = {}


def _from_file(ref: str, base_dir: Path | None) -> Any:
    m = _FILE_REF.match(ref)
    path = Path(m.group(1))
    func = m.group(2) or "check"
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    key = (str(path.resolve()), func)
    if key in _loaded:
        return _loaded[key]
    if not path.is_file():
        raise ValueError(f"python: file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"openpick_check_{len(_loaded)}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise ValueError(f"python: {path} failed to import: {type(e).__name__}: {e}") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise ValueError(f"python: {path} has no function {func}()")
    _loaded[key] = fn
    return fn


def _inline(code: str) -> Any:
    code = textwrap.dedent(code).strip("\n")
    if re.search(r"^def\s+check\s*\(", code, re.MULTILINE):
        source = code
    elif "\n" not in code.strip() and not code.lstrip().startswith("return"):
        source = f"def check(output, case):\n    return ({code.strip()})\n"
    else:
        source = "def check(output, case):\n" + textwrap.indent(code, "    ") + "\n"
    namespace: dict[str, Any] = {}
    try:
        exec(compile(source, "<python assertion>", "exec"), namespace)
    except SyntaxError as e:
        raise ValueError(
            f"python: inline code does not compile: {e.msg} (line {e.lineno})") from None
    return namespace["check"]


def _prepare(a: Assertion, base_dir: Path | None) -> Assertion:
    if not isinstance(a.value, str) or not a.value.strip():
        raise ValueError(f"{a.type}: value must be 'file.py:function' or inline code")
    threshold = a.options.get("threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ValueError(f"{a.type}: threshold must be a number")
    fn = _from_file(a.value, base_dir) if _FILE_REF.match(a.value) else _inline(a.value)
    return replace(a, prepared=fn)


@register("python", options=("threshold",), validate=_prepare, templated=False)
def python_check(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    result = a.prepared(output, ctx.case)
    threshold = float(a.options.get("threshold", 0.5))
    if isinstance(result, dict):
        score = result.get("score")
        passed = result.get("pass", result.get("passed"))
        if passed is None:
            passed = score is not None and float(score) >= threshold
        return Outcome(bool(passed), str(result.get("reason", "")),
                       None if score is None else float(score))
    if isinstance(result, bool) or result is None:
        return Outcome(bool(result), f"check returned {bool(result)}")
    if isinstance(result, (int, float)):
        score = min(1.0, max(0.0, float(result)))
        return Outcome(score >= threshold, f"check scored {score:.2f}", score)
    raise TypeError(f"check returned {type(result).__name__}; return a bool, a number or a dict")
