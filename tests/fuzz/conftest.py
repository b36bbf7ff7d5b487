"""Fuzz tests: the machinery is in fuzzkit.py; this file prints the counts at the end."""

from __future__ import annotations

import json
import os

import pytest
from fuzzkit import COUNTS, FULL, FUZZ_EXAMPLES, REJECTED, parser_totals


def pytest_terminal_summary(terminalreporter):
    if not COUNTS:
        return
    terminalreporter.section("fuzz inputs per parser")
    for name, (n, rejected) in sorted(parser_totals().items()):
        terminalreporter.write_line(f"{name}: {n} inputs, {rejected} rejected with a one-line error")
    for name in sorted(COUNTS):
        terminalreporter.write_line(f"  {name}: {COUNTS[name]} inputs, {REJECTED[name]} rejected")
    if path := os.environ.get("OPENPICK_FUZZ_REPORT"):
        with open(path, "w") as f:
            json.dump({"full": FULL, "per_parser": FUZZ_EXAMPLES,
                       "parsers": {n: {"inputs": a, "rejected": b}
                                   for n, (a, b) in sorted(parser_totals().items())},
                       "strategies": {n: {"inputs": COUNTS[n], "rejected": REJECTED[n]}
                                      for n in sorted(COUNTS)}}, f, indent=2)


@pytest.fixture
def fuzz_examples() -> int:
    return FUZZ_EXAMPLES
