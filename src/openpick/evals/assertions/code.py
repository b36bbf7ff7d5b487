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

Isolation, honestly: the code runs in a child `python -I` (no user site, no PYTHON* env)
with an empty environment, in a fresh scratch directory that is deleted afterwards, under
rlimits (address space, CPU seconds, file size, no core dumps) and a wall-clock timeout
that kills its whole process group. Network is blocked by replacing `socket.socket` and
friends before the code runs: that stops ordinary code, not a determined attacker
(namespaces via `unshare` are not available everywhere). Run untrusted models' code on a
machine you can afford to lose.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register

_BLOCK = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PY_LANGS = {"", "python", "py", "python3"}

HARNESS = r'''
import ast, json, resource, sys
mem, cpu, out_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = open(out_path, "w")
def _limit(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass
_limit(resource.RLIMIT_AS, mem)
_limit(resource.RLIMIT_CPU, cpu)
_limit(resource.RLIMIT_FSIZE, 16 * 1024 * 1024)
_limit(resource.RLIMIT_CORE, 0)
import socket, _socket
def _no_network(*args, **kwargs):
    raise PermissionError("network access is disabled in code tests")
class _NoSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        _no_network()
socket.socket = _socket.socket = _NoSocket
for _name in ("create_connection", "create_server", "socketpair", "getaddrinfo", "fromfd"):
    setattr(socket, _name, _no_network)
def report(**kw):
    out.write(json.dumps(kw) + "\n")
    out.flush()
solution = open("solution.py", encoding="utf-8").read()
tests = open("tests.py", encoding="utf-8").read()
ns = {"__name__": "solution"}
try:
    exec(compile(solution, "solution.py", "exec"), ns)
except BaseException as e:
    report(setup=False, error=f"the code failed to run: {type(e).__name__}: {e}")
    sys.exit(0)
report(setup=True)
tree = ast.parse(tests)
for stmt in tree.body:
    src = ast.get_source_segment(tests, stmt) or ""
    try:
        exec(compile(ast.Module([stmt], []), "tests.py", "exec"), ns)
        report(test=src, ok=True)
    except BaseException as e:
        report(test=src, ok=False, error=f"{type(e).__name__}: {e}".strip().rstrip(":"))
'''


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


def run_tests(code: str, tests: str, *, timeout: float = 10.0, memory_mb: int = 512) -> dict:
    """Run `tests` against `code` in a sandboxed child. Returns a dict with
    setup (bool), error, results [{test, ok, error}], timed_out, stdout, stderr."""
    with tempfile.TemporaryDirectory(prefix="openpick-code-") as tmp:
        d = Path(tmp)
        (d / "solution.py").write_text(code, encoding="utf-8")
        (d / "tests.py").write_text(tests, encoding="utf-8")
        (d / "harness.py").write_text(HARNESS, encoding="utf-8")
        cpu = int(timeout) + 1
        cmd = [sys.executable, "-I", "-B", "-X", "utf8", "harness.py",
               str(int(memory_mb) * 1024 * 1024), str(cpu), str(d / "result.jsonl")]
        proc = subprocess.Popen(cmd, cwd=d, env={}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        timed_out = False
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            stdout, stderr = proc.communicate()
        lines = []
        try:
            lines = (d / "result.jsonl").read_text(encoding="utf-8").splitlines()
        except OSError:
            pass
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            break  # a line cut by a kill
    setup = next((r for r in records if "setup" in r), None)
    return {
        "setup": bool(setup and setup["setup"]),
        "error": setup.get("error") if setup else None,
        "results": [r for r in records if "test" in r],
        "timed_out": timed_out,
        "returncode": proc.returncode,
        "stdout": stdout.decode("utf-8", "replace")[-2000:],
        "stderr": stderr.decode("utf-8", "replace")[-2000:],
    }


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


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
              "stderr": run["stderr"], "timed_out": run["timed_out"]}
    if not run["setup"]:
        reason = run["error"] or _crash_reason(run, timeout)
        return Outcome(False, reason, 0.0, detail)
    failed = next((r for r in results if not r["ok"]), None)
    if passed == total:
        return Outcome(True, f"{passed}/{total} tests passed", 1.0, detail)
    if failed is not None:
        why = f"failed: {failed['test'].splitlines()[0][:80]} ({failed['error'][:120]})"
    else:
        why = _crash_reason(run, timeout)
    return Outcome(False, f"{passed}/{total} tests passed; {why}", passed / total, detail)


def _crash_reason(run: dict, timeout: float) -> str:
    if run["timed_out"]:
        return f"timed out after {timeout:g} s"
    rc = run["returncode"]
    if rc is not None and rc < 0:
        return f"killed by signal {-rc} (CPU or memory limit?)"
    tail = run["stderr"].strip().splitlines()[-1:] or [f"exit code {rc}"]
    return f"crashed: {tail[0][:160]}"
