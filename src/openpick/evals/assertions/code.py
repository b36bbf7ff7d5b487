"""`code`: extract the code from the output and run the case's tests against it.

    assert:
      - code: |
          assert add(2, 3) == 5
          assert add(-1, 1) == 0
        timeout: 10        # seconds for the whole run (default 10)
        memory_mb: 512     # address-space limit (default 512)

The value is the tests (inline, or a `tests.py` file next to the suite). Each top-level
statement of the tests is one test; the score is the share that pass, and the assertion
passes only when all do.

This is the assertion for untrusted model output: a model's answer cannot forge its grade.
The tests run in a trusted runner process, which alone decides pass/fail; the model's code
runs in a separate sandboxed child (its own user, mount, pid and network namespaces with a
read-only view of the interpreter, no capabilities, rlimits on memory, CPU and file size, a
scratch dir without the tests). The tests reach the names the code defines through proxies
that exchange plain data only; the code dying, exiting or hanging fails the test it was in
and those after it. Where namespaces are unavailable the child gets rlimits and a socket
block only, and `detail["sandbox"]` says so. Details and the protocol:
`openpick.evals.assertions.sandbox`.

Differences from running the tests in the code's own namespace: tests see the code's
top-level plain-data values as they were after it loaded (later changes by its functions are
not seen); its other objects are handles that compare equal only to other handles; tests may
pass it plain data, its own objects and functions (called back), nothing else; and the code
cannot see names the tests define.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register
from openpick.evals.assertions.sandbox import run_tests

_BLOCK = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PY_LANGS = {"", "python", "py", "python3"}


def extract_code(output: str) -> str:
    """The code in a markdown answer: the first Python (or untagged) fenced block that
    defines something, else the first such block, else the whole output. An unclosed
    fence (an answer cut by max_tokens) counts up to the end."""
    blocks = [(lang.lower(), body) for lang, body in _BLOCK.findall(output)]
    python = [body for lang, body in blocks if lang in _PY_LANGS] or [b for _, b in blocks]
    for body in python:
        if re.search(r"^\s*(def|class|async def)\s", body, re.MULTILINE):
            return body
    if python:
        return python[0]
    return output


def _prepare(a: Assertion, base_dir: Path | None) -> Assertion:
    import ast

    tests = a.value
    if not isinstance(tests, str) or not tests.strip():
        raise ValueError(f"{a.type}: value must be test code or a tests .py file")
    if re.fullmatch(r"[^\s]+\.py", tests.strip()):
        path = Path(tests.strip())
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            tests = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ValueError(f"{a.type}: cannot read tests file {path}: {e.strerror}") from None
    try:
        tree = ast.parse(tests)
    except SyntaxError as e:
        raise ValueError(f"{a.type}: tests do not compile: {e.msg} (line {e.lineno})") from None
    if not tree.body:
        raise ValueError(f"{a.type}: no tests")
    for key, low in (("timeout", 0.1), ("memory_mb", 32)):
        v = a.options.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < low):
            raise ValueError(f"{a.type}: {key} must be a number >= {low}")
    return replace(a, value=tests, prepared=len(tree.body))


@register("code", options=("timeout", "memory_mb"), validate=_prepare, negatable=False,
          templated=False)
def code(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    source = extract_code(output)
    timeout = float(a.options.get("timeout", 10))
    run = run_tests(source, a.value, timeout=timeout,
                    memory_mb=int(a.options.get("memory_mb", 512)))
    total = a.prepared
    results = run["results"]
    passed = sum(1 for r in results if r["ok"])
    detail = {"code": source[:4000], "tests": results, "stdout": run["stdout"],
              "stderr": run["stderr"], "timed_out": run["timed_out"], "sandbox": run["sandbox"],
              "tests_output": run["runner_output"]}
    if not run["setup"]:
        reason = run["error"] or _crash_reason(run, timeout)
        return Outcome(False, reason, 0.0, detail)
    failed = next((r for r in results if not r["ok"]), None)
    if passed == total == len(results):
        return Outcome(True, f"{passed}/{total} tests passed", 1.0, detail)
    if failed is not None:
        why = f"failed: {failed['test'].splitlines()[0][:80]} ({failed['error'][:120]})"
    else:
        why = _crash_reason(run, timeout)
    return Outcome(False, f"{passed}/{total} tests passed; {why}", passed / total, detail)


def _crash_reason(run: dict, timeout: float) -> str:
    if run["timed_out"]:
        return f"timed out after {timeout:g} s"
    tail = run["runner_output"].strip().splitlines()[-1:] or ["the test runner stopped early"]
    return f"crashed: {tail[0][:160]}"
