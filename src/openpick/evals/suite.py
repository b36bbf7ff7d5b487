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

import csv
import difflib
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from openpick.errors import InvalidInput, NotFound
from openpick.evals import assertions as A
from openpick.store.records import Grade

BUNDLED_DIR = Path(__file__).parent / "data" / "suites"

GEN_KEYS = ("system", "max_tokens", "temperature", "top_p", "seed", "stop", "mode")
TOP_KEYS = ("name", "description", "defaults", "models", "prompts", "cases", "data")
DEFAULT_KEYS = (*GEN_KEYS, "assert", "threshold")
CASE_KEYS = ("id", "description", "prompt", "messages", "vars", "tags", "assert", "weight",
             "threshold", *GEN_KEYS)
DATA_KEYS = ("file", "prompt", "messages", "vars", "tags", "assert", "weight", "threshold",
             *GEN_KEYS)
VARIANT_KEYS = ("id", "template", "messages", "system")
ROW_SPECIAL = ("__expected", "__id", "__tags", "__prompt", "__description")
ROLES = ("system", "user", "assistant")


# ----------------------------------------------------------------------------- YAML with lines

class LineDict(dict):
    """A YAML mapping that remembers its own line and each key's line (1-based)."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    d = LineDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark) from None
        if key in d:  # PyYAML would keep the last one silently
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark)
        d[key] = loader.construct_object(value_node, deep=True)
        d.key_lines[key] = key_node.start_mark.line + 1
    return d


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# ----------------------------------------------------------------------------- templating

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


def _is_template(s: str) -> bool:
    return "{{" in s or "{%" in s or "{#" in s


def render(source: str, variables: Mapping[str, Any]) -> str:
    """Render a `{{var}}` template; raises jinja2 errors (the loader turns them into
    InvalidInput with file, line and field)."""
    if not _is_template(source):
        return source
    return _template(source).render(**variables)


def _uses_var(source: str, name: str) -> bool:
    from jinja2 import meta

    return name in meta.find_undeclared_variables(_env().parse(source))


# ----------------------------------------------------------------------------- the model

@dataclass(frozen=True)
class Variant:
    id: str
    template: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None
    system: str | None = None


@dataclass
class SuiteItem:
    """One case in one prompt variant, rendered and ready to send and to grade."""

    case_id: str
    variant: str
    tags: list[str]
    messages: list[dict[str, str]] | None
    prompt: str | None
    max_tokens: int
    temperature: float
    top_p: float
    seed: int | None
    stop: list[str]
    assertions: list[A.Assertion]
    weight: float = 1.0
    threshold: float | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    source: str | None = None      # "file:line" where the case was written

    @property
    def key(self) -> tuple[str, str]:
        return (self.case_id, self.variant)

    @property
    def input(self) -> list[dict[str, str]] | str:
        """What CaseResult.input stores: the messages, or the plain prompt."""
        return self.messages if self.messages is not None else self.prompt

    def params(self) -> dict[str, Any]:
        """Generation parameters, as keyword arguments of engines.base.Request."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature,
                "top_p": self.top_p, "seed": self.seed, "stop": list(self.stop)}

    def request_kwargs(self) -> dict[str, Any]:
        """Everything `engines.base.Request(**kw)` needs."""
        inp = {"messages": [dict(m) for m in self.messages]} if self.messages is not None \
            else {"prompt": self.prompt}
        return {**inp, **self.params()}

    def case_dict(self) -> dict[str, Any]:
        """What a user `python` check receives as `case`."""
        return {"id": self.case_id, "variant": self.variant, "vars": dict(self.vars),
                "tags": list(self.tags), "prompt": self.prompt,
                "messages": None if self.messages is None else [dict(m) for m in self.messages],
                "description": self.description}

    def context(self, result: Any = None, *, cost_usd: float | None = None,
                judge=None) -> A.GradeContext:
        """A GradeContext for this item from an engine Result (or CaseResult)."""
        return A.GradeContext.from_result(self.case_dict(), result, cost_usd=cost_usd,
                                          judge=judge)

    def grade(self, output: str, context: A.GradeContext | None = None) -> Grade:
        ctx = context if context is not None else A.GradeContext(case=self.case_dict())
        if not ctx.case:
            ctx.case = self.case_dict()
        return A.grade(self.assertions, output, ctx, threshold=self.threshold)


