"""A deterministic engine for tests and demos: no model, no dependency.

Spec `fake:echo` answers with the last user message (or the prompt); `fake:TEXT` always
answers TEXT; option `replies` gives a list answered in turn. Words count as tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import Field

from openpick.engines.base import Delta, Engine, EngineOptions, Request, StopMatcher, Usage


def words(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


class FakeOptions(EngineOptions):
    replies: list[str] = Field(default_factory=list)
    size_bytes: int = Field(0, ge=0, description="what the pool should think it holds")


class FakeEngine(Engine):
    name = "fake"
    Options = FakeOptions
    options: FakeOptions

    def __init__(self, target: str = "echo", options=None, **kw):
        super().__init__(target, options, **kw)
        self.calls: list[Request] = []
        self.closed = False

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

    def estimated_bytes(self) -> int:
        return self.options.size_bytes

    def close(self) -> None:
        self.closed = True
