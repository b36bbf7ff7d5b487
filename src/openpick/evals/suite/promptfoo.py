"""promptfoo configs, run unchanged: `openpick compare promptfooconfig.yaml` reads one as a
suite, and `openpick suite convert promptfooconfig.yaml -o suite.yaml` writes the native
suite it becomes.

A document is a promptfoo config when it has promptfoo's own keys (providers, targets,
tests, defaultTest, evaluateOptions, scenarios) and no `cases:` or `data:`. It is mapped
onto a native suite document, which the schema and the expander then check like any
other, so their errors (a missing var, a bad regex) name the config's lines. What only
promptfoo has is an InvalidInput naming the file, the line and what to use instead,
before any model runs.

What maps to what:

    description            description (and the suite's name is the config's folder for
                           promptfooconfig.yaml, else the file's stem)
    prompts                prompt variants: strings, `file://` text files (`---` separates
                           several prompts in one file, globs select several files), JSON or
                           YAML chat files (a list of {role, content}), {id, label, raw}
                           objects, a {file: label} mapping. The label is the variant id
                           (else v1, v2, ...); a {system, messages} request body whose
                           contents are text parts. A path-like prompt without file:// that
                           names existing files is read as they are (promptfoo's older
                           form). `{{var}}` Nunjucks is rendered by openpick's Jinja;
                           `| dump` becomes `| tojson`; `var | load` (JSON.parse) reads a
                           var `var__load` that each case gets, holding var parsed.
    providers / targets    models: (used when no -m is given; -m replaces them):
                           openai:[chat:|completion:]MODEL → openai:BASE#MODEL (BASE:
                           config.apiBaseUrl, apiHost, else api.openai.com), ollama:[chat:]M
                           → ollama:M, llama:M → llama-server:M, vllm:M → vllm:M,
                           localai:[chat:]M → openai:http://localhost:8080/v1#M, an http
                           provider whose url ends in /chat/completions (with body.model) →
                           openai:URL#MODEL, echo → fake:echo. config temperature,
                           max_tokens (ollama's num_predict), top_p, seed and stop become
                           `defaults` when every provider agrees. Other providers are
                           left out, with a note.
    tests                  cases: an inline list, `file://` CSV, JSON, JSONL or YAML files
                           (globs too). vars (`file://` vars read the text file) with list
                           values make one case per combination (promptfoo's cartesian
                           product); description, threshold, assert. CSV columns are vars;
                           `__expected` (and `__expected1`...) hold promptfoo's assertion
                           shorthand (`contains: x`, `similar(0.9): x`, `grade: rubric`,
                           plain text = equals), `__description`, `__threshold`.
    defaultTest            vars (under each test's), assert (before each test's),
                           threshold, options.provider (the judge model).
    assert                 type, value, threshold, weight; `not-` prefixes. contains,
                           icontains, contains-any/-all, icontains-any/-all, equals,
                           starts-with, regex, levenshtein, word-count, finish-reason as
                           themselves; is-json → is-json strict (promptfoo parses the whole
                           output), contains-json; similar (and similar:cosine); latency
                           (threshold in ms) and cost; llm-rubric → judge (provider →
                           model); python: an inline expression or function body, or
                           `file://x.py[:fn]` (fn defaults to get_assert), inlined into the
                           suite as a `check(output, context)` whose context is openpick's
                           case (vars, prompt, messages, ...) plus the assertion's config.
                           A number passes above 0 unless a threshold is given; a dict
                           whose score is under the threshold fails; "true"/"false",
                           numbers and JSON objects returned as text are read.
                           javascript (needs Node.js; else an error naming the line):
                           an expression or body, or `file://x.js[:fn]` inlined, run by
                           the `javascript` assertion in the code sandbox. Inline python
                           and javascript code gets each test's `{{vars}}` rendered in.
    evaluateOptions        maxConcurrency and repeat are kept under `x-promptfoo` and
                           noted: give them as `compare --concurrency N --repeats N`.

Not supported (an error naming what to use instead): ruby, webhook,
moderation, select-best, assert-set, factuality and the other model-graded RAG metrics,
rouge/bleu, perplexity, tool-call checks, assertion `transform`s and `rubricPrompt`,
test `options.prefix/suffix/transform`, scenarios, redteam, python or JavaScript prompt
and test generators. Left out with a note: metric names, provider-specific prompt lists,
per-test provider filters, providers openpick cannot reach.

The suite hash of a converted config covers the config file's bytes and those of every
file it read through `file://` (prompts, tests, vars, python checks), as do the items.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from openpick.errors import InvalidInput
from openpick.evals import assertions as A
from openpick.evals.suite import formats, templating
from openpick.evals.suite import promptfoo_asserts as PA
from openpick.evals.suite.promptfoo_providers import ProviderMap
from openpick.evals.suite.yamllines import LineDict, YamlError, line_of, load

# keys only promptfoo configs have (a native suite has `cases:` or `data:`)
SIGNATURE = ("providers", "targets", "tests", "defaultTest", "evaluateOptions", "scenarios",
             "redteam")
# top-level keys that change nothing openpick runs
IGNORED = ("outputPath", "sharing", "env", "writeLatestResults", "metadata", "tags",
           "commandLineOptions", "$schema", "tracing", "assertionTemplates")
UNSUPPORTED_TOP = {
    "scenarios": "write the combinations out as tests",
    "redteam": "red teaming is promptfoo's own; openpick runs evals",
    "extensions": "extension hooks run JavaScript or Python around promptfoo's own runner",
    "nunjucksFilters": "custom Nunjucks filters are JavaScript; use Jinja's built-in filters",
    "derivedMetrics": "openpick reports pass rates and scores per model",
}
TEST_KEYS = {"vars", "assert", "description", "threshold", "options", "metadata",
             "providers", "provider", "prompts", "providerOutput"}


def detect(doc: Any) -> bool:
    return isinstance(doc, Mapping) and any(k in doc for k in SIGNATURE)


class Converter:
    """One promptfoo config → one native suite document (LineDicts carry its lines)."""

    def __init__(self, doc: Any, path: Path | None, base_dir: Path):
        self.doc, self.path, self.base_dir = doc, path, base_dir
        self.where = str(path) if path else "<suite>"
        self.notes: list[str] = []
        self.files: list[str] = []          # every file read through file://
        self.cases: list[LineDict] = []
        self.loaded: set[str] = set()       # vars the prompts parse with `| load`

    # -- errors, notes, files ------------------------------------------------------------
    def fail(self, msg: str, node: Any = None, key: Any = None, *, where: str | None = None,
             line: int | None = None):
        if line is None:
            line = (line_of(node, key) if key is not None else None) or \
                getattr(node, "line", None)
        raise InvalidInput(msg, path=where or self.where, line=line)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def paths(self, ref: str, node: Any, key: Any) -> list[Path]:
        """The files a `file://` reference (maybe a glob) names, relative to the config."""
        name = ref.removeprefix("file://").strip()
        if any(c in name for c in "*?["):
            found = sorted(p for p in self.base_dir.glob(name) if p.is_file())
            if not found:
                self.fail(f"no file matches {ref}", node, key)
            return found
        p = PA.resolve(name, self.base_dir)
        if not p.is_file():
            self.fail(f"file not found: {ref} (relative to {self.base_dir})", node, key)
        return [p]

    def read(self, p: Path, node: Any, key: Any) -> str:
        try:
            text = p.read_bytes().decode("utf-8-sig")
        except OSError as e:
            self.fail(f"cannot read {p}: {e.strerror}", node, key)
        except UnicodeDecodeError:
            self.fail(f"{p} is not UTF-8 text", node, key)
        self.files.append(str(p))
        return text

    def read_one(self, ref: str, node: Any, key: Any) -> tuple[Path, str]:
        (p,) = self.paths(ref, node, key)[:1]
        return p, self.read(p, node, key)

    def parse_data(self, p: Path, text: str, node: Any, key: Any) -> Any:
        """A JSON or YAML file's contents (YAML keeps its lines)."""
        if p.suffix.lower() == ".json":
            try:
                return json.loads(text)
            except ValueError as e:
                self.fail(f"{p.name} is not JSON: {e}", where=str(p), line=getattr(e, "lineno", 1))
        try:
            return load(text)
        except YamlError as e:
            self.fail(e.problem, where=str(p), line=e.line)

    # -- the config ----------------------------------------------------------------------
    def convert(self) -> LineDict:
        doc = self.doc
        for key in doc:
            if key in UNSUPPORTED_TOP:
                self.fail(f"'{key}' is not supported: {UNSUPPORTED_TOP[key]}", doc, key)
        known = {"description", "prompts", *SIGNATURE, *IGNORED}
        for key in doc:
            if key not in known:
                self.fail(f"unknown promptfoo config key '{key}'", doc, key)
        if "providers" in doc and "targets" in doc:
            self.fail("give providers or targets, not both", doc, "targets")
        providers = ProviderMap(self)
        models, sampling = providers.models(doc.get("providers", doc.get("targets")),
                                            doc, "providers" if "providers" in doc else "targets")
        self.judge = providers.judge(self.default_test().get("options"), self.default_test())
        self.provider_map = providers

        out = _ld({}, doc.line)
        out["name"] = self.name()
        if isinstance(doc.get("description"), str):
            out["description"] = doc["description"]
        out["prompts"] = self.prompts()
        defaults = self.defaults(sampling)
        if defaults:
            out["defaults"] = defaults
        if models:
            out["models"] = models
        out["cases"] = self.tests()
        extra = {"source": self.path.name if self.path else "<suite>"}
        extra.update(self.evaluate_options())
        if self.notes:
            extra["notes"] = list(self.notes)
        out["x-promptfoo"] = extra
        out[formats.SOURCE_FILES] = sorted(set(self.files))
        return out

    def name(self) -> str:
        if self.path is None:
            return "promptfoo"
        stem = self.path.stem
        if stem.startswith("promptfooconfig") and self.path.resolve().parent.name:
            suffix = stem.removeprefix("promptfooconfig").strip(".-_")
            return self.path.resolve().parent.name + (f"-{suffix}" if suffix else "")
        return stem

    def evaluate_options(self) -> dict[str, Any]:
        opts = self.doc.get("evaluateOptions")
        if opts is None:
            return {}
        if not isinstance(opts, Mapping):
            self.fail("evaluateOptions must be a mapping", self.doc, "evaluateOptions")
        kept = {}
        if "maxConcurrency" in opts:
            kept["maxConcurrency"] = opts["maxConcurrency"]
            self.note(f"evaluateOptions.maxConcurrency {opts['maxConcurrency']}: give "
                      f"`compare --concurrency {opts['maxConcurrency']}` (per model)")
        if "repeat" in opts:
            kept["repeat"] = opts["repeat"]
            self.note(f"evaluateOptions.repeat {opts['repeat']}: give "
                      f"`compare --repeats {opts['repeat']}`")
        return {"evaluateOptions": kept} if kept else {}

    def default_test(self) -> Mapping:
        dt = self.doc.get("defaultTest") or LineDict()
        if isinstance(dt, str):
            self.fail("defaultTest from a file is not supported; write it inline",
                      self.doc, "defaultTest")
        if not isinstance(dt, Mapping):
            self.fail("defaultTest must be a mapping", self.doc, "defaultTest")
        return dt

    def defaults(self, sampling: dict[str, Any]) -> LineDict:
        dt = self.default_test()
        out = _ld(dict(sampling), getattr(dt, "line", None))
        if "threshold" in dt:
            out["threshold"] = dt["threshold"]
            out.key_lines["threshold"] = line_of(dt, "threshold")
        self.test_options(dt, "defaultTest")
        if dt.get("assert"):
            out["assert"] = self.assertions(dt, str(self.where))
            out.key_lines["assert"] = line_of(dt, "assert")
        return out

    # -- prompts -------------------------------------------------------------------------
    def prompts(self) -> list[LineDict]:
        doc = self.doc
        raw = doc.get("prompts")
        if raw is None:
            self.fail("a promptfoo config needs `prompts:`", doc, line=getattr(doc, "line", 1))
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, Mapping):   # {file://prompt.txt: label}
            raw = [_ld({"id": k, "label": v}, line_of(raw, k)) for k, v in raw.items()]
        if not isinstance(raw, list) or not raw:
            self.fail("prompts must be a prompt, a list of prompts or {file: label}", doc, "prompts")
        variants: list[LineDict] = []
        for i, p in enumerate(raw):
            line = getattr(p, "line", None) or line_of(doc, "prompts")
            for text, label in self.prompt_texts(p, line):
                variants.append(self.variant(text, label, len(variants) + 1, line))
        seen: set[str] = set()
        for v in variants:
            base, n = v["id"], 2
            while v["id"] in seen:
                v["id"], n = f"{base}-{n}", n + 1
            seen.add(v["id"])
        return variants

    def prompt_texts(self, p: Any, line: int | None) -> list[tuple[Any, str | None]]:
        """(text or messages, label) for one prompts entry."""
        label = None
        if isinstance(p, Mapping):
            label = p.get("label")
            if "raw" in p:
                return [(p["raw"], label or p.get("id"))]
            if not isinstance(p.get("id"), str):
                self.fail("a prompt object needs `raw` (the text) or `id` (file://...)", line=line)
            p = p["id"]
        if not isinstance(p, str):
            self.fail("each prompt is a string, a file:// path or {id, label, raw}", line=line)
        if not p.startswith("file://") and self._names_files(p):
            p = "file://" + p    # promptfoo reads a path-like prompt that names files
        if not p.startswith("file://"):
            return [(p, label)]
        out: list[tuple[Any, str | None]] = []
        for path in self._prompt_paths(p, line):
            out += self.prompt_file(path, label, line)
        return out

    def _names_files(self, text: str) -> bool:
        """promptfoo's older form: a prompt without file:// that looks like a path (one line
        with a / or \\ or *, or a file suffix) is read as a file; here only when it names an
        existing file, so a prompt that merely contains a slash stays text."""
        t = text.strip()
        if "\n" in t or not re.search(r"[/\\*]|\.\w{2,5}$", t):
            return False
        try:
            if any(c in t for c in "*?["):
                return any(p.is_file() for p in self.base_dir.glob(t))
            return PA.resolve(t, self.base_dir).is_file()
        except (OSError, ValueError, NotImplementedError):
            return False

    def _prompt_paths(self, ref: str, line: int | None) -> list[Path]:
        name = ref.removeprefix("file://")
        if re.search(r"\.(py|js|ts|mjs|cjs)(:\w+)?$", name):
            self.fail(f"prompt functions ({ref}) are not supported; write the prompt as text "
                      "or a JSON chat file", line=line)
        try:
            return self.paths(ref, None, None)
        except InvalidInput as e:
            raise InvalidInput(e.message, path=self.where, line=line) from None

    def prompt_file(self, path: Path, label: str | None, line: int | None):
        try:
            text = self.read(path, None, None)
        except InvalidInput as e:
            raise InvalidInput(e.message, path=self.where, line=line) from None
        suffix = path.suffix.lower()
        if suffix in (".json", ".yaml", ".yml"):
            return [(self.parse_data(path, text, None, None), label or path.stem)]
        if suffix == ".jsonl":
            return [(json.loads(x), f"{label or path.stem}-{n}")
                    for n, x in enumerate(text.splitlines(), 1) if x.strip()]
        parts = [t.strip() for t in re.split(r"^---$", text, flags=re.MULTILINE)] \
            if re.search(r"^---$", text, flags=re.MULTILINE) else [text]
        parts = [t for t in parts if t]
        if len(parts) == 1:
            return [(parts[0] if len(text.strip()) else text, label or path.stem)]
        return [(t, f"{label or path.stem}-{n}") for n, t in enumerate(parts, 1)]

    def variant(self, body: Any, label: Any, n: int, line: int | None) -> LineDict:
        try:
            return self._variant(body, label, n, line)
        except PA.Unsupported as e:
            self.fail(f"prompt {label or f'v{n}'}: {e}", line=line)

    def _variant(self, body: Any, label: Any, n: int, line: int | None) -> LineDict:
        vid = str(label) if label not in (None, "") else f"v{n}"
        if isinstance(body, str):
            chat = _as_chat(body)
            if chat is None:
                return _ld({"id": vid, "template": nunjucks(body, self.loaded)}, line)
            body = chat
        if isinstance(body, Mapping) and isinstance(body.get("messages"), list) and \
                set(body) <= {"messages", "system"}:
            # a request body's shape ({system, messages}, as Anthropic's API takes it)
            system = body.get("system")
            body = ([{"role": "system", "content": system}] if system else []) + \
                body["messages"]
        if isinstance(body, list) and body and all(
                isinstance(m, Mapping) and set(m) >= {"role", "content"} for m in body):
            msgs = []
            for m in body:
                m = {**m, "content": _text_parts(m["content"])}
                if m["role"] not in ("system", "user", "assistant") or not isinstance(
                        m["content"], str):
                    self.fail(f"prompt {vid}: chat messages need role system, user or assistant "
                              "and text content (images and tool calls are not supported)",
                              line=line)
                msgs.append({"role": m["role"], "content": nunjucks(m["content"],
                                                                    self.loaded)})
            return _ld({"id": vid, "messages": msgs}, line)
        self.fail(f"prompt {vid}: expected text or a chat list of {{role, content}}", line=line)

    # -- tests ---------------------------------------------------------------------------
    def tests(self) -> list[LineDict]:
        raw = self.doc.get("tests")
        dt = self.default_test()
        if raw is None:
            raw = [LineDict()]  # promptfoo runs each prompt once with defaultTest alone
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            self.fail("tests must be a list or a file:// path", self.doc, "tests")
        line = line_of(self.doc, "tests")
        for i, t in enumerate(raw):
            if isinstance(t, str):
                if not t.startswith("file://"):
                    self.fail(f"tests[{i}]: a string test must be a file:// path", line=line)
                for p in self._test_paths(t, line):
                    self.test_file(p, dt)
            elif isinstance(t, Mapping):
                self.test(t, dt, self.where, f"test-{i + 1}")
            else:
                self.fail(f"tests[{i}]: each test is a mapping with vars and assert",
                          line=line)
        return self.cases

    def _test_paths(self, ref: str, line: int | None) -> list[Path]:
        if re.search(r"\.(py|js|ts)(:\w+)?$", ref):
            self.fail(f"test generators ({ref}) are not supported; write the tests to a "
                      "CSV, JSONL or YAML file", line=line)
        if ref.startswith(("file://https:", "https:", "file://http:")):
            self.fail("tests from URLs (Google Sheets, ...) are not supported", line=line)
        try:
            return self.paths(ref, None, None)
        except InvalidInput as e:
            raise InvalidInput(e.message, path=self.where, line=line) from None

    def test_file(self, p: Path, dt: Mapping) -> None:
        text = self.read(p, None, None)
        suffix = p.suffix.lower()
        if suffix == ".csv":
            for n, (row_line, row) in enumerate(_csv_rows(text, p), 1):
                t = self.csv_test(row, p, row_line)
                self.test(t, dt, str(p), f"{p.name}:{n}", csv_row=True)
            return
        if suffix in (".jsonl", ".ndjson"):
            items = []
            for n, row in enumerate(text.splitlines(), 1):
                if row.strip():
                    try:
                        items.append(_ld(json.loads(row), n))
                    except ValueError as e:
                        self.fail(f"not JSON: {e}", where=str(p), line=n)
        else:
            items = self.parse_data(p, text, None, None)
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, list):
            self.fail("a tests file holds a list of tests", where=str(p), line=1)
        for n, item in enumerate(items, 1):
            if not isinstance(item, Mapping):
                self.fail("each test is a mapping with vars and assert", where=str(p),
                          line=getattr(items, "line", 1))
            self.test(item, dt, str(p), f"{p.name}:{n}")

    def csv_test(self, row: dict[str, str], p: Path, line: int) -> LineDict:
        t = _ld({"vars": {}, "assert": []}, line)
        for key, value in row.items():
            if key.startswith("__expected"):
                if value.strip():
                    t["assert"].append(_ld(PA.from_cell(value), line))
            elif key == "__description":
                t["description"] = value
            elif key == "__threshold" and value.strip():
                try:
                    t["threshold"] = float(value)
                except ValueError:
                    self.fail(f"__threshold must be a number, got {value!r}", where=str(p),
                              line=line)
            elif key == "__threshold":
                continue
            elif key == "__metric" or key.startswith("__metadata"):
                self.note(f"CSV {key.split(':')[0]} columns are not kept")
            elif key in ("__prefix", "__suffix", "__providerOutput") or key.startswith("__config"):
                self.fail(f"CSV column {key} is not supported", where=str(p), line=line)
            else:
                t["vars"][key] = value
        t.key_lines = {"assert": line, "vars": line}
        return t

    def test_options(self, t: Mapping, where: str) -> None:
        opts = t.get("options")
        if opts is None:
            return
        if not isinstance(opts, Mapping):
            self.fail("options must be a mapping", t, "options", where=where)
        for key in opts:
            if key in ("prefix", "suffix", "transform", "postprocess", "storeOutputAs",
                       "rubricPrompt"):
                self.fail(f"test option '{key}' is not supported (put it in the prompt, or "
                          "check the raw output with python)", opts, key, where=where)
            if key not in ("provider", "runSerially", "disableVarExpansion", "disableConversationVar"):
                self.note(f"test option '{key}' is ignored")

    def test(self, t: Mapping, dt: Mapping, where: str, cid: str, csv_row: bool = False):
        for key in t:
            if key not in TEST_KEYS:
                self.fail(f"unknown test key '{key}'", t, key, where=where)
        for key in ("providers", "provider", "prompts", "providerOutput"):
            if key in t:
                self.note(f"test '{key}' filters and overrides are ignored: every case runs "
                          "on every model and prompt")
        self.test_options(t, where)
        base_vars = dt.get("vars") or {}
        own_vars = t.get("vars") or {}
        for name, vs in (("defaultTest.vars", base_vars), ("vars", own_vars)):
            if not isinstance(vs, Mapping):
                self.fail(f"{name} must be a mapping", t, "vars", where=where)
        variables = {**self.load_vars(base_vars, self.where), **self.load_vars(own_vars, where)}
        judge = self.provider_map.judge((t.get("options") or {}), t) or self.judge
        combos = _cartesian(variables)
        disable = (t.get("options") or {}).get("disableVarExpansion")
        if disable:
            combos = [variables]
        combos = [self.load_json(c, t, where) for c in combos]
        # promptfoo renders {{vars}} into inline python and javascript code: per combination
        per_combo = _templated_code(t.get("assert"))
        asserts = self.assertions(t, where, judge=judge, csv_row=csv_row) \
            if t.get("assert") and not per_combo else []
        # later errors (a missing var) are the expander's, which names the config file: a
        # test read from another file points at the config's `tests:` line
        line = getattr(t, "line", None) if where == self.where else line_of(self.doc, "tests")
        written = t
        if where != self.where:
            t = _ld(dict(t), line)
            asserts = [_ld(dict(a), line) for a in asserts]
        for k, combo in enumerate(combos):
            if per_combo:
                asserts = self.assertions(written, where, judge=judge, csv_row=csv_row,
                                          variables=combo)
                if where != self.where:
                    asserts = [_ld(dict(a), line) for a in asserts]
            case = _ld({"id": cid if len(combos) == 1 else f"{cid}.{k + 1}"}, line)
            if isinstance(t.get("description"), str):
                case["description"] = t["description"]
            if combo:
                case["vars"] = combo
                case.key_lines["vars"] = line_of(t, "vars") or line
            if "threshold" in t:
                case["threshold"] = t["threshold"]
                case.key_lines["threshold"] = line_of(t, "threshold") or line
            if asserts:
                case["assert"] = asserts
                case.key_lines["assert"] = line_of(t, "assert") or line
            self.cases.append(case)

    def load_json(self, combo: dict[str, Any], t: Mapping, where: str) -> dict[str, Any]:
        """The vars the prompts read with `| load`, parsed (promptfoo's filter is JSON.parse)."""
        out = dict(combo)
        for name in sorted(self.loaded):
            if name not in combo:
                continue
            value = combo[name]
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError as e:
                    self.fail(f"var {name}: the prompts parse it with `| load`, but it is not "
                              f"JSON: {e}", t, "vars", where=where)
            out[name + LOADED] = value
        return out

    def load_vars(self, vs: Mapping, where: str) -> dict[str, Any]:
        out = {}
        for k, v in vs.items():
            if isinstance(v, str) and v.startswith("file://"):
                if re.search(r"\.(py|js|ts)(:\w+)?$", v):
                    self.fail(f"var {k}: generated vars ({v}) are not supported", vs, k,
                              where=where)
                paths = self.paths(v, vs, k)
                texts = [self.read(p, vs, k) for p in paths]
                v = texts[0] if len(texts) == 1 and "*" not in v else texts
            out[k] = v
        return out

    def assertions(self, t: Mapping, where: str, judge: str | None = None,
                   csv_row: bool = False, variables: dict | None = None) -> list[LineDict]:
        raw = t.get("assert")
        if not isinstance(raw, list):
            self.fail("assert must be a list of assertions", t, "assert", where=where)
        out = []
        for j, a in enumerate(raw):
            line = getattr(a, "line", None) or line_of(t, "assert")
            if isinstance(a, Mapping) and "$ref" in a:
                a = self.ref(a["$ref"], where, line)
            if not isinstance(a, Mapping):
                self.fail(f"assert[{j}]: each assertion is a mapping with a type", where=where,
                          line=line)
            try:
                native = PA.convert(a, judge_spec=lambda p: self.provider_map.judge_spec(p)
                                    if p is not None else (judge or self.judge),
                                    read_text=lambda ref: self.read_one(ref, a, "value")[1],
                                    read_data=lambda ref: self.parse_data(
                                        *self.read_one(ref, a, "value"), a, "value"),
                                    note=self.note, csv_threshold=csv_row,
                                    render=None if variables is None else
                                    lambda code: _render(code, variables))
                A.parse_assertion(native)
            except ValueError as e:
                kind = a.get("type", "?")
                self.fail(f"assert[{j}] ({kind}): {e}", where=where, line=line)
            out.append(_ld(native, line))
        return out


    def ref(self, pointer: Any, where: str, line: int | None) -> Any:
        """`$ref: '#/assertionTemplates/name'`: a JSON pointer into this config."""
        if not isinstance(pointer, str) or not pointer.startswith("#/"):
            self.fail(f"$ref {pointer!r}: only references into this config (#/...) are "
                      "supported", where=where, line=line)
        node: Any = self.doc
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                self.fail(f"$ref {pointer!r} names nothing in the config", where=where,
                          line=line)
            node = node[part]
        return node


