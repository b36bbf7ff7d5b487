"""`judge`: a model grades the output against a rubric, and its reasoning is kept.

    assert:
      - judge: "Explains recursion with an example, in at most three sentences."
        threshold: 0.7     # score needed to pass, 0..1 (default 0.5)
        model: qwen2.5-coder-0.5b   # optional: which judge; the runner resolves it

The runner injects `context.judge`, a callable prompt → text (the judge model at
temperature 0). The judge is asked for brief reasoning and a final `SCORE: N` from 0 to
10. Parsing accepts, from most to least explicit: `SCORE: N` (or `N/10`, `N out of 10`),
then a verdict word (PASS/FAIL, YES/NO). Small judges are noisy: treat their scores as
a hint, and prefer deterministic assertions where the task allows.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register

PROMPT = """You are grading an AI assistant's answer against a rubric.

[Task given to the assistant]
{task}

[Assistant's answer]
{output}
{note}
[Rubric]
{rubric}

Think briefly about whether the answer meets the rubric. Then end with one line of the form
SCORE: N
where N is an integer from 0 (does not meet the rubric at all) to 10 (fully meets it)."""

TRUNCATED_NOTE = """[Note]
The answer above was truncated: it was cut off at the token limit (max_tokens) before the
assistant finished. Grade only what is there; do not assume what the missing part says."""

_SCORE = re.compile(r"\bscore\b\s*[:=]?\s*\**\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+)|out of\s*(\d+))?",
                    re.IGNORECASE)
_FRACTION = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:/|out of)\s*(10|5|100)\b", re.IGNORECASE)
_VERDICT = re.compile(r"\b(pass(?:es|ed)?|fail(?:s|ed)?|yes|no)\b", re.IGNORECASE)


def parse_score(text: str) -> float | None:
    """A 0..1 score from a judge's reply, or None when it gave none."""
    hits = list(_SCORE.finditer(text))
    if hits:
        m = hits[-1]
        value = float(m.group(1))
        scale = float(m.group(2) or m.group(3) or 10)
        return _clip(value / scale) if scale else None
    hits = list(_FRACTION.finditer(text))
    if hits:
        m = hits[-1]
        return _clip(float(m.group(1)) / float(m.group(2)))
    words = _VERDICT.findall(text[-200:])
    if words:
        w = words[-1].lower()
        return 1.0 if w.startswith("pass") or w == "yes" else 0.0
    return None


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


def _task(case: dict) -> str:
    if case.get("prompt"):
        return str(case["prompt"])
    users = [m["content"] for m in case.get("messages") or [] if m.get("role") == "user"]
    return users[-1] if users else "(not given)"


def _prepare(a: Assertion, base_dir: Path | None) -> Assertion:
    if not isinstance(a.value, str) or not a.value.strip():
        raise ValueError(f"{a.type}: value must be the rubric text")
    threshold = a.options.get("threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not 0 <= threshold <= 1:
        raise ValueError(f"{a.type}: threshold must be a number between 0 and 1")
    model = a.options.get("model")
    if model is not None and not isinstance(model, str):
        raise ValueError(f"{a.type}: model must be a model name")
    return replace(a, prepared=float(threshold))


@register("judge", options=("threshold", "model"), validate=_prepare, negatable=False)
def judge(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    if ctx.judge is None:
        return Outcome(False, "no judge model was given (openpick compare --judge MODEL)")
    # an answer the engine stopped at max_tokens is said to be cut, so it is not read as finished
    note = f"\n{TRUNCATED_NOTE}\n" if ctx.finish_reason == "length" else ""
    prompt = PROMPT.format(task=_task(ctx.case), output=output, rubric=a.value, note=note)
    reply = ctx.judge(prompt)
    score = parse_score(reply)
    detail = {"reasoning": reply, "model": a.options.get("model")}
    if score is None:
        return Outcome(False, "the judge gave no score", 0.0, detail)
    ok = score >= a.prepared
    return Outcome(ok, f"judge scored {score * 10:.1f}/10 (pass at {a.prepared * 10:.1f})",
                   score, detail)
