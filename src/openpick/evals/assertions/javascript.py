"""`javascript`: a check written in JavaScript, run by Node.js (promptfoo's assertion type).

    assert:
      - javascript: output.length < 200                 # an expression
      - javascript: |                                   # a function body that returns
          const words = output.split(/\\s+/);
          return words.length <= 10;
      - javascript: checks.js                           # a CommonJS file next to the suite:
      - javascript: checks.js:isShort                   #   module.exports, or a named export
        threshold: 0.5
        config: {maxWords: 10}                          # seen as context.config

The code sees `output` (the answer, a string) and `context`: {prompt, vars, test: {vars},
config}. As in promptfoo, a one-line value is an expression (a leading `const`/`let`/`var`
statement is kept and its final expression returned) and a value of several lines is a
function body; a file's function is called as `fn(output, context)`; it may be async. It
returns a bool, a number (passes above 0, or at `threshold` when one is given; the score is
the number, clipped to 0..1) or a result object {pass, score, reason} whose `pass` decides
(promptfoo ignores the threshold for objects). A throw fails the check with its message.
The code is not templated (read the case's vars from `context.vars`); a promptfoo config's
`{{var}}` in inline code is rendered per test when the config is converted.

It needs `node` on PATH: without it the suite is rejected when it loads, before any model
runs. Each check runs in a fresh Node process inside openpick's code sandbox (see
`sandbox.py`: no network, a read-only view of the system, only a scratch dir writable, CPU
and memory limits; options `timeout`, default 10 s, and `memory_mb`, default 2048, since
Node reserves about 1 GB of address space at start). The code is the suite author's, as
with `python`; the sandbox keeps a check copied from elsewhere away from your files and
network. So a file's own `require('./other')` of the suite's files is not available (Node's
built-in modules are); ES module syntax is limited to `export default`.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register
from openpick.evals.assertions.sandbox import run_tests

_FILE_REF = re.compile(r"^\s*([^\s:]+\.(?:js|cjs))(?::([A-Za-z_$][\w$]*))?\s*$")
NO_NODE = ("Node.js is not installed (no `node` on PATH); install Node.js "
           "(https://nodejs.org) or write the check in python")

# Runs in Node: reads {nonce, output, context, body | module, fn} on stdin, prints one framed
# line `<nonce> <json>` describing what the check returned (the verdict is decided in Python).
HARNESS = r"""
'use strict';
const data = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const say = (r) => process.stdout.write('\n' + data.nonce + ' ' + JSON.stringify(r) + '\n');
const text = (x, n) => String(x === undefined || x === null ? '' : x).slice(0, n);
function body(code) {            // promptfoo: one line is an expression, more are a body
  code = code.replace(/\s+$/, '');
  if (code.includes('\n')) return code;
  const t = code.trim().replace(/;+\s*$/, '');
  if (!/^(const|let|var)\s/.test(t)) return 'return ' + t;
  // the last `;` that ends a statement: what precedes it and what follows it both parse
  const parses = (b) => { try { new Function('output', 'context', b); return true; }
                          catch (e) { return false; } };
  for (let i = t.lastIndexOf(';'); i >= 0; i = t.lastIndexOf(';', i - 1)) {
    const head = t.slice(0, i + 1), expr = t.slice(i + 1).trim();
    if (expr && parses(head) && parses('return (' + expr + '\n)')) {
      return head + ' return ' + expr;
    }
  }
  return t;
}
function load() {
  if (data.module === null) {
    return new Function('output', 'context', 'process', 'require', body(data.body));
  }
  const m = { exports: {} };
  const src = data.module.replace(/^\s*export\s+default\s+/m, 'module.exports = ');
  new Function('module', 'exports', 'require', '__filename', '__dirname', src)(
    m, m.exports, require, data.filename, '.');
  let fn = data.fn ? m.exports[data.fn] : m.exports;
  if (!data.fn && typeof fn !== 'function' && fn) fn = fn.default;
  if (typeof fn !== 'function') {
    throw new Error(data.filename + ' exports no function' + (data.fn ? ' ' + data.fn : ''));
  }
  return fn;
}
(async () => {
  let r;
  try {
    r = await load()(data.output, data.context, process, require);
  } catch (e) {
    return say({ kind: 'error', error: text(e && e.message !== undefined ? e.message : e, 500) });
  }
  if (typeof r === 'boolean') return say({ kind: 'bool', value: r });
  if (typeof r === 'number' && Number.isFinite(r)) return say({ kind: 'number', value: r });
  if (r && typeof r === 'object' && typeof r.pass === 'boolean') {
    return say({ kind: 'object', pass: r.pass, reason: text(r.reason, 500),
                 score: typeof r.score === 'number' && Number.isFinite(r.score) ? r.score : null });
  }
  say({ kind: 'invalid', type: r === null ? 'null' : typeof r });
})();
"""

# The sandboxed child runs this Python, which runs Node and passes its framed line on
# (flushed: the child is killed once it has loaded).
_SOLUTION = """\
import subprocess, sys
try:
    p = subprocess.run([{node!r}, "-e", {harness!r}], input={payload!r}.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout={timeout!r})
    out, err, rc = p.stdout.decode("utf-8", "replace"), p.stderr, p.returncode