LOADED = "__load"    # `x | load` reads the var x + LOADED, which holds x parsed as JSON
_LOAD = re.compile(r"\b([A-Za-z_]\w*)\s*\|\s*load\b")


def nunjucks(text: str, loaded: set[str] | None = None) -> str:
    """promptfoo's Nunjucks as Jinja: the syntax is shared; `dump` is Jinja's `tojson`.
    promptfoo's own `load` filter (JSON.parse) on a var becomes a var of the parsed value,
    which the converter adds to each case (the names go into `loaded`)."""
    if loaded is not None:
        def parsed(m: re.Match) -> str:
            loaded.add(m.group(1))
            return m.group(1) + LOADED
        text = _LOAD.sub(parsed, text)
    if re.search(r"\|\s*load\b", text):
        raise PA.Unsupported("the Nunjucks filter 'load' is promptfoo's own; openpick maps it "
                             "on a var only (`{{ (var | load).field }}`); give the parsed "
                             "fields as separate vars")
    return re.sub(r"\|\s*dump\b", "| tojson", text)


def _templated_code(raw: Any) -> bool:
    """Whether a test's assertions hold inline python or javascript with {{vars}}."""
    return isinstance(raw, list) and any(
        isinstance(a, Mapping) and str(a.get("type", "")).removeprefix("not-")
        in ("python", "javascript") and isinstance(a.get("value"), str)
        and not a["value"].startswith("file://") and templating.is_template(a["value"])
        for a in raw)


