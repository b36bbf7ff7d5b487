"""A deterministic engine for tests and demos: no model, no dependency.

Spec `fake:echo` answers with the last user message (or the prompt); `fake:TEXT` always
answers TEXT; option `replies` gives a list answered in turn. Words count as tokens.

It scores continuations too (`loglikelihood`): option `logprobs` maps a continuation
(stripped) to its log probability; others get minus their length in characters, so shorter
choices are likelier. The likeliest continuation is the greedy one.

For fault tests it can run in a worker process like a native engine (`-o isolate=true`) and
then crash for real (`crash_on`: a prompt containing this text dies mid-stream from
`crash_signal`, a genuine segmentation fault by default) or hang (`hang_on`).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import time
from collections.abc import Iterator

from pydantic import Field

from openpick.engines.base import (
    ChoiceScore, Delta, Engine, EngineError, Message, NativeOptions, Request, StopMatcher, Usage,
)


def words(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


class FakeOptions(NativeOptions):
    isolate: bool = False  # in-process unless a test asks for a worker
    replies: list[str] = Field(default_factory=list)
    size_bytes: int = Field(0, ge=0, description="what the pool should think it holds")
    parallel: int = Field(1, ge=1, description="what max_parallel() reports")
    delay_s: float = Field(0.0, ge=0, description="sleep before each word")
    crash_on: str | None = Field(None, description="die mid-stream on prompts containing this")
    crash_signal: str = "SIGSEGV"
    hang_on: str | None = Field(None, description="stop answering on prompts containing this")
    logprobs: dict[str, float] = Field(default_factory=dict, description="continuation → "
                                       "its log probability when scored")
    crash_once_file: str | None = Field(None, description="crash only while this file is "
                                        "missing, and create it (a fault that a retry survives)")


class FakeEngine(Engine):
    name = "fake"
    Options = FakeOptions
    options: FakeOptions
    can_score = True

    @classmethod
    def identity_before_load(cls, target, display_name, record_id=None):
        return {"engine": cls.name, "name": display_name, "target": target}

    def __init__(self, target: str = "echo", options=None, **kw):
        super().__init__(target, options, **kw)
        self.calls: list[Request] = []
        self.scored: list[tuple[str | list[Message], list[str]]] = []
        self.closed = False
        if (self.options.crash_on or self.options.hang_on) and os.environ.get("OPENPICK_WORKER") != "1":
            raise EngineError("fake: crash_on/hang_on only run in a worker (-o isolate=true)")

    def _fault(self, source: str, count: int) -> None:
        o = self.options
        if count != 2:  # mid-stream: after two words went out
            return
        if o.hang_on and o.hang_on in source:
            time.sleep(3600)
        if o.crash_on and o.crash_on in source:
            if o.crash_once_file:
                if os.path.exists(o.crash_once_file):
                    return
                open(o.crash_once_file, "w").close()
            sig = signal.Signals[o.crash_signal]
            if sig == signal.SIGSEGV:
                ctypes.string_at(0)  # a real invalid read, as a native bug would make
            os.kill(os.getpid(), sig)
            time.sleep(10)

    def _answer(self, request: Request) -> str:
        if self.options.replies:
            return self.options.replies[(len(self.calls) - 1) % len(self.options.replies)]
        if self.target != "echo":
            return self.target
        if request.prompt is not None:
            return request.prompt
        return next((m.content for m in reversed(request.messages) if m.role == "user"), "")

    def generate(self, request: Request) -> Iterator[Delta]:
        self.calls.append(request)
        source = request.prompt if request.prompt is not None else " ".join(
            m.content for m in request.messages)
        pieces = words(self._answer(request))
        stopper = StopMatcher(request.stop)
        count, stopped = 0, False
        for piece in pieces[: request.max_tokens]:
            self._fault(source, count)
            if self.options.delay_s:
                time.sleep(self.options.delay_s)
            count += 1
            out, stopped = stopper.feed(piece)
            if out:
                yield Delta(text=out)
            if stopped:
                break
        finish = "stop" if stopped or count == len(pieces) else "length"
        tail = "" if stopped else stopper.flush()
        yield Delta(text=tail, finish_reason=finish,
                    usage=Usage(prompt_tokens=len(words(source)), completion_tokens=count))

    def loglikelihood(self, context: str | list[Message],
                      continuations: list[str]) -> list[ChoiceScore]:
        source = context if isinstance(context, str) else " ".join(m.content for m in context)
        self.scored.append((context, list(continuations)))
        self._fault(source, 2)
        lps = [self.options.logprobs.get(c.strip(), -float(len(c))) for c in continuations]
        best = max(lps)
        return [ChoiceScore(logprob=lp, tokens=len(words(c)), is_greedy=lp == best)
                for lp, c in zip(lps, continuations)]

    def estimated_bytes(self) -> int:
        return self.options.size_bytes

    def max_parallel(self) -> int:
        return self.options.parallel

    def close(self) -> None:
        self.closed = True