@dataclass
class Suite:
    name: str
    description: str
    path: Path | None
    models: list[str]
    variants: list[Variant]
    hash: str
    _items: list[SuiteItem]

    def items(self, *, variants: list[str] | None = None,
              tags: list[str] | None = None) -> list[SuiteItem]:
        """Every case × variant, in file order; optionally only some variants or tags."""
        out = self._items
        if variants:
            unknown = sorted(set(variants) - {i.variant for i in out})
            if unknown:
                raise NotFound(f"suite {self.name} has no prompt variant {unknown[0]!r}; "
                               f"it has: {', '.join(self.variant_ids)}")
            out = [i for i in out if i.variant in variants]
        if tags:
            out = [i for i in out if set(i.tags) & set(tags)]
        return list(out)

    @property
    def variant_ids(self) -> list[str]:
        return [v.id for v in self.variants] or ["default"]

    @property
    def case_ids(self) -> list[str]:
        return list(dict.fromkeys(i.case_id for i in self._items))

    @property
    def tags(self) -> list[str]:
        return sorted({t for i in self._items for t in i.tags})

    def judge_models(self) -> set[str | None]:
        """Judge models its assertions name (None: "the runner's default judge")."""
        return {a.options.get("model") for i in self._items for a in i.assertions
                if a.base == "judge"}

    @property
    def needs_judge(self) -> bool:
        return bool(self.judge_models())

    def __len__(self) -> int:
        return len(self._items)


# ----------------------------------------------------------------------------- public API

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
    """Load and fully check a suite from a file path or a bundled name ("starter")."""
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
    return _Loader(p, base).load(text, raw if raw is not None else text.encode("utf-8"))


# ----------------------------------------------------------------------------- the loader

@dataclass
class _Source:
    """Where a case came from, for errors: file, a field prefix, a line."""

    path: Path | None
    field: str
    line: int | None