except subprocess.TimeoutExpired:
    out, err, rc = "", b"timed out", -9
except OSError as e:
    out, err, rc = "", str(e).encode(), -1
line = [x for x in out.splitlines() if x.startswith({nonce!r} + " ")][-1:]
print(line[0] if line else {nonce!r} + " " + __import__("json").dumps(
    {{"kind": "crash", "rc": rc, "stderr": err.decode("utf-8", "replace")[-300:]}}), flush=True)
"""


def node() -> str | None:
    """The `node` executable, or None when Node.js is not installed."""
    return shutil.which("node")


def _prepare(a: Assertion, base_dir: Path | None) -> Assertion:
    exe = node()
    if exe is None:
        raise ValueError(f"{a.type}: {NO_NODE}")
    if not isinstance(a.value, str) or not a.value.strip():
        raise ValueError(f"{a.type}: value must be JavaScript code or a file.js[:function]")
    for key, low in (("timeout", 0.1), ("memory_mb", 1024)):
        v = a.options.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < low):
            raise ValueError(f"{a.type}: {key} must be a number >= {low}")
    t = a.options.get("threshold")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))):
        raise ValueError(f"{a.type}: threshold must be a number")
    m = _FILE_REF.match(a.value)
    if m is None:
        return replace(a, prepared={"node": exe, "body": a.value, "module": None, "fn": None,
                                    "filename": "<inline>"})
    path = Path(m.group(1))
    path = path if path.is_absolute() or base_dir is None else base_dir / path
    try:
        return replace(a, prepared={"node": exe, "body": None, "fn": m.group(2),
                                    "module": path.read_text(encoding="utf-8"),
                                    "filename": path.name})
    except OSError as e:
        raise ValueError(f"{a.type}: cannot read {path}: {e.strerror}") from None


def js_context(case: dict[str, Any], config: Any) -> dict[str, Any]:
    """promptfoo's `context` from openpick's case: the prompt as text (a chat's last user
    message), the vars, and the assertion's config."""
    prompt = case.get("prompt")
    if prompt is None:
        users = [m.get("content") for m in case.get("messages") or [] if m.get("role") == "user"]
        prompt = users[-1] if users else ""
    variables = case.get("vars") or {}
    return {"prompt": prompt, "vars": variables, "test": {"vars": variables},
            "config": config if config is not None else {}}


def run_js(prepared: dict, output: str, context: dict, *, timeout: float = 10.0,
           memory_mb: int = 2048) -> dict:
    """Run one check in Node inside the sandbox; returns what it returned, as
    {kind: bool | number | object | error | invalid | crash, ...}."""
    nonce = secrets.token_hex(8)
    payload = json.dumps({"nonce": nonce, "output": output, "context": context,
                          **{k: prepared[k] for k in ("body", "module", "fn", "filename")}},
                         default=str)
    code = _SOLUTION.format(node=prepared["node"], harness=HARNESS, payload=payload,
                            timeout=float(timeout), nonce=nonce)
    run = run_tests(code, "", timeout=float(timeout) + 2, memory_mb=memory_mb)
    for line in reversed(run["stdout"].splitlines()):
        if line.startswith(nonce + " "):
            try:
                return json.loads(line[len(nonce) + 1:])
            except ValueError:
                break
    why = run["error"] or ("timed out" if run["timed_out"] else
                           (run["stderr"] or run["runner_output"]).strip()[-200:] or "no result")
    return {"kind": "crash", "rc": run["returncode"], "stderr": why}


@register("javascript", options=("threshold", "config", "timeout", "memory_mb"),
          validate=_prepare, templated=False)
def javascript(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    r = run_js(a.prepared, output, js_context(ctx.case, a.options.get("config")),
               timeout=float(a.options.get("timeout", 10)),
               memory_mb=int(a.options.get("memory_mb", 2048)))
    threshold = a.options.get("threshold")
    kind = r.get("kind")
    if kind == "bool":
        return Outcome(r["value"], f"JavaScript returned {str(r['value']).lower()}")
    if kind == "number":
        v = r["value"]
        ok = v > 0 if threshold is None else v >= threshold
        at = "above 0" if threshold is None else f"at {threshold:g}"
        return Outcome(ok, f"JavaScript scored {v:.3g} (passes {at})", min(1.0, max(0.0, v)))
    if kind == "object":
        score = r["score"]
        return Outcome(r["pass"], r["reason"] or f"JavaScript returned pass: "
                       f"{str(r['pass']).lower()}", None if score is None else
                       min(1.0, max(0.0, score)))
    if kind == "error":
        return Outcome(False, f"JavaScript threw: {r['error']}")
    if kind == "invalid":
        return Outcome(False, f"JavaScript returned {r['type']}; return a bool, a number or "
                       "{pass, score, reason}")
    return Outcome(False, f"JavaScript did not finish (exit {r.get('rc')}): {r.get('stderr')}")
