"""What a loaded suite is: typed items, one per case × prompt variant, ready to send and
grade. The runner takes these and nothing else."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from openpick.engines.base import Message, Request, Sampling, ScoreRequest
from openpick.errors import NotFound
from openpick.evals import assertions as A
from openpick.store.records import Grade


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
    messages: list[dict[str, str]] | None
    prompt: str | None
    sampling: Sampling = field(default_factory=Sampling)
    assertions: list[A.Assertion] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    weight: float = 1.0
    threshold: float | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    source: str | None = None      # "file:line" where the case was written
    # A multiple-choice case: the model scores each `choice_prefix + choice` after the
    # prompt (or messages) instead of generating; `answer` is the right choice's index.
    choices: list[str] | None = None
    answer: int | None = None
    choice_prefix: str = " "
    # The case (or data entry) as written and validated (schema.CaseBody): a field added
    # there is readable here with no other change.
    spec: Any = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.case_id, self.variant)

    @property
    def input(self) -> list[dict[str, str]] | str:
        """What CaseResult.input stores: the messages, or the plain prompt."""
        return [dict(m) for m in self.messages] if self.messages is not None else self.prompt

    def params(self) -> dict[str, Any]:
        """Generation parameters, as keyword arguments of engines.base.Request."""
        return self.sampling.params()

    def request(self, seed: int | None = None) -> Request:
        """The engine request; `seed` applies when the case did not fix its own."""
        params = self.params()
        if params["seed"] is None and seed is not None:
            params["seed"] = seed
        if self.messages is not None:
            return Request(messages=[Message(**m) for m in self.messages], **params)
        return Request(prompt=self.prompt, **params)

    def continuations(self) -> list[str]:
        """What the model scores after the context: each choice with its prefix."""
        return [self.choice_prefix + c for c in self.choices or []]

    def score_request(self) -> ScoreRequest:
        """The engine scoring request of a choices case (its context and continuations)."""
        context = self.prompt if self.messages is None else [Message(**m) for m in self.messages]
        return ScoreRequest(context=context, continuations=self.continuations())

    def request_kwargs(self) -> dict[str, Any]:
        """Everything `engines.base.Request(**kw)` needs."""
        inp = {"messages": self.input} if self.messages is not None else {"prompt": self.prompt}
        return {**inp, **self.params()}

    def case_dict(self) -> dict[str, Any]:
        """What a user `python` check (and a judge) receives as `case`."""
        out = {"id": self.case_id, "variant": self.variant, "vars": dict(self.vars),
               "tags": list(self.tags), "prompt": self.prompt,
               "messages": None if self.messages is None else self.input,
               "description": self.description}
        if self.choices is not None:
            out.update(choices=list(self.choices), answer=self.answer)
        return out

    def context(self, result: Any = None, *, cost_usd: float | None = None,
                judge=None) -> A.GradeContext:
        """A GradeContext for this item from an engine Result (or CaseResult)."""
        return A.GradeContext.from_result(self.case_dict(), result, cost_usd=cost_usd,
                                          judge=judge)

    def grade(self, output: str, context: A.GradeContext | None = None) -> Grade:
        ctx = context if context is not None else A.GradeContext(case=self.case_dict())
        if not ctx.case:
            ctx.case = self.case_dict()
        if not self.assertions:
            return Grade(passed=True, score=1.0, assertions=[])
        return A.grade(self.assertions, output, ctx, threshold=self.threshold)

    def judge_model(self) -> str | None:
        """A `judge` assertion may name its judge model (`model: qwen2.5-coder-0.5b`)."""
        for a in self.assertions:
            if a.base == "judge" and a.options.get("model"):
                return a.options["model"]
        return None

    def fingerprint(self) -> dict[str, Any]:
        """What the model is asked and how its answer is graded (for the suite hash)."""
        out = {"id": self.case_id, "variant": self.variant, "input": self.input,
               "params": self.params(), "tags": self.tags, "threshold": self.threshold,
               "weight": self.weight,
               "assertions": [a.fingerprint() for a in self.assertions]}
        if self.choices is not None:  # only then, so other suites keep their hashes
            out.update(choices=self.choices, answer=self.answer, prefix=self.choice_prefix)
        return out


def items_hash(items: list[SuiteItem]) -> str:
    """Content hash of what the models are asked and how answers are graded: the same
    items find the same run to resume; a changed case is a changed suite."""
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps(it.fingerprint(), sort_keys=True, default=repr).encode())
    return h.hexdigest()


@dataclass
class Suite:
    name: str
    description: str
    path: Path | None
    models: list[str]
    variants: list[Variant]
    hash: str                      # of the file and its data files, as bytes
    _items: list[SuiteItem]
    # What its numbers can be compared with (a standard benchmark says whether published
    # scores are comparable); reports show it. None for native suites: nothing to say.
    notes: str | None = None

    @classmethod
    def of(cls, items: list[SuiteItem], name: str = "suite", *, description: str = "",
           models: list[str] | None = None, notes: str | None = None) -> Suite:
        """A suite built in Python from items (no file)."""
        return cls(name=name, description=description, path=None, models=list(models or []),
                   variants=[], hash=items_hash(items), _items=list(items), notes=notes)

    def head(self, n: int) -> Suite:
        """The first `n` cases (each with all its variants), in suite order: a different
        suite (its hash is of these items), whose notes say it is only a part."""
        ids = self.case_ids
        if n >= len(ids):
            return self
        keep = set(ids[:n])
        items = [i for i in self._items if i.case_id in keep]
        notes = self.notes and (f"Only the first {n} of {len(ids)} cases ran (--limit {n}): "
                                f"NOT comparable with scores over the whole set. {self.notes}")
        return replace(self, hash=items_hash(items), _items=items, notes=notes)

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