def _render(code: str, variables: Mapping[str, Any]) -> str:
    try:
        return templating.render(nunjucks(code), variables)
    except templating.TemplateProblem as e:
        raise ValueError(str(e)) from None


def _text_parts(content: Any) -> Any:
    """Message content given as parts: text parts ({type: text, text}) joined; anything
    else (images, tool results) is left as it is, which the caller rejects."""
    if isinstance(content, list) and content and all(
            isinstance(c, Mapping) and c.get("type") == "text" and isinstance(c.get("text"), str)
            for c in content):
        return "\n".join(c["text"] for c in content)
    return content


def _as_chat(text: str) -> list | None:
    s = text.strip()
    if not s.startswith("["):
        return None
    try:
        data = json.loads(s)
    except ValueError:
        return None
    return data if isinstance(data, list) and all(isinstance(m, dict) for m in data) else None


def _cartesian(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """promptfoo's expansion: each list-valued var multiplies the cases."""
    keys = [k for k, v in variables.items() if isinstance(v, list)]
    if not keys:
        return [dict(variables)]
    combos = []
    for values in itertools.product(*(variables[k] for k in keys)):
        combos.append({**variables, **dict(zip(keys, values))})
    return combos


def _csv_rows(text: str, p: Path) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, start = [], 2
    try:
        for row in reader:
            row.pop(None, None)
            rows.append((start, {k: v or "" for k, v in row.items() if k is not None}))
            start = reader.line_num + 1
    except csv.Error as e:
        raise InvalidInput(f"not valid CSV: {e}", path=str(p), line=reader.line_num) from None
    return rows


def _ld(d: dict, line: int | None, key_lines: dict | None = None) -> LineDict:
    out = LineDict(d)
    out.line = line
    out.key_lines = dict(key_lines or {})
    return out


def convert(doc: Any, path: Path | None, base_dir: Path) -> LineDict:
    """The Format hook: a promptfoo config document → a native suite document."""
    return Converter(doc, path, base_dir).convert()


def convert_file(src: str | Path) -> LineDict:
    """Read a promptfoo config file and return its native suite document."""
    p = Path(src)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInput(f"cannot read: {e.strerror}", path=str(p)) from None
    try:
        doc = load(text)
    except YamlError as e:
        raise InvalidInput(e.problem, path=str(p), line=e.line) from None
    if not detect(doc) or not isinstance(doc, Mapping) or "cases" in doc or "data" in doc:
        raise InvalidInput("not a promptfoo config (no providers, targets, tests or "
                           "defaultTest)", path=str(p), line=1)
    return convert(doc, p, p.parent)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, s: str):
    style = "|" if "\n" in s and not any(c in s for c in "\r\t") and s == s.strip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(LineDict, lambda d, m: d.represent_dict(dict(m)))


