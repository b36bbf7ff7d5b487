"""Training data for `openpick tune`: read, check, split, fingerprint, and leak-check.

Two row shapes, in JSONL or CSV (the same column names in both):

- `messages`: a chat, a list of {role, content} with roles system, user, assistant. The
  loss is taken on the assistant turns only; a row needs at least one. (CSV has no lists,
  so a CSV `messages` cell holds the JSON of that list.)
- `prompt` / `completion` (and an optional `system`): one user turn and one assistant turn.
  They are rendered through the model's chat template like `messages`, because openpick's
  suites, `ask` and `chat` talk to a model through its chat template: training on the same
  text is what makes the tuned model answer there.

Everything is checked before any model loads; the first bad row is one InvalidInput naming
the file, the line and the field. Without `--eval-data`, a seeded share of the rows is held
out for the eval loss (and the caller says so).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from openpick.errors import InvalidInput

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Example:
    """One training row as chat messages, and where it was written."""

    messages: tuple[tuple[str, str], ...]   # (role, content)
    source: str                             # "file:line"

    def prompt_key(self) -> str:
        """The last user turn, normalized: what the leak check compares."""
        users = [c for r, c in self.messages if r == "user"]
        return normalize(users[-1]) if users else ""

    def as_messages(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]


def normalize(text: str) -> str:
    """Case, spacing and edge punctuation do not make a prompt a different prompt."""
    return re.sub(r"\s+", " ", text).strip().strip(".!?").strip().lower()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def load_examples(path: str | Path) -> list[Example]:
    """Every row of a JSONL or CSV file as Examples; the first bad row raises."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput("no such data file", path=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput("not a UTF-8 text file", path=str(path)) from e
    rows = _csv_rows(text, path) if path.suffix.lower() == ".csv" else _jsonl_rows(text, path)
    out = [_example(row, path, line) for line, row in rows]
    if not out:
        raise InvalidInput("no training rows in this file", path=str(path))
    return out


def _jsonl_rows(text: str, path: Path):
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as e:
            raise InvalidInput(f"not a JSON object: {getattr(e, 'msg', str(e))}",
                               path=str(path), line=n) from e
        if not isinstance(row, dict):
            raise InvalidInput(f"expected a JSON object, got a {type(row).__name__}",
                               path=str(path), line=n)
        yield n, row


def _csv_rows(text: str, path: Path):
    reader = csv.DictReader(io.StringIO(text))
    try:
        for row in reader:
            if None in row:
                raise InvalidInput("more cells than header columns", path=str(path),
                                   line=reader.line_num)
            row = {k: v for k, v in row.items() if v not in (None, "")}
            if "messages" in row:
                try:
                    row["messages"] = json.loads(row["messages"])
                except json.JSONDecodeError as e:
                    raise InvalidInput(f"field messages: not a JSON list ({e.msg})",
                                       path=str(path), line=reader.line_num) from e
            yield reader.line_num, row
    except csv.Error as e:
        raise InvalidInput(f"CSV error: {e}", path=str(path), line=reader.line_num) from e


def _bad(path: Path, line: int, field: str, why: str) -> InvalidInput:
    return InvalidInput(f"field {field}: {why}", path=str(path), line=line)


def _example(row: dict, path: Path, line: int) -> Example:
    where = f"{path.name}:{line}"
    if "messages" in row:
        extra = sorted(set(row) - {"messages"})
        if extra:
            raise _bad(path, line, extra[0], "give messages or prompt/completion, not both")
        return Example(_messages(row["messages"], path, line), where)
    extra = sorted(set(row) - {"prompt", "completion", "system"})
    if extra:
        raise _bad(path, line, extra[0], "unknown field (expected messages, or prompt, "
                   "completion and an optional system)")
    for key in ("prompt", "completion"):
        value = row.get(key)
        if not isinstance(value, str) or not value.strip():
            why = "missing" if value is None else "must be a non-empty text"
            raise _bad(path, line, key, why)
    system = row.get("system")
    if system is not None and not isinstance(system, str):
        raise _bad(path, line, "system", "must be a text")
    msgs = ([("system", system)] if system else []) + [("user", row["prompt"]),
                                                       ("assistant", row["completion"])]
    return Example(tuple(msgs), where)


def _messages(value: object, path: Path, line: int) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise _bad(path, line, "messages", "must be a non-empty list of {role, content}")
    out = []
    for i, m in enumerate(value):
        field = f"messages[{i}]"
        if not isinstance(m, dict):
            raise _bad(path, line, field, "must be an object with role and content")
        if m.get("role") not in ROLES:
            raise _bad(path, line, f"{field}.role", f"must be one of {', '.join(ROLES)}, "
                       f"got {m.get('role')!r}")
        if not isinstance(m.get("content"), str):
            raise _bad(path, line, f"{field}.content", "must be a text")
        if set(m) - {"role", "content"}:
            raise _bad(path, line, f"{field}.{sorted(set(m) - {'role', 'content'})[0]}",
                       "unknown field")
        out.append((m["role"], m["content"]))
    if not any(r == "assistant" and c.strip() for r, c in out):
        raise _bad(path, line, "messages", "no assistant turn with text to learn from")
    return tuple(out)


def split(examples: list[Example], share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(train, held out): a seeded `share` of the rows (at least one, and at least one left
    to train on)."""
    if len(examples) < 2:
        raise InvalidInput("one training row cannot be split into train and eval; add rows "
                           "or give --eval-data")
    n_eval = min(len(examples) - 1, max(1, round(len(examples) * share)))
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_eval])
    return ([e for i, e in enumerate(examples) if i not in held],
            [e for i, e in enumerate(examples) if i in held])


def leak_check(examples: list[Example], suite_prompts: dict[str, str], data_path: str) -> None:
    """Refuse training rows whose prompt is a suite case's (normalized): a suite that the
    model was trained on measures memory, not skill."""
    hits = [(e.source, suite_prompts[k]) for e in examples
            if (k := e.prompt_key()) and k in suite_prompts]
    if hits:
        first_src, case = hits[0]
        raise InvalidInput(f"{len(hits)} training row(s) repeat a suite case's prompt "
                           f"(first: {first_src} is case {case!r}); a suite cannot measure "
                           "a model trained on it: remove those rows or use another suite",
                           path=data_path)


def suite_prompt_keys(items) -> dict[str, str]:
    """Normalized last user turn (or plain prompt) → case id, for each suite item."""
    out: dict[str, str] = {}
    for it in items:
        if it.messages is not None:
            users = [m["content"] for m in it.messages if m.get("role") == "user"]
            text = users[-1] if users else ""
        else:
            text = it.prompt or ""
        if text.strip():
            out.setdefault(normalize(text), it.case_id)
    return out