class _Loader:
    def __init__(self, path: Path | None, base_dir: Path):
        self.path = path
        self.base_dir = base_dir
        self.hasher = hashlib.sha256()
        self.seen: dict[str, str] = {}   # case id → where first defined

    # -- errors

    def fail(self, msg: str, field: str | None = None, line: int | None = None,
             path: Path | None = None):
        where = path if path is not None else self.path
        text = f"{field}: {msg}" if field else msg
        raise InvalidInput(text, path=str(where) if where else "<suite>", line=line)

    def check_keys(self, mapping: LineDict, allowed: tuple[str, ...], field: str,
                   path: Path | None = None, extensions: bool = False) -> None:
        for key in mapping:
            if extensions and isinstance(key, str) and key.startswith("x-"):
                continue  # free-form extension keys, e.g. to hold YAML anchors
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fail(f"unknown field '{key}'{hint}; allowed: {', '.join(allowed)}",
                          field, _line(mapping, key), path)

    # -- top level

    def load(self, text: str, raw: bytes) -> Suite:
        self.hasher.update(raw)
        try:
            doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
            if context and cmark is not None and (mark is None or cmark.line != mark.line):
                problem += f" ({context} at line {cmark.line + 1})"
            self.fail(f"YAML error: {problem}", None, mark.line + 1 if mark else None)
        if not isinstance(doc, LineDict):
            self.fail("a suite is a YAML mapping with at least `cases:` or `data:`", None, 1)
        self.check_keys(doc, TOP_KEYS, "suite", extensions=True)
        name = doc.get("name") or (self.path.stem if self.path else "suite")
        if not isinstance(name, str):
            self.fail("must be a string", "name", _line(doc, "name"))
        description = doc.get("description") or ""
        if not isinstance(description, str):
            self.fail("must be a string", "description", _line(doc, "description"))
        models = self.models(doc)
        defaults = self.defaults(doc)
        variants = self.variants(doc)
        items: list[SuiteItem] = []
        cases = doc.get("cases") or []
        if not isinstance(cases, list):
            self.fail("must be a list of cases", "cases", _line(doc, "cases"))
        for i, case in enumerate(cases):
            fld = f"cases[{i}]"
            if not isinstance(case, LineDict):
                self.fail("each case is a mapping with id, prompt, assert, ...", fld,
                          _line(doc, "cases"))
            self.check_keys(case, CASE_KEYS, fld)
            items += self.case(case, {}, defaults, variants, fld, default_id=f"case-{i + 1}")
        data = doc.get("data") or []
        if not isinstance(data, list):
            self.fail("must be a list such as [{file: rows.csv}]", "data", _line(doc, "data"))
        for i, entry in enumerate(data):
            items += self.data_entry(entry, i, doc, defaults, variants)
        if not items:
            self.fail("the suite has no cases (give `cases:` or `data:`)", None, 1)
        return Suite(name=name, description=description.strip(), path=self.path,
                     models=models, variants=variants, hash=self.hasher.hexdigest(),
                     _items=items)

    def models(self, doc: LineDict) -> list[str]:
        models = doc.get("models") or []
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            self.fail("must be a list of model names or specs", "models", _line(doc, "models"))
        return list(models)

    def defaults(self, doc: LineDict) -> dict[str, Any]:
        d = doc.get("defaults") or LineDict()
        if not isinstance(d, LineDict):
            self.fail("must be a mapping", "defaults", _line(doc, "defaults"))
        self.check_keys(d, DEFAULT_KEYS, "defaults")
        out: dict[str, Any] = {"system": None, "max_tokens": 256, "temperature": 0.0,
                               "top_p": 1.0, "seed": None, "stop": [], "mode": "chat",
                               "threshold": None}
        out.update(self.gen_params(d, "defaults", self.path))
        if "threshold" in d:
            out["threshold"] = self.threshold(d, "defaults", self.path)
        out["assert"] = self.assert_list(d, "defaults", self.path)
        return out

    def variants(self, doc: LineDict) -> list[Variant]:
        raw = doc.get("prompts")
        if raw is None:
            return []
        if not isinstance(raw, list) or not raw:
            self.fail("must be a non-empty list of prompt variants", "prompts",
                      _line(doc, "prompts"))
        out: list[Variant] = []
        for i, v in enumerate(raw):
            fld = f"prompts[{i}]"
            if isinstance(v, str):
                v = LineDict(id=f"v{i + 1}", template=v)
                v.line, v.key_lines = _line(doc, "prompts"), {}
            if not isinstance(v, LineDict):
                self.fail("a variant is {id: ..., template: ...}", fld, _line(doc, "prompts"))
            self.check_keys(v, VARIANT_KEYS, fld)
            vid = v.get("id")
            if not isinstance(vid, str) or not vid:
                self.fail("a variant needs an id (a string)", f"{fld}.id", v.line)
            if vid in {x.id for x in out}:
                self.fail(f"duplicate prompt variant id '{vid}'", f"{fld}.id", _line(v, "id"))
            has_t, has_m = "template" in v, "messages" in v
            if has_t == has_m:
                self.fail("give exactly one of template or messages", fld, v.line)
            template = messages = None
            if has_t:
                template = v["template"]
                if not isinstance(template, str):
                    self.fail("must be a string", f"{fld}.template", _line(v, "template"))
                self.syntax(template, f"{fld}.template", _line(v, "template"))
            else:
                msgs = self.messages(v["messages"], f"{fld}.messages", _line(v, "messages"),
                                     self.path)
                messages = tuple((m["role"], m["content"]) for m in msgs)
            system = v.get("system")
            if system is not None:
                if not isinstance(system, str):
                    self.fail("must be a string", f"{fld}.system", _line(v, "system"))
                self.syntax(system, f"{fld}.system", _line(v, "system"))
            out.append(Variant(vid, template, messages, system))
        return out

    # -- field checks

    def gen_params(self, m: LineDict, fld: str, path: Path | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in GEN_KEYS:
            if key not in m:
                continue
            v, line, f = m[key], _line(m, key), f"{fld}.{key}"
            if key == "system":
                ok = v is None or isinstance(v, str)
            elif key == "max_tokens":
                ok = isinstance(v, int) and not isinstance(v, bool) and v >= 1
            elif key == "temperature":
                ok = _is_num(v) and v >= 0
            elif key == "top_p":
                ok = _is_num(v) and 0 < v <= 1
            elif key == "seed":
                ok = v is None or (isinstance(v, int) and not isinstance(v, bool))
            elif key == "stop":
                if isinstance(v, str):
                    v = [v]
                ok = isinstance(v, list) and all(isinstance(s, str) and s for s in v)
            else:  # mode
                ok = v in ("chat", "completion")
            if not ok:
                self.fail(f"invalid value {v!r} ({_EXPECT[key]})", f, line, path)
            out[key] = float(v) if key in ("temperature", "top_p") else v
        return out

    def threshold(self, m: LineDict, fld: str, path: Path | None) -> float | None:
        v = m.get("threshold")
        if v is None:
            return None
        if not _is_num(v) or not 0 <= v <= 1:
            self.fail(f"must be a number between 0 and 1, got {v!r}", f"{fld}.threshold",
                      _line(m, "threshold"), path)
        return float(v)

    def assert_list(self, m: LineDict, fld: str, path: Path | None) -> list[tuple]:
        """Parsed (not yet templated/validated) assertions with their field and line."""
        raw = m.get("assert")
        if raw is None:
            return []
        if isinstance(raw, (Mapping, str)):
            raw = [raw]
        if not isinstance(raw, list):
            self.fail("must be a list of assertions", f"{fld}.assert", _line(m, "assert"), path)
        out = []
        for j, r in enumerate(raw):
            f = f"{fld}.assert[{j}]"
            line = r.line if isinstance(r, LineDict) else _line(m, "assert")
            try:
                out.append((A.parse_assertion(r), f, line, path))
            except ValueError as e:
                self.fail(str(e), f, line, path)
        return out

    def messages(self, raw: Any, fld: str, line: int | None, path: Path | None) -> list[dict]:
        if not isinstance(raw, list) or not raw:
            self.fail("must be a non-empty list of {role, content}", fld, line, path)
        out = []
        for k, msg in enumerate(raw):
            f = f"{fld}[{k}]"
            mline = msg.line if isinstance(msg, LineDict) else line
            if not isinstance(msg, Mapping) or set(msg) != {"role", "content"}:
                self.fail("each message is {role: ..., content: ...}", f, mline, path)
            if msg["role"] not in ROLES:
                self.fail(f"role must be one of {', '.join(ROLES)}, got {msg['role']!r}",
                          f"{f}.role", mline, path)
            if not isinstance(msg["content"], str):
                self.fail("content must be a string", f"{f}.content", mline, path)
            self.syntax(msg["content"], f"{f}.content", mline, path)
            out.append({"role": msg["role"], "content": msg["content"]})
        return out

    def syntax(self, source: str, fld: str, line: int | None, path: Path | None = None) -> None:
        from jinja2 import TemplateSyntaxError

        if not _is_template(source):
            return
        try:
            _template(source)
        except TemplateSyntaxError as e:
            self.fail(f"template error: {e.message}", fld, line, path)

    def render(self, source: str, variables: Mapping[str, Any], fld: str, line: int | None,
               path: Path | None) -> str:
        from jinja2 import TemplateError, UndefinedError
        from jinja2.sandbox import SecurityError

        self.syntax(source, fld, line, path)
        try:
            return render(source, variables)
        except UndefinedError as e:
            self.fail(f"missing var: {e.message}", fld, line, path)
        except SecurityError as e:
            self.fail(f"template not allowed: {e}", fld, line, path)
        except TemplateError as e:
            self.fail(f"template error: {e}", fld, line, path)
        except Exception as e:  # e.g. a filter applied to the wrong type
            self.fail(f"template error: {type(e).__name__}: {e}", fld, line, path)

    def render_value(self, value: Any, variables: Mapping[str, Any], fld: str,
                     line: int | None, path: Path | None) -> Any:
        if isinstance(value, str):
            m = _ONE_VAR.match(value.strip())
            if m and m.group(1) in variables:
                return variables[m.group(1)]
            return self.render(value, variables, fld, line, path)
        if isinstance(value, list):
            return [self.render_value(v, variables, fld, line, path) for v in value]
        if isinstance(value, Mapping):
            return {k: self.render_value(v, variables, fld, line, path) for k, v in value.items()}
        return value

    # -- cases

    def case(self, case: Mapping, extra: dict[str, Any], defaults: dict[str, Any],
             variants: list[Variant], fld: str, default_id: str,
             row: _Source | None = None) -> list[SuiteItem]:
        """Render one case into items: a YAML case, or a data entry merged with one row.

        Fields of `case` live in the suite file (errors name its lines); `extra` holds a data
        row's own parts (vars, id, tags, expected, prompt), whose errors name the row."""
        path = self.path

        def at(key: str) -> int | None:
            return _line(case, key)

        rpath, rline = (row.path, row.line) if row else (path, case.line)
        cid = extra.get("id", case.get("id", default_id))
        if isinstance(cid, (int, float)) and not isinstance(cid, bool):
            cid = str(cid)
        if not isinstance(cid, str) or not cid.strip():
            self.fail("id must be a non-empty string", f"{fld}.id", at("id"), path)
        where = f"{rpath or '<suite>'}:{rline}"
        if cid in self.seen:
            msg = f"duplicate case id '{cid}' (first defined at {self.seen[cid]})"
            if row:
                self.fail(msg, f"{row.field}.id", rline, rpath)
            self.fail(msg, f"{fld}.id", at("id"), path)
        self.seen[cid] = where

        variables = case.get("vars") or {}
        if not isinstance(variables, Mapping) or not all(isinstance(k, str) for k in variables):
            self.fail("must be a mapping of names to values", f"{fld}.vars", at("vars"), path)
        variables = {**variables, **extra.get("vars", {})}

        tags = case.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.fail("must be a list of strings", f"{fld}.tags", at("tags"), path)
        tags = list(dict.fromkeys([*tags, *extra.get("tags", [])]))

        weight = case.get("weight", 1.0)
        if not _is_num(weight) or weight < 0:
            self.fail(f"must be a number >= 0, got {weight!r}", f"{fld}.weight", at("weight"),
                      path)
        threshold = self.threshold(case, fld, path) if "threshold" in case \
            else defaults["threshold"]
        description = extra.get("description", case.get("description"))
        if description is not None and not isinstance(description, str):
            self.fail("must be a string", f"{fld}.description", at("description"), path)

        gen = {k: defaults[k] for k in GEN_KEYS}
        gen.update(self.gen_params(case, fld, path))

        # assertions: defaults first, then the case's (or data entry's), then __expected
        parsed = list(defaults["assert"]) + self.assert_list(case, fld, path)
        if "expected" in extra:
            parsed.append((A.parse_assertion({"equals": extra["expected"]}),
                           f"{row.field}.__expected", rline, rpath))
        assertions = [self.assertion(a, variables, f, line, p) for a, f, line, p in parsed]

        # the prompt source: a row's __prompt wins over the entry's prompt / messages
        if "prompt" in extra:
            prompt_src, p_fld, p_line, p_path = extra["prompt"], f"{row.field}.__prompt", \
                rline, rpath
            has_messages = False
        else:
            prompt_src, p_fld, p_line, p_path = case.get("prompt"), f"{fld}.prompt", \
                at("prompt"), path
            has_messages = "messages" in case
            if prompt_src is not None and not isinstance(prompt_src, str):
                self.fail("must be a string", p_fld, p_line, path)
            if prompt_src is not None and has_messages:
                self.fail("give prompt or messages, not both", fld, case.line, path)

        base_system = None
        if gen["system"]:
            base_system = self.render(gen["system"], variables, f"{fld}.system",
                                      at("system"), path)
        renders: list[tuple[str, str | None, list[dict] | None, str | None]] = []
        if not variants:
            if prompt_src is None and not has_messages:
                self.fail("needs a prompt or messages (or a suite-level `prompts:` list)",
                          fld, case.line, path)
            if has_messages:
                mline = at("messages")
                msgs = self.messages(case["messages"], f"{fld}.messages", mline, path)
                rendered = [{"role": m["role"], "content": self.render(
                    m["content"], variables, f"{fld}.messages[{k}].content", mline, path)}
                    for k, m in enumerate(msgs)]
                renders.append(("default", None, rendered, base_system))
            else:
                text = self.render(prompt_src, variables, p_fld, p_line, p_path)
                renders.append(("default", text, None, base_system))
        else:
            if has_messages:
                self.fail("cases with messages cannot take the suite's prompt variants; "
                          "give vars (or a prompt) instead", f"{fld}.messages",
                          at("messages"), path)
            own = None
            if prompt_src is not None:
                own = self.render(prompt_src, variables, p_fld, p_line, p_path)
            for v in variants:
                if own is not None and not self.variant_uses_prompt(v):
                    self.fail(f"prompt variant '{v.id}' does not use {{{{prompt}}}}, so this "
                              "case's own prompt would be dropped", p_fld, p_line, p_path)
                vvars = dict(variables) if own is None else {**variables, "prompt": own}
                vfld = f"{fld} (prompt variant '{v.id}')"
                text, msgs = None, None
                if v.template is not None:
                    text = self.render(v.template, vvars, vfld, case.line, path)
                else:
                    msgs = [{"role": r, "content": self.render(c, vvars, vfld, case.line, path)}
                            for r, c in v.messages]
                # the case's own system prompt wins, then the variant's, then the defaults'
                system = base_system
                if v.system is not None and "system" not in case:
                    system = self.render(v.system, vvars, f"{vfld}.system", case.line, path)
                renders.append((v.id, text, msgs, system))

        items = []
        for vid, text, msgs, system in renders:
            messages, prompt = self.assemble(gen["mode"], system, text, msgs, fld, case.line)
            items.append(SuiteItem(
                case_id=cid, variant=vid, tags=list(tags), messages=messages, prompt=prompt,
                max_tokens=gen["max_tokens"], temperature=gen["temperature"],
                top_p=gen["top_p"], seed=gen["seed"], stop=list(gen["stop"]),
                assertions=assertions, weight=float(weight), threshold=threshold,
                vars=dict(variables), description=description, source=where))
        return items

    def variant_uses_prompt(self, v: Variant) -> bool:
        sources = [v.template] if v.template is not None else [c for _, c in v.messages]
        return any(_is_template(s) and _uses_var(s, "prompt") for s in sources)

    def assemble(self, mode: str, system: str | None, text: str | None,
                 msgs: list[dict] | None, fld: str, line: int | None):
        if mode == "completion":
            if msgs is not None:
                self.fail("mode completion takes a prompt, not messages", fld, line)
            if system:
                self.fail("mode completion has no system prompt; put it in the prompt",
                          fld, line)
            return None, text
        messages = [] if msgs is None else [dict(m) for m in msgs]
        if msgs is None:
            messages.append({"role": "user", "content": text})
        if system and not any(m["role"] == "system" for m in messages):
            messages.insert(0, {"role": "system", "content": system})
        return messages, None

    def assertion(self, a: A.Assertion, variables: Mapping[str, Any], fld: str,
                  line: int | None, path: Path | None) -> A.Assertion:
        if A.REGISTRY[a.base].templated:
            a = replace(a, value=self.render_value(a.value, variables, fld, line, path),
                        options=self.render_value(dict(a.options), variables, fld, line, path))
        try:
            return A.validate(a, self.base_dir)
        except ValueError as e:
            self.fail(str(e), fld, line, path)

    # -- data files

    def data_entry(self, entry: Any, i: int, doc: LineDict, defaults: dict[str, Any],
                   variants: list[Variant]) -> list[SuiteItem]:
        fld = f"data[{i}]"
        if isinstance(entry, str):
            entry = LineDict(file=entry)
            entry.line, entry.key_lines = _line(doc, "data"), {}
        if not isinstance(entry, LineDict):
            self.fail("each data entry is {file: rows.csv, ...}", fld, _line(doc, "data"))
        self.check_keys(entry, DATA_KEYS, fld)
        name = entry.get("file")
        if not isinstance(name, str) or not name:
            self.fail("needs `file:` (a CSV or JSONL file)", f"{fld}.file", entry.line)
        fpath = Path(name) if Path(name).is_absolute() else self.base_dir / name
        line = _line(entry, "file")
        if fpath.suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
            self.fail(f"unsupported data file type '{fpath.suffix}' (use .csv or .jsonl)",
                      f"{fld}.file", line)
        try:
            raw = fpath.read_bytes()
            text = raw.decode("utf-8-sig")
        except OSError as e:
            self.fail(f"cannot read data file {name}: {e.strerror}", f"{fld}.file", line)
        except UnicodeDecodeError:
            self.fail(f"data file {name} is not UTF-8 text", f"{fld}.file", line)
        self.hasher.update(name.encode() + b"\0" + raw)
        rows = _csv_rows(text) if fpath.suffix.lower() == ".csv" else self.jsonl_rows(text, fpath)
        items: list[SuiteItem] = []
        for n, (row_line, row) in enumerate(rows, start=1):
            extra = self.row_extra(row, fpath, row_line, f"row {n}")
            try:
                items += self.case(entry, extra, defaults, variants, fld,
                                   default_id=f"{Path(name).name}:{n}",
                                   row=_Source(fpath, f"row {n}", row_line))
            except InvalidInput as e:
                # errors from the entry's own fields belong to the suite file; say which row
                if e.path == str(fpath):
                    raise
                raise InvalidInput(f"{e.message} (data row {n} of {name})", path=e.path,
                                   line=e.line) from None
        if not items:
            self.fail(f"data file {name} has no rows", f"{fld}.file", line)
        return items

    def jsonl_rows(self, text: str, fpath: Path) -> list[tuple[int, dict]]:
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                self.fail(f"not JSON: {e}", None, n, fpath)
            if not isinstance(row, dict):
                self.fail("each line must be a JSON object", None, n, fpath)
            rows.append((n, row))
        return rows

    def row_extra(self, row: dict, fpath: Path, line: int, fld: str) -> dict[str, Any]:
        extra: dict[str, Any] = {"vars": {}}
        for key, value in row.items():
            if not isinstance(key, str) or not key:
                self.fail("every column needs a name", fld, line, fpath)
            if key.startswith("__"):
                if key not in ROW_SPECIAL:
                    self.fail(f"unknown special column '{key}' (known: {', '.join(ROW_SPECIAL)})",
                              fld, line, fpath)
                if value is None or value == "":
                    continue
                if key == "__tags":
                    tags = [t.strip() for t in value.split(",")] if isinstance(value, str) \
                        else value
                    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                        self.fail("__tags must be a list or comma-separated text",
                                  fld, line, fpath)
                    extra["tags"] = [t for t in tags if t]
                elif key == "__id":
                    extra["id"] = str(value)
                elif key in ("__prompt", "__description") and not isinstance(value, str):
                    self.fail(f"{key} must be text", fld, line, fpath)
                else:
                    extra[key[2:]] = value
            else:
                extra["vars"][key] = value
        return extra


def _csv_rows(text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    start = 2
    for row in reader:
        row.pop(None, None)  # extra cells beyond the header
        rows.append((start, {k: ("" if v is None else v) for k, v in row.items()}))
        start = reader.line_num + 1
    return rows


_EXPECT = {
    "system": "a string", "max_tokens": "an integer >= 1", "temperature": "a number >= 0",
    "top_p": "a number in (0, 1]", "seed": "an integer or null",
    "stop": "a string or a list of strings", "mode": "chat or completion",
}


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _line(m: Any, key: str) -> int | None:
    return m.line_of(key) if isinstance(m, LineDict) else None
