"""Shared machinery for the fuzz tests (imported by name: `from fuzzkit import ...`; a
`conftest` import would be ambiguous among the suite's several conftest.py files): how many
inputs, how a parser may reject one, mutations of real files, YAML values of every kind.

Every parser openpick exposes to user input gets a `fuzz`-marked test here. A parser passes
when each generated input is either accepted or rejected with an `OpenpickError` whose message
is one non-empty line (naming the file/field/line where the parser knows one); any other
exception, or a call that runs past `HANG_S`, fails the test.

Counts: `FUZZ_EXAMPLES` inputs per parser when `OPENPICK_FUZZ=full` or `CI` is set (CI runs
`make test` with CI set), a reduced count otherwise so a local `make test` stays quick. The
inputs actually tried are counted and printed at the end of the session (and written as JSON
to `$OPENPICK_FUZZ_REPORT` when set), which is where BENCHMARKS.md's counts come from.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from openpick.errors import OpenpickError

FULL = os.environ.get("OPENPICK_FUZZ", "").lower() == "full" or bool(os.environ.get("CI"))
# inputs per parser; a parser fed by several strategies (mutated files, generated
# documents) gives each a share of it
FUZZ_EXAMPLES = 10_000 if FULL else int(os.environ.get("OPENPICK_FUZZ_EXAMPLES", "300"))
HANG_S = 20.0                     # one parse taking this long counts as a hang

COUNTS: Counter[str] = Counter()  # parser name -> inputs tried
REJECTED: Counter[str] = Counter()  # parser name -> inputs rejected with a clean error


def fuzz_settings(share: float = 1.0) -> settings:
    """Hypothesis settings for `share` of a parser's inputs: no deadline (the machine is
    noisy; hangs are caught by `watchdog` instead), no example database written into the
    tree, the same inputs on every run."""
    return settings(
        max_examples=max(1, round(FUZZ_EXAMPLES * share)),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


class Hang(BaseException):
    """Not an Exception: a parser's own `except Exception` must not turn a hang into a clean
    rejection."""


@contextmanager
def watchdog(seconds: float = HANG_S):
    """Fail the current input when it runs past `seconds` (main thread only, via SIGALRM)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"parser ran for more than {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_rejection(err: OpenpickError, *, names: tuple[str, ...] = ()) -> str:
    """A clean rejection: one non-empty line; when `names` is given, it mentions one of them
    (the file's name, say)."""
    msg = str(err)
    assert msg.strip(), f"{type(err).__name__} with an empty message"
    assert "\n" not in msg.strip(), f"multi-line error message: {msg!r}"
    assert "Traceback" not in msg, msg
    if names:
        assert any(n in msg for n in names), f"error names none of {names}: {msg!r}"
    return msg


def parse_or_reject(parser: str, call: Callable[[], Any], *, names: tuple[str, ...] = ()) -> Any:
    """Run one parse under the watchdog. Returns the parser's result, or the OpenpickError it
    raised (after checking the message is a clean one-liner). Anything else propagates and
    fails the test, with hypothesis printing the input that caused it."""
    COUNTS[parser] += 1
    with watchdog():
        try:
            return call()
        except OpenpickError as e:
            REJECTED[parser] += 1
            check_rejection(e, names=names)
            return e


# ---------------------------------------------------------------- mutations of real files

def _flip(data: bytearray, pos: int, arg: int) -> None:
    if data:
        data[pos % len(data)] ^= 1 << (arg % 8)


def _insert(data: bytearray, pos: int, arg: int) -> None:
    data[pos % (len(data) + 1):pos % (len(data) + 1)] = bytes([arg % 256])


def _delete(data: bytearray, pos: int, arg: int) -> None:
    if data:
        p = pos % len(data)
        del data[p:p + 1 + arg % 16]


def _truncate(data: bytearray, pos: int, arg: int) -> None:
    del data[pos % (len(data) + 1):]


def _duplicate(data: bytearray, pos: int, arg: int) -> None:
    if data:
        p = pos % len(data)
        data[p:p] = data[p:p + 1 + arg % 64]


_TOKENS = [b":", b"- ", b"\n", b"  ", b"{{", b"}}", b"[", b"]", b"{", b"}", b"'", b'"', b"#",
           b"&a", b"*a", b"!!python/object", b"\x00", b"\xff", b"null", b"-1", b"1e999", b"~",
           b"\t", b"\r\n", b"---", b"...", b"%", b"\\u0000", b"9" * 30]


def _token(data: bytearray, pos: int, arg: int) -> None:
    p = pos % (len(data) + 1)
    data[p:p] = _TOKENS[arg % len(_TOKENS)]


_OPS = (_flip, _insert, _delete, _truncate, _duplicate, _token, _token)


def mutated(corpus: list[bytes], max_ops: int = 6) -> st.SearchStrategy[bytes]:
    """Bytes made from one of the real files in `corpus` by a few random edits (bit flips,
    inserted/deleted bytes, truncation, duplicated chunks, YAML/template tokens). Hypothesis
    shrinks a failure towards the fewest edits."""
    op = st.tuples(st.integers(0, len(_OPS) - 1), st.integers(0, 1 << 20), st.integers(0, 255))

    @st.composite
    def build(draw):
        data = bytearray(draw(st.sampled_from(corpus)))
        for i, pos, arg in draw(st.lists(op, min_size=1, max_size=max_ops)):
            _OPS[i](data, pos, arg)
        return bytes(data)

    return build()


# ---------------------------------------------------------------- YAML values

# Every value YAML's safe dumper can write (dates and bytes included), nested a little.
_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
            | st.dates() | st.binary(max_size=8))
yaml_values = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=10)


def maybe(good: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a plausible value, sometimes any YAML value: both the happy path and type
    confusion get tried."""
    return st.one_of(good, good, yaml_values)


def parser_totals() -> dict[str, tuple[int, int]]:
    """Inputs and clean rejections per parser: a name's first word ("osai/mutated" and
    "osai/generated" are both "osai", "suite (generated)" is "suite")."""
    out: dict[str, tuple[int, int]] = {}
    for name, n in COUNTS.items():
        key = re.split(r"[ /]", name, maxsplit=1)[0]
        a, b = out.get(key, (0, 0))
        out[key] = (a + n, b + REJECTED[name])
    return out