def dump(doc: Mapping) -> str:
    """A native suite document as YAML text (block scalars for multi-line text)."""
    head = "# Converted from a promptfoo config by `openpick suite convert`.\n"
    # the written suite holds everything it read, so it lists no source files
    doc = {k: v for k, v in doc.items() if k != formats.SOURCE_FILES}
    return head + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                            width=100, default_flow_style=False)


def convert_to(src: str | Path, out: str | Path, *, force: bool = False) -> LineDict:
    """Convert a promptfoo config file into a native suite file at `out` (written
    atomically, after the text loads as a suite); refuses to overwrite without `force`."""
    from openpick.catalog.catalog import write_atomic
    from openpick.evals.suite import parse_suite

    src, out = Path(src), Path(out)
    if out.exists() and not force:
        raise InvalidInput(f"{out} exists; give --force to overwrite it")
    if out.resolve() == src.resolve():
        raise InvalidInput("the output would overwrite the promptfoo config itself")
    doc = convert_file(src)
    text = dump(doc)
    parse_suite(text, path=out, base_dir=out.parent)   # never write a suite that does not load
    try:
        write_atomic(out, text)
    except OSError as e:
        raise InvalidInput(f"cannot write: {e.strerror}", path=str(out)) from None
    return doc


FORMAT = formats.register(formats.Format("promptfoo", detect, convert))
