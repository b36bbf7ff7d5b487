"""Streaming one answer to the browser: a thin adapter over the API's route runner.

`routes.Run` picks the model (a route falls back, a member that stays silent is timed
out), runs it on the server's generation threads and stops it when asked; the API's
`EventStream` calls `close()` whenever the response ends, the browser gone included. What
is left here is the UI's event shapes (SSE `event:` names over fetch) and what the answer
leaves behind: `on_done(result, stopped)` stores it, once, a stopped answer with its text
so far (what it returns, a dict, is added to the done event: the stored turns' numbers). A
failed answer stores nothing, so a failed turn leaves no orphan question.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

from openpick.engines.base import Result, Timings, Usage
from openpick.errors import OpenpickError
from openpick.server.openai_api import EventStream
from openpick.server.routes import Run
from openpick.server.ui.render import render_markdown

log = logging.getLogger("openpick.server.ui")
HIDDEN = ("this model failed to answer (its name stays hidden until the vote; the server "
          "log has the error)")


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class Generation:
    """Events meta?, model, delta*, then done or error. With reveal=False (the blind
    arena) nothing names the model: no model event, no engine, no engine error text."""

    def __init__(self, run: Run, on_done: Callable[[Result, bool], dict | None], *,
                 meta: dict | None = None, reveal: bool = True):
        self.run, self.on_done, self.meta, self.reveal = run, on_done, meta, reveal
        self.parts: list[str] = []
        self.start = time.perf_counter()
        self.first: float | None = None
        self._stop = False
        self._kept = False  # on_done has run, or the answer failed: nothing more to keep
        self._stored: dict = {}  # what on_done returned

    def stop(self) -> None:
        """End the answer after the token being sent; what it said so far is kept."""
        self._stop = True

    def close(self) -> None:
        """The response ended (the browser's stop button aborts it): stop the model now and
        keep the answer so far, unless it was already kept."""
        self._stop = True
        self.run.cancel()
        if not self._kept and self.run.model is not None:
            self._kept = True
            self.on_done(self._partial(), True)

    def response(self) -> EventStream:
        async def body() -> AsyncIterator[str]:
            async for kind, data in self.events():
                yield sse(kind, data)

        return EventStream(body(), on_close=self.close)

    async def events(self) -> AsyncIterator[tuple[str, dict]]:
        if self.meta:
            yield "meta", self.meta
        try:
            await self.run.start()
            async with aclosing(self.run.batches()) as batches:
                async for batch in batches:
                    for delta in batch:
                        if delta.text:
                            if self.first is None:
                                self.first = time.perf_counter()
                                if self.reveal:
                                    yield "model", {"model": self.run.model}
                            self.parts.append(delta.text)
                            yield "delta", {"text": delta.text}
                        if self._stop:
                            break
                    if self._stop:
                        break
            stopped = self._stop or self.run.result is None
            result = self._partial() if stopped else self._named(self.run.result)
            if not self._kept:
                self._kept = True
                self._stored = await asyncio.to_thread(self.on_done, result, stopped) or {}
        except Exception as e:  # an engine crash must end the stream, not hang the page
            self._kept = True
            yield "error", {"message": self._error(e)}
            return
        yield "done", self._done(result, stopped)

    def _error(self, e: Exception) -> str:
        if isinstance(e, OpenpickError):
            log.warning("UI generation failed: %s", e)
            message = str(e)
        else:
            log.error("UI generation crashed", exc_info=e)
            message = f"{type(e).__name__}: {e}"
        return message if self.reveal else HIDDEN

    def _named(self, result: Result) -> Result:
        # Answers record the name the user picked (or the route member that answered).
        return result.model_copy(update={"model": result.model.model_copy(
            update={"name": self.run.model})})

    def _partial(self) -> Result:
        """What a stopped answer produced, timed like a finished one."""
        end = time.perf_counter()
        ttft = None if self.first is None else self.first - self.start
        return self._named(Result(
            text="".join(self.parts), finish_reason="stop",
            usage=Usage(completion_tokens=len(self.parts)),
            timings=Timings(ttft_s=ttft, total_s=end - self.start), model=self.run.identity))

    def _done(self, result: Result, stopped: bool) -> dict:
        data = {"model": result.model.name, "engine": result.model.engine,
                "finish_reason": "stopped" if stopped else result.finish_reason,
                "usage": {"prompt_tokens": result.usage.prompt_tokens,
                          "completion_tokens": result.usage.completion_tokens},
                "timings": result.timings.model_dump(), "html": str(render_markdown(result.text)),
                **self._stored}
        if not self.reveal:
            data = {k: v for k, v in data.items() if k not in ("model", "engine")}
        return data
