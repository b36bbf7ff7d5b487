"""`choice`: the output picks the expected multiple-choice letter.

The letter is read from, in order: an explicit "answer is B" / "Answer: (B)"; an output
that is only a letter or starts with one ("B", "(B)", "B) Paris", "B. Paris", "B: ...");
a single distinct "(X)" in the text. `choices` (default "ABCDE") limits the letters, so a
leading article "A" is read as a choice only when A is one. Case-insensitive only for an
output that is a lone letter; elsewhere capitals are required, so the word "a" is no choice.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register


def read_choice(output: str, letters: str = "ABCDE") -> str | None:
    text = output.strip().replace("*", "")
    cls = f"[{re.escape(letters)}]"
    m = re.search(rf"\banswer\b(?:\s+is)?\s*[:=]?\s*\(?({cls})\b", text, re.IGNORECASE)
    if m and m.group(1).upper() in letters:
        return m.group(1).upper()
    lone = re.fullmatch(r"\(?([A-Za-z])\)?[.:]?", text)
    if lone and lone.group(1).upper() in letters:
        return lone.group(1).upper()
    m = re.match(rf"\(?({cls})(?:[\).:]|\s|$)", text)
    if m:
        return m.group(1)
    inside = set(re.findall(rf"\(({cls})\)", text))
    if len(inside) == 1:
        return inside.pop()
    return None


def _prepare(a: Assertion, base_dir: Path | None) -> Assertion:
    letters = str(a.options.get("choices", "ABCDE")).upper()
    if not re.fullmatch(r"[A-Z]+", letters):
        raise ValueError(f"{a.type}: choices must be capital letters such as ABCD")
    want = str(a.value).strip().upper()
    if len(want) != 1 or want not in letters:
        raise ValueError(f"{a.type}: expected one letter of {letters}, got {a.value!r}")
    return replace(a, value=want, prepared=letters)


@register("choice", options=("choices",), validate=_prepare)
def choice(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    got = read_choice(output, a.prepared)
    if got is None:
        return Outcome(False, f"no choice letter found (expected {a.value})")
    ok = got == a.value
    return Outcome(ok, f"chose {got}" + ("" if ok else f", expected {a.value}"))
