"""The suite file's shape as pydantic models (`extra="forbid"`, strict types).

Each field is declared once, with the one-line message a user sees when it is wrong
(`msg`); `validate_file` maps pydantic's errors onto the file, the field path
(`cases[2].max_tokens`) and the line, in one place. Meaning that spans fields (a prompt or
messages, variants that must use `{{prompt}}`, duplicate ids, templates) is checked when the
cases are expanded (expand.py), with the same kind of error.

A new case field is one line in `CaseBody` (every case and data entry takes it) or
`Shared` (defaults too); a new generation parameter is one line in `engines.base.Sampling`.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, \
    model_validator

from openpick.engines.base import Sampling
from openpick.errors import InvalidInput
from openpick.evals.suite.yamllines import locate


def F(default: Any = None, msg: str | None = None, **kw) -> Any:
    """A field with the message shown when its value is wrong ({value!r} is the value)."""
    return Field(default, json_schema_extra={"msg": msg} if msg else None, **kw)


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True,
                              arbitrary_types_allowed=True)
    shape_msg: ClassVar[str] = "must be a mapping"
    # True: a missing or unknown key is reported as `shape_msg` ({role, content} messages)
    closed_shape: ClassVar[bool] = False


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


# -- generation parameters: Sampling's fields, each optional (None = inherit) -----------

def _overrides(model: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for name, f in model.model_fields.items():
        ann = Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation
        out[name] = (ann | None, F(None, f"invalid value {{value!r}} ({f.description})"))
    return out


_SamplingOverrides = create_model("_SamplingOverrides", __base__=Spec, **_overrides(Sampling))


class Shared(_SamplingOverrides):
    """Fields that `defaults:` and every case (and data entry) take."""

    system: str | None = F(None, "invalid value {value!r} (a string)")
    mode: Literal["chat", "completion"] | None = F(None, "invalid value {value!r} (chat or completion)")
    threshold: float | None = F(None, "must be a number between 0 and 1, got {value!r}",
                                ge=0, le=1, allow_inf_nan=False)
    assert_: list[Any] | None = F(None, "must be a list of assertions", alias="assert")

    @field_validator("stop", mode="before")
    @classmethod
    def _stop(cls, v: Any) -> Any:
        v = _listify(v)
        if isinstance(v, list) and not all(isinstance(s, str) and s for s in v):
            raise ValueError("stop strings must be non-empty strings")
        return v

    @field_validator("assert_", mode="before")
    @classmethod
    def _one_assertion(cls, v: Any) -> Any:
        return [v] if isinstance(v, (Mapping, str)) else v

    def sampling(self) -> dict[str, Any]:
        """The generation parameters this mapping sets."""
        return {k: getattr(self, k) for k in Sampling.model_fields if k in self.model_fields_set
                and getattr(self, k) is not None}


class Defaults(Shared):
    pass


class MessageSpec(Spec):
    shape_msg: ClassVar[str] = "each message is {role: ..., content: ...}"
    closed_shape: ClassVar[bool] = True
    role: Literal["system", "user", "assistant"] = F(
        ..., "role must be one of system, user, assistant, got {value!r}")
    content: str = F(..., "content must be a string")


Messages = Annotated[list[MessageSpec], Field(min_length=1)]


class CaseBody(Shared):
    """Fields of a case that a data entry (whose rows become cases) takes as well."""

    prompt: str | None = F(None, "must be a string")
    messages: Messages | None = F(None, "must be a non-empty list of {role, content}")
    vars: dict[str, Any] | None = F(None, "must be a mapping of names to values")
    tags: list[str] | None = F(None, "must be a list of strings")
    weight: float = F(1.0, "must be a number >= 0, got {value!r}", ge=0, allow_inf_nan=False)
    choices: Annotated[list[str], Field(min_length=2)] | None = F(
        None, "must be a list of two or more texts (the answers scored by likelihood)")
    answer: int | str | None = F(None, "must be the right choice: its index (from 0) or its text")
    choice_prefix: str | None = F(None, "must be a string (put between the prompt and each "
                                  "choice; default one space)")

    @field_validator("tags", mode="before")
    @classmethod
    def _one_tag(cls, v: Any) -> Any:
        return _listify(v)

    @field_validator("choices", mode="before")
    @classmethod
    def _choice_texts(cls, v: Any) -> Any:
        # `choices: [1, 2, 3]` means the texts "1", "2", "3"
        if isinstance(v, list):
            return [str(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x
                    for x in v]
        return v


class CaseSpec(CaseBody):
    shape_msg: ClassVar[str] = "each case is a mapping with id, prompt, assert, ..."
    id: str | None = F(None, "id must be a non-empty string")
    description: str | None = F(None, "must be a string")

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        if isinstance(v, str) and not v.strip():
            raise ValueError("empty id")
        return v


class DataEntry(CaseBody):
    shape_msg: ClassVar[str] = "each data entry is {file: rows.csv, ...}"
    file: str = F(..., "needs `file:` (a CSV or JSONL file)", min_length=1)


class VariantSpec(Spec):
    shape_msg: ClassVar[str] = "a variant is {id: ..., template: ...}"
    id: str = F(..., "a variant needs an id (a string)", min_length=1)
    template: str | None = F(None, "must be a string")
    messages: Messages | None = F(None, "must be a non-empty list of {role, content}")
    system: str | None = F(None, "must be a string")


class SuiteFile(Spec):
    shape_msg: ClassVar[str] = "a suite is a YAML mapping with at least `cases:` or `data:`"
    name: str | None = F(None, "must be a string")
    description: str | None = F(None, "must be a string")
    defaults: Defaults | None = F(None, "must be a mapping")
    models: list[Annotated[str, Field(min_length=1)]] | None = F(
        None, "must be a list of model names or specs")
    prompts: Annotated[list[VariantSpec], Field(min_length=1)] | None = F(
        None, "must be a non-empty list of prompt variants")
    cases: list[CaseSpec] | None = F(None, "must be a list of cases")
    data: list[DataEntry] | None = F(None, "must be a list such as [{file: rows.csv}]")

    @model_validator(mode="before")
    @classmethod
    def _extensions(cls, v: Any) -> Any:
        # `x-` keys are free-form (to hold YAML anchors that cases reuse)
        if isinstance(v, Mapping):
            return {k: x for k, x in v.items() if not (isinstance(k, str) and k.startswith("x-"))}
        return v

    @field_validator("prompts", mode="before")
    @classmethod
    def _short_variants(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"id": f"v{i + 1}", "template": x} if isinstance(x, str) else x
                    for i, x in enumerate(v)]
        return v

    @field_validator("data", mode="before")
    @classmethod
    def _short_entries(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"file": x} if isinstance(x, str) else x for x in v]
        return v


# -- errors: pydantic's, said once with file, field and line ---------------------------

def validate_file(doc: Any, path: Path | None) -> SuiteFile:
    where = str(path) if path else "<suite>"
    if not isinstance(doc, Mapping):
        raise InvalidInput(SuiteFile.shape_msg, path=where, line=1)
    try:
        return SuiteFile.model_validate(doc)
    except ValidationError as e:
        problems = [_explain(err, doc) for err in e.errors()]
        problems.sort(key=lambda p: (p[2] or 0, p[3]))  # the first one in the file
        fld, msg, line, _ = problems[0]
        raise InvalidInput(f"{fld}: {msg}" if fld else msg, path=where, line=line) from None


def _fields(model: type[BaseModel]) -> dict[str, tuple[str, Any]]:
    """Field aliases (as written in YAML) → (attribute name, FieldInfo)."""
    return {(f.alias or n): (n, f) for n, f in model.model_fields.items()}


def _inner(annotation: Any) -> tuple[type[BaseModel] | None, type[BaseModel] | None]:
    """(model, list-element model) inside a field's annotation, unwrapping Optional and
    Annotated."""
    ann = annotation
    while True:
        origin = typing.get_origin(ann)
        if origin is Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[0] if len(args) == 1 else ann
            if len(args) != 1:
                return None, None
        else:
            break
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, None
    if typing.get_origin(ann) is list:
        (elem,) = typing.get_args(ann) or (Any,)
        elem_model, _ = _inner(elem)
        return None, elem_model
    return None, None


def _path(loc: tuple) -> str:
    out = ""
    for p in loc:
        if not isinstance(p, int):
            p = _key_text(p)
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _key_text(key: Any) -> str:
    """A mapping key as an error message shows it: as written when it is printable, else its
    repr (a key holding a newline must not break the one-line message)."""
    text = str(key)
    return text if text.isprintable() and len(text) <= 80 else _short_repr(text)


def _explain(err: dict, doc: Any) -> tuple[str, str, int | None, int]:
    """(field path, message, line, priority) for one pydantic error."""
    loc, kind = tuple(err["loc"]), err["type"]
    model: type[BaseModel] | None = SuiteFile
    owner, owner_end = SuiteFile, 0          # the model the error is inside, and its loc length
    field, field_end = None, 0
    list_model = None
    entered_at_end = False
    for i, part in enumerate(loc):
        if model is not None and part in _fields(model):
            field, field_end = _fields(model)[part][1], i + 1
            model, list_model = _inner(field.annotation)
            if model is not None:
                owner, owner_end, entered_at_end = model, i + 1, i + 1 == len(loc)
        elif list_model is not None and isinstance(part, int):
            owner, owner_end, field = list_model, i + 1, None
            model, list_model, entered_at_end = list_model, None, i + 1 == len(loc)
        else:
            break

    if kind == "extra_forbidden" or (kind == "missing" and owner_end == len(loc) - 1):
        key, where = loc[-1], loc[:-1]
        _, line = locate(doc, loc if kind == "extra_forbidden" else where)
        if owner.closed_shape:
            return _path(where), owner.shape_msg, line, 1
        if kind == "missing":
            fmsg = _msg(_fields(owner)[key][1])
            return _path(loc), _fill(fmsg, None) if fmsg else "is required", line, 1
        allowed = sorted(_fields(owner))
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        shown = _key_text(key)
        shown = shown if shown.startswith(("'", '"')) else f"'{shown}'"
        return (_path(where) or "suite",
                f"unknown field {shown}{hint}; allowed: {', '.join(allowed)}", line, 0)

    if entered_at_end and field is None:   # a list element that is not a mapping
        _, line = locate(doc, loc)
        return _path(loc), owner.shape_msg, line, 2
    if field is not None:
        fmsg = _msg(field)
        floc = loc[:field_end]
        value, line = locate(doc, floc)
        if fmsg:
            return _path(floc), _fill(fmsg, value), line, 2
        _, line = locate(doc, loc)
        return _path(loc), _pydantic_msg(err), line, 2
    _, line = locate(doc, loc)
    return _path(loc), _pydantic_msg(err), line, 2


def _msg(field: Any) -> str | None:
    extra = field.json_schema_extra
    return extra.get("msg") if isinstance(extra, dict) else None


def _fill(msg: str, value: Any) -> str:
    return msg.replace("{value!r}", _short_repr(value))


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _pydantic_msg(err: dict) -> str:
    msg = err["msg"]
    return msg.removeprefix("Value error, ")
