"""Multiple choice by log-likelihood: which choice a model picks, and how that is graded.

The model scores every choice as a continuation of the case's prompt (engines'
`loglikelihood`); nothing is generated. Two picks, as lm-evaluation-harness reports them:

- acc: the choice with the highest summed log probability. This is the pass/fail: a case
  passes when it picks the answer.
- acc_norm: the highest log probability per character of the choice (lm-eval divides by
  the choice text's length), which does not favour short choices. Reported in the detail.

The grade's one assertion (type "choice") holds every choice's numbers (log probability,
tokens, characters, greedy or not), so anyone can recompute both picks from the stored run.
"""

from __future__ import annotations

from openpick.engines.base import ChoiceScore
from openpick.evals.suite.model import SuiteItem
from openpick.store.records import AssertionResult, Grade


def pick(scores: list[ChoiceScore]) -> int:
    """acc's pick: the highest summed log probability (the first one on a tie)."""
    return max(range(len(scores)), key=lambda i: (scores[i].logprob, -i))


def pick_norm(scores: list[ChoiceScore], choices: list[str]) -> int:
    """acc_norm's pick: the highest log probability per character of the choice."""
    return max(range(len(scores)),
               key=lambda i: (scores[i].logprob / max(1, len(choices[i])), -i))


def grade(item: SuiteItem, scores: list[ChoiceScore]) -> Grade:
    choices = item.choices or []
    if len(scores) != len(choices):
        raise ValueError(f"{len(scores)} scores for {len(choices)} choices")
    chosen, chosen_norm = pick(scores), pick_norm(scores, choices)
    ok = chosen == item.answer
    detail = {
        "metric": "acc", "answer": item.answer, "chosen": chosen, "chosen_norm": chosen_norm,
        "acc": float(ok), "acc_norm": float(chosen_norm == item.answer),
        "prefix": item.choice_prefix,
        "choices": [{"text": c, "logprob": s.logprob, "tokens": s.tokens, "chars": len(c),
                     "is_greedy": s.is_greedy} for c, s in zip(choices, scores)],
    }
    reason = f"chose {_short(choices[chosen])!r}"
    reason += " (the answer)" if ok else f"; the answer is {_short(choices[item.answer])!r}"
    if chosen_norm != chosen:
        reason += f"; by logprob per character: {_short(choices[chosen_norm])!r}"
    return Grade(passed=ok, score=float(ok), assertions=[AssertionResult(
        type="choice", passed=ok, score=float(ok), reason=reason, detail=detail)])


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."
