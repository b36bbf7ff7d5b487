"""Suites: the YAML file that says what to ask and what a good answer looks like.

    name: support-bot
    description: What this suite measures, and what it does not.
    defaults:                          # every case inherits these (a case may override any)
      system: "You are a helpful assistant."
      max_tokens: 256                  # also temperature, top_p, seed, stop
      mode: chat                       # chat (messages, the default) or completion (raw prompt)
      assert: [{not-icontains: "as an AI"}]   # added to every case
      threshold: 0.5                   # pass at this weighted score instead of "all pass"
    models: [smollm2-135m]             # optional: what `compare` runs when no -m is given
    cases:
      - id: capital                    # unique; optional (then "case-N", N from 1)
        prompt: "What is the capital of {{country}}? One word."
        vars: {country: France}
        tags: [facts]
        assert: [{icontains: paris}]
        weight: 1                      # this case's weight in the suite's mean score
      - id: chat
        messages: [{role: user, content: "Hi, I am {{name}}."}, ...]
        vars: {name: Ada}
    data:                              # rows of CSV / JSONL files become cases
      - file: capitals.csv             # relative to the suite file
        prompt: "What is the capital of {{country}}?"   # used for every row
        assert: [{icontains: "{{capital}}"}]            # rendered with the row's vars
        tags: [facts]

Data rows: columns become vars; `__expected` adds an `equals` assertion, `__id` names the
case (default "<file name>:<row number>", e.g. "capitals.csv:3"), `__tags` adds tags
(comma-separated in CSV, a list in JSONL), `__prompt` gives the row its own prompt template,
`__description` describes it.

Templating: `{{var}}` in prompts, messages, system prompts and assertion values is Jinja
(sandboxed, StrictUndefined: a missing var is an error when the suite loads). A value that
is exactly `{{var}}` keeps the var's type, so `json-path ... equals: "{{age}}"` compares a
number with a number. Code, python, is-json and perf assertions are not templated.

Prompt variants (compare prompts as well as models):

    prompts:
      - id: terse
        template: "{{question}} Answer in one word."
      - id: polite
        system: "You are a patient teacher."   # optional: overrides defaults.system
        template: "Please answer: {{question}}"
      # or: messages: [{role: user, content: "..."}]

With `prompts`, every case runs once per variant, rendered with the case's vars. A case
with no prompt of its own just supplies vars; a case that has a `prompt` binds it to
`{{prompt}}`, and then every variant must use `{{prompt}}` (a variant that would drop the
case's prompt is an error), e.g. `template: "{{prompt}}\nThink step by step."`. Cases with
`messages` cannot take variants. Without `prompts`, each case's variant is "default".

Top-level keys starting with `x-` are ignored: use them to hold YAML anchors (`&schema`)
that cases reuse (`*schema`).

Everything is checked when the suite loads, before any model runs: YAML syntax, unknown or
mistyped fields, unknown assertion types and bad assertion values, missing vars, duplicate
ids, unreadable data files. Each error is an `InvalidInput` naming the file, line and field.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from openpick.errors import InvalidInput, NotFound
from openpick.evals.suite import formats
from openpick.evals.suite.expand import Expander
from openpick.evals.suite.model import Suite, SuiteItem, Variant, items_hash
from openpick.evals.suite.schema import validate_file
from openpick.evals.suite.templating import render
from openpick.evals.suite.yamllines import MAX_VALUES, YamlError, expanded_size, load

BUNDLED_DIR = Path(__file__).parent.parent / "data" / "suites"

__all__ = ["BUNDLED_DIR", "Suite", "SuiteItem", "Variant", "bundled_suites", "items_hash",
           "load_suite", "parse_suite", "render", "resolve_suite_path"]


def bundled_suites() -> list[str]:
    """Names of the suites that ship with openpick (`load_suite(name)` loads one)."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def resolve_suite_path(source: str | Path) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    name = str(source)
    name = name[:-5] if name.endswith(".yaml") else name
    bundled = BUNDLED_DIR / f"{name}.yaml"
    if "/" not in name and bundled.is_file():
        return bundled
    if path.suffix in (".yaml", ".yml") or "/" in str(source) or path.exists():
        raise NotFound(f"suite file not found: {source}")
    close = difflib.get_close_matches(name, bundled_suites(), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise NotFound(f"no suite file or bundled suite named {source!r}; {hint}"
                   f"bundled: {', '.join(bundled_suites())}")


def load_suite(source: str | Path) -> Suite:
    """Load and fully check a suite from a file path, a bundled name ("starter") or a
    standard benchmark's name ("humaneval": evals.benchmarks)."""
    if isinstance(source, str) and not Path(source).exists():
        from openpick.evals import benchmarks
        bench = benchmarks.load(source)
        if bench is not None:
            return bench
    path = resolve_suite_path(source)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read suite: {e.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("suite is not UTF-8 text", path=str(path)) from None
    return parse_suite(text, path=path, raw=raw)


def parse_suite(text: str, *, path: str | Path | None = None, base_dir: str | Path | None = None,
                raw: bytes | None = None) -> Suite:
    """Parse suite YAML text. `path` names the file in errors; data files, schema files
    and python checks resolve against `base_dir` (default: the file's folder, else cwd)."""
    p = Path(path) if path is not None else None
    base = Path(base_dir) if base_dir is not None else (p.parent if p else Path.cwd())
    where = str(p) if p else "<suite>"
    try:
        doc = load(text)
    except YamlError as e:
        raise InvalidInput(e.problem, path=where, line=e.line) from None
    if expanded_size(doc) > MAX_VALUES:
        raise InvalidInput(f"more than {MAX_VALUES:,} values once YAML aliases are expanded",
                           path=where, line=1)
    raw = raw if raw is not None else text.encode("utf-8")
    doc = formats.to_native(doc, p, base)
    # a converted file's hash covers the files it read too (`x-source-files`)
    for name in (doc.get(formats.SOURCE_FILES) or []) if isinstance(doc, dict) else []:
        try:
            raw += b"\0" + str(name).encode() + b"\0" + Path(name).read_bytes()
        except OSError as e:
            raise InvalidInput(f"cannot read {name}: {e.strerror}", path=where) from None
    spec = validate_file(doc, p)
    return Expander(p, base, doc, raw).suite(spec)
