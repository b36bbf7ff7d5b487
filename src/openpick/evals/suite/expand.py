"""From a validated suite file to its items: defaults merged into each case, data rows
turned into cases, templates rendered, one item per case × prompt variant.

The schema (schema.py) has already checked every field's type; what is checked here spans
fields or needs the vars: a prompt or messages, duplicate ids, templates and missing vars,
prompt variants that must use `{{prompt}}`, assertions' values. Every error is an
InvalidInput naming the file, the field and the line, like the schema's.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpick.engines.base import Sampling
from openpick.errors import InvalidInput
from openpick.evals import assertions as A
from openpick.evals.suite import datafiles, templating
from openpick.evals.suite.model import Suite, SuiteItem, Variant
from openpick.evals.suite.schema import CaseBody, CaseSpec, DataEntry, Defaults, SuiteFile
from openpick.evals.suite.templating import TemplateProblem
from openpick.evals.suite.yamllines import line_of


class Expander:
    def __init__(self, path: Path | None, base_dir: Path, doc: Any, raw: bytes):
        self.path = path
        self.base_dir = base_dir
        self.doc = doc
        self.hasher = hashlib.sha256(raw)
        self.seen: dict[str, str] = {}   # case id → where first defined

    def fail(self, msg: str, field: str | None = None, line: int | None = None,
             path: Path | None = None):
        where = path if path is not None else self.path
        raise InvalidInput(f"{field}: {msg}" if field else msg,
                           path=str(where) if where else "<suite>", line=line)

    def render(self, source: str, variables: dict, field: str, line: int | None,
               path: Path | None = None) -> str:
        try:
            return templating.render(source, variables)
        except TemplateProblem as e:
            self.fail(str(e), field, line, path)

    def syntax(self, source: str, field: str, line: int | None) -> None:
        try:
            templating.check_syntax(source)
        except TemplateProblem as e:
            self.fail(str(e), field, line)

    # -- the suite -----------------------------------------------------------------------
    def suite(self, spec: SuiteFile) -> Suite:
        defaults = spec.defaults or Defaults()
        base_assert = self.assertions(defaults, "defaults", self.raw("defaults"))
        variants = self.variants(spec)
        items: list[SuiteItem] = []
        for i, case in enumerate(spec.cases or []):
            raw = self.raw("cases", i)
            items += self.case(case, raw, defaults, base_assert, variants, f"cases[{i}]",
                               default_id=f"case-{i + 1}")
        for i, entry in enumerate(spec.data or []):
            items += self.data_entry(entry, i, defaults, base_assert, variants)
        if not items:
            self.fail("the suite has no cases (give `cases:` or `data:`)", None, 1)
        name = spec.name or (self.path.stem if self.path else "suite")
        return Suite(name=name, description=(spec.description or "").strip(), path=self.path,
                     models=list(spec.models or []), variants=variants,
                     hash=self.hasher.hexdigest(), _items=items)

    def raw(self, *loc: Any) -> Any:
        node = self.doc
        for part in loc:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    def variants(self, spec: SuiteFile) -> list[Variant]:
        out: list[Variant] = []
        for i, v in enumerate(spec.prompts or []):
            fld, raw = f"prompts[{i}]", self.raw("prompts", i)
            line = getattr(raw, "line", None) or line_of(self.doc, "prompts")
            if v.id in {x.id for x in out}:
                self.fail(f"duplicate prompt variant id '{v.id}'", f"{fld}.id",
                          line_of(raw, "id") or line)
            if (v.template is None) == (v.messages is None):
                self.fail("give exactly one of template or messages", fld, line)
            messages = None
            if v.template is not None:
                self.syntax(v.template, f"{fld}.template", line_of(raw, "template") or line)
            else:
                for k, m in enumerate(v.messages):
                    self.syntax(m.content, f"{fld}.messages[{k}].content", line)
                messages = tuple((m.role, m.content) for m in v.messages)
            if v.system is not None:
                self.syntax(v.system, f"{fld}.system", line_of(raw, "system") or line)
            out.append(Variant(v.id, v.template, messages, v.system))
        return out

    # -- one case ------------------------------------------------------------------------
    def assertions(self, m: CaseBody | Defaults, fld: str, raw: Any,
                   path: Path | None = None) -> list[tuple]:
        """Parsed (not yet templated) assertions with their field and line."""
        out = []
        for j, r in enumerate(m.assert_ or []):
            f = f"{fld}.assert[{j}]"
            line = getattr(r, "line", None) or line_of(raw, "assert")
            try:
                out.append((A.parse_assertion(r), f, line, path))
            except ValueError as e:
                self.fail(str(e), f, line, path)
        return out

    def case(self, case: CaseBody, raw: Any, defaults: Defaults, base_assert: list[tuple],
             variants: list[Variant], fld: str, default_id: str,
             row: datafiles.Row | None = None, row_path: Path | None = None) -> list[SuiteItem]:
        """Render one case into items: a YAML case, or a data entry merged with one row.

        The case's own fields live in the suite file (errors name its lines); a data row's
        parts (vars, id, tags, expected, prompt) name the row."""
        path = self.path
        case_line = getattr(raw, "line", None)

        def at(key: str) -> int | None:
            return line_of(raw, key)

        rpath, rline = (row_path, row.line) if row else (path, case_line)
        cid = (row.id if row and row.id is not None else None) \
            or getattr(case, "id", None) or default_id
        where = f"{rpath or '<suite>'}:{rline}"
        if cid in self.seen:
            msg = f"duplicate case id '{cid}' (first defined at {self.seen[cid]})"
            if row:
                self.fail(msg, f"{row.label}.id", rline, rpath)
            self.fail(msg, f"{fld}.id", at("id"), path)
        self.seen[cid] = where

        variables = {**(case.vars or {}), **(row.vars if row else {})}
        tags = list(dict.fromkeys([*(case.tags or []), *(row.tags if row else [])]))
        threshold = case.threshold if "threshold" in case.model_fields_set else defaults.threshold
        description = (row.description if row and row.description is not None
                       else getattr(case, "description", None))
        sampling = Sampling(**{**defaults.sampling(), **case.sampling()})
        system_src = case.system if "system" in case.model_fields_set else defaults.system
        choice = self.choices(case, variables, fld, at, row, rpath) \
            if case.choices is not None or case.answer is not None \
            or case.choice_prefix is not None else None
        # a choices case scores raw text unless it is written as a chat
        implicit = "chat" if choice is None or system_src or case.messages else "completion"
        mode = case.mode or defaults.mode or implicit

        # assertions: defaults first, then the case's (or data entry's), then __expected;
        # a choices case is graded by its answer alone
        parsed = [] if choice else list(base_assert) + self.assertions(case, fld, raw)
        if row and row.has_expected and not choice:
            parsed.append((A.parse_assertion({"equals": row.expected}),
                           f"{row.label}.__expected", rline, rpath))
        assertions = [self.assertion(a, variables, f, line, p) for a, f, line, p in parsed]

        # the prompt source: a row's __prompt wins over the entry's prompt / messages
        if row and row.prompt is not None:
            prompt_src, p_fld, p_line, p_path = row.prompt, f"{row.label}.__prompt", rline, rpath
            has_messages = False
        else:
            prompt_src, p_fld, p_line, p_path = case.prompt, f"{fld}.prompt", at("prompt"), path
            has_messages = case.messages is not None
            if prompt_src is not None and has_messages:
                self.fail("give prompt or messages, not both", fld, case_line, path)

        base_system = None
        if system_src:
            base_system = self.render(system_src, variables, f"{fld}.system", at("system"))
        renders: list[tuple[str, str | None, list[dict] | None, str | None]] = []
        if not variants:
            if prompt_src is None and not has_messages:
                self.fail("needs a prompt or messages (or a suite-level `prompts:` list)",
                          fld, case_line, path)
            if has_messages:
                mline = at("messages")
                rendered = [{"role": m.role, "content": self.render(
                    m.content, variables, f"{fld}.messages[{k}].content", mline)}
                    for k, m in enumerate(case.messages)]
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
                if own is not None and not _uses_prompt(v):
                    self.fail(f"prompt variant '{v.id}' does not use {{{{prompt}}}}, so this "
                              "case's own prompt would be dropped", p_fld, p_line, p_path)
                vvars = dict(variables) if own is None else {**variables, "prompt": own}
                vfld = f"{fld} (prompt variant '{v.id}')"
                text, msgs = None, None
                if v.template is not None:
                    text = self.render(v.template, vvars, vfld, case_line)
                else:
                    msgs = [{"role": r, "content": self.render(c, vvars, vfld, case_line)}
                            for r, c in v.messages]
                # the case's own system prompt wins, then the variant's, then the defaults'
                system = base_system
                if v.system is not None and "system" not in case.model_fields_set:
                    system = self.render(v.system, vvars, f"{vfld}.system", case_line)
                renders.append((v.id, text, msgs, system))

        items = []
        for vid, text, msgs, system in renders:
            messages, prompt = self.assemble(mode, system, text, msgs, fld, case_line)
            items.append(SuiteItem(
                case_id=cid, variant=vid, messages=messages, prompt=prompt, sampling=sampling,
                assertions=assertions, tags=list(tags), weight=float(case.weight),
                threshold=threshold, vars=dict(variables), description=description,
                source=where, spec=case, **(choice or {})))
        return items

    def choices(self, case: CaseBody, variables: dict, fld: str, at, row: datafiles.Row | None,
                rpath: Path | None) -> dict:
        """A multiple-choice case's choices (templated with the vars), the index of its
        answer (an index, or a choice's text; a data row's __expected counts as answer) and
        the prefix put before each choice."""
        if case.choices is None:
            key = "answer" if case.answer is not None else "choice_prefix"
            self.fail("needs `choices:` (the answers to score)", f"{fld}.{key}", at(key))
        if case.assert_:
            self.fail("a choices case is graded by its answer; it takes no assert",
                      f"{fld}.assert", at("assert"))
        line = at("choices")
        texts = []
        for k, c in enumerate(case.choices):
            try:
                texts.append(str(templating.render_value(c, variables)))
            except TemplateProblem as e:
                self.fail(str(e), f"{fld}.choices[{k}]", line)
        for k, t in enumerate(texts):
            if not t.strip():
                self.fail("a choice is empty", f"{fld}.choices[{k}]", line)
            if t in texts[:k]:
                self.fail(f"choice {t!r} is listed twice", f"{fld}.choices[{k}]", line)
        answer, a_fld, a_line, a_path = case.answer, f"{fld}.answer", at("answer"), self.path
        if row and row.has_expected and answer is None:
            answer, a_fld, a_line, a_path = row.expected, f"{row.label}.__expected", row.line, rpath
        if answer is None:
            self.fail("needs `answer:` (the right choice: its index from 0, or its text)",
                      fld, at("choices"))
        if isinstance(answer, str):
            try:
                answer = templating.render_value(answer, variables)
            except TemplateProblem as e:
                self.fail(str(e), a_fld, a_line, a_path)
        index = _answer_index(answer, texts)
        if index is None:
            self.fail(f"answer {answer!r} is not one of the choices (give a choice's text or "
                      f"its index from 0 to {len(texts) - 1})", a_fld, a_line, a_path)
        prefix = " " if case.choice_prefix is None else case.choice_prefix
        return {"choices": texts, "answer": index, "choice_prefix": prefix}

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

    def assertion(self, a: A.Assertion, variables: dict, fld: str, line: int | None,
                  path: Path | None) -> A.Assertion:
        if A.REGISTRY[a.base].templated:
            try:
                a = replace(a, value=templating.render_value(a.value, variables),
                            options=templating.render_value(dict(a.options), variables))
            except TemplateProblem as e:
                self.fail(str(e), fld, line, path)
        try:
            return A.validate(a, self.base_dir)
        except ValueError as e:
            self.fail(str(e), fld, line, path)

    # -- data files ----------------------------------------------------------------------
    def data_entry(self, entry: DataEntry, i: int, defaults: Defaults, base_assert: list[tuple],
                   variants: list[Variant]) -> list[SuiteItem]:
        fld, raw = f"data[{i}]", self.raw("data", i)
        line = line_of(raw, "file") or line_of(self.doc, "data")
        name = entry.file
        fpath = Path(name) if Path(name).is_absolute() else self.base_dir / name
        if fpath.suffix.lower() not in datafiles.SUFFIXES:
            self.fail(f"unsupported data file type '{fpath.suffix}' (use .csv or .jsonl)",
                      f"{fld}.file", line)
        try:
            data = fpath.read_bytes()
        except OSError as e:
            self.fail(f"cannot read data file {name}: {e.strerror}", f"{fld}.file", line)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.fail(f"data file {name} is not UTF-8 text", f"{fld}.file", line)
        self.hasher.update(name.encode() + b"\0" + data)
        rows = datafiles.read_rows(fpath, text)
        items: list[SuiteItem] = []
        for row in rows:
            try:
                items += self.case(entry, raw, defaults, base_assert, variants, fld,
                                   default_id=f"{Path(name).name}:{row.number}",
                                   row=row, row_path=fpath)
            except InvalidInput as e:
                # errors from the entry's own fields belong to the suite file; say which row
                if e.path == str(fpath):
                    raise
                raise InvalidInput(f"{e.message} (data row {row.number} of {name})",
                                   path=e.path, line=e.line) from None
        if not items:
            self.fail(f"data file {name} has no rows", f"{fld}.file", line)
        return items


def _answer_index(answer: Any, choices: list[str]) -> int | None:
    """An int is an index; a text is a choice, or else digits that make an index (a CSV
    column holds "2" for 2)."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int):
        return answer if 0 <= answer < len(choices) else None
    text = str(answer)
    if text in choices:
        return choices.index(text)
    if text.strip() in choices:
        return choices.index(text.strip())
    if text.strip().isdigit() and int(text) < len(choices):
        return int(text)
    return None


def _uses_prompt(v: Variant) -> bool:
    sources = [v.template] if v.template is not None else [c for _, c in v.messages]
    return any(templating.uses_var(s, "prompt") for s in sources)


__all__ = ["CaseSpec", "Expander"]
