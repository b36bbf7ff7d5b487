"""The OpenAI-compatible API: /v1/models, /v1/chat/completions, /v1/completions.

Shapes follow OpenAI's so the official clients work unchanged: streamed answers are SSE
`data: {chunk}` lines ending with `data: [DONE]`; errors are
`{"error": {"message", "type", "param", "code"}}`. Unknown fields are ignored (clients send
many); features openpick does not have (n > 1, logprobs, tools, suffix) are a 400, never a
silent wrong answer. Requests name models; nothing in a request is ever read as a path.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openpick.engines.base import ContextOverflow, Message, Sampling, Usage
from openpick.engines.base import Request as EngineRequest
from openpick.errors import NotFound, OpenpickError
from openpick.server.auth import ApiError, error_body, require_api_key
from openpick.server.routes import Run
from openpick.server.sampling import MaxTokens, Temperature, first_error

log = logging.getLogger("openpick.server")

INT64 = 2**63
MAX_STOP_CHARS = 256  # matching cost grows with the square of a stop string's length


class _Body(BaseModel):
    # Unknown fields are ignored; NaN and infinity are not numbers a sampler can use.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class TextPart(_Body):
    type: Literal["text"]
    text: str


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None


class StreamOptions(_Body):
    include_usage: bool = False


class _SamplingBody(_Body):
    # Bounds come from engines.base.Sampling (server/sampling.py); what is OpenAI's own is
    # declared here: every field optional, top_p 0 (greedy), a 64-bit seed, stop as a string.
    model: str = Field(min_length=1, max_length=256)
    temperature: Temperature | None = None
    top_p: float | None = Field(None, ge=0, description="0 means greedy, as in OpenAI's API")
    n: int | None = Field(None, ge=1, le=1, description="only 1 is supported")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-INT64, lt=INT64)
    presence_penalty: float | None = Field(None, ge=-2, le=2, description="accepted, ignored")
    frequency_penalty: float | None = Field(None, ge=-2, le=2, description="accepted, ignored")
    user: str | None = None


class ChatCompletionRequest(_SamplingBody):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    logprobs: bool | None = None
    tools: list[dict] | None = None
    functions: list[dict] | None = None
    response_format: dict | None = None
    logit_bias: dict[str, float] | None = None


class CompletionRequest(_SamplingBody):
    prompt: str | list[str]
    max_tokens: MaxTokens | None = 16  # OpenAI's default for completions
    echo: bool | None = False
    logprobs: int | None = None
    suffix: str | None = None
    best_of: int | None = Field(None, ge=1)


ERRORS = {
    400: {"description": "Invalid request (OpenAI error shape)"},
    401: {"description": "Missing or wrong API key"},
    404: {"description": "Unknown model"},
    413: {"description": "Body too large"},
    429: {"description": "Too many requests generating at once"},
    503: {"description": "The model could not load or generate"},
}

router = APIRouter(dependencies=[Depends(require_api_key)], responses=ERRORS)


def _state(request: Request):
    return request.app.state.openpick


# -- models ---------------------------------------------------------------------------------

def _model_entry(name: str, kind: str, info) -> dict:
    entry = {"id": name, "object": "model", "created": 0, "owned_by": "openpick", "kind": kind}
    if info is not None:
        entry |= {"engine": info.engine, "status": info.status, "record_id": info.record_id}
    return entry


def _catalog(state) -> list[dict]:
    from openpick.engines.local import local_models

    info = {m.name: m for m in local_models()}
    return [_model_entry(n, k, info.get(n)) for n, k in state.models.names()]


@router.get("/v1/models")
async def list_models(request: Request) -> dict:
    return {"object": "list", "data": _catalog(_state(request))}


@router.get("/v1/models/{model}")
async def get_model(request: Request, model: Annotated[str, Path(max_length=256)]) -> dict:
    state = _state(request)
    if not state.models.known(model):
        raise _unknown_model(model)
    return next(m for m in _catalog(state) if m["id"] == model)


def _unknown_model(name: str) -> ApiError:
    shown = name if len(name) <= 80 else name[:80] + "..."
    return ApiError(404, f"The model '{shown}' does not exist; GET /v1/models lists the "
                         f"models this server offers", param="model", code="model_not_found")


# -- turning a body into an engine request ---------------------------------------------------

def _text(content: str | list[TextPart] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content)


def _stops(body: _SamplingBody, limit: int) -> list[str]:
    stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stops) > limit:
        raise ApiError(400, f"at most {limit} stop sequences", param="stop")
    if any(len(s) > MAX_STOP_CHARS for s in stops):
        raise ApiError(400, f"stop sequences are at most {MAX_STOP_CHARS} characters",
                       param="stop")
    return [s for s in stops if s]


def sampling(body: _SamplingBody, settings, max_tokens: int) -> Sampling:
    """The one conversion of a body's generation parameters into the engine's `Sampling`;
    what Sampling refuses is a 400 like any body error."""
    if max_tokens > settings.max_tokens_cap:
        raise ApiError(400, f"max_tokens is {max_tokens}; this server allows at most "
                            f"{settings.max_tokens_cap}", param="max_tokens")
    temperature = 1.0 if body.temperature is None else body.temperature
    top_p = 1.0 if body.top_p is None else body.top_p
    if top_p == 0:  # OpenAI accepts 0: only the most likely token, i.e. greedy
        temperature, top_p = 0.0, 1.0
    try:
        return Sampling(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                        seed=None if body.seed is None else body.seed % 2**32,
                        stop=_stops(body, settings.max_stop))
    except ValidationError as e:
        message, param = first_error(e)
        raise ApiError(400, message, param=param) from None


def chat_request(body: ChatCompletionRequest, settings) -> EngineRequest:
    if body.logprobs:
        raise ApiError(400, "logprobs are not supported", param="logprobs")
    for name in ("tools", "functions", "logit_bias"):
        if getattr(body, name):
            raise ApiError(400, f"{name} are not supported", param=name)
    if body.response_format and body.response_format.get("type", "text") != "text":
        raise ApiError(400, "only response_format type 'text' is supported",
                       param="response_format")
    if len(body.messages) > settings.max_messages:
        raise ApiError(400, f"{len(body.messages)} messages; this server allows at most "
                            f"{settings.max_messages}", param="messages")
    messages = []
    for i, m in enumerate(body.messages):
        text = _text(m.content)
        if len(text) > settings.max_message_chars:
            raise ApiError(400, f"message {i} has {len(text)} characters; this server allows "
                                f"at most {settings.max_message_chars}",
                           param=f"messages.{i}.content")
        messages.append(Message(role="system" if m.role == "developer" else m.role,
                                content=text))
    max_tokens = (body.max_completion_tokens or body.max_tokens
                  or min(settings.default_max_tokens, settings.max_tokens_cap))
    return EngineRequest(messages=messages, **sampling(body, settings, max_tokens).params())


def completion_request(body: CompletionRequest, settings) -> EngineRequest:
    prompt = body.prompt
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise ApiError(400, "give one prompt (a string)", param="prompt")
        prompt = prompt[0]
    if len(prompt) > settings.max_message_chars:
        raise ApiError(400, f"the prompt has {len(prompt)} characters; this server allows at "
                            f"most {settings.max_message_chars}", param="prompt")
    for field, bad in (("logprobs", body.logprobs is not None), ("suffix", bool(body.suffix)),
                       ("best_of", (body.best_of or 1) > 1)):
        if bad:
            raise ApiError(400, f"{field} is not supported", param=field)
    max_tokens = body.max_tokens or 16
    return EngineRequest(prompt=prompt, **sampling(body, settings, max_tokens).params())


# -- running ----------------------------------------------------------------------------------

def _map_error(e: BaseException) -> ApiError:
    if isinstance(e, ApiError):
        return e
    if isinstance(e, ContextOverflow):
        return ApiError(400, str(e), param="messages", code="context_length_exceeded")
    if isinstance(e, OpenpickError):  # failed to load (missing file or package) or generate
        return ApiError(503, str(e), type="server_error", code="model_unavailable")
    log.exception("unexpected error while generating", exc_info=e)
    return ApiError(500, "internal error while generating; see the server log",
                    type="server_error")


class _Slot:
    """One request's hold on the concurrency limit and its metrics, released exactly once."""

    def __init__(self, state, endpoint: str):
        self.state, self.endpoint = state, endpoint
        self.start = time.perf_counter()
        self.model = "unknown"
        self.first: float | None = None
        self.usage: Usage | None = None
        self._open = True
        m = state.metrics
        if state.active >= state.settings.max_concurrent:
            raise ApiError(429, "the server is busy; retry shortly", type="server_error",
                           code="server_busy")
        state.active += 1
        m.active.inc()

    def release(self, status: int, error_type: str | None = None) -> None:
        """Count the request; `error_type` only for errors no exception handler sees."""
        if not self._open:
            return
        self._open = False
        st, m = self.state, self.state.metrics
        st.active -= 1
        m.active.dec()
        m.requests.labels(self.endpoint, self.model, str(status)).inc()
        m.latency.labels(self.endpoint).observe(time.perf_counter() - self.start)
        if self.first is not None:
            m.ttft.labels(self.model).observe(self.first - self.start)
        if self.usage is not None:
            m.tokens.labels(self.model, "prompt").inc(self.usage.prompt_tokens or 0)
            m.tokens.labels(self.model, "completion").inc(self.usage.completion_tokens)
        if error_type:
            m.errors.labels(self.endpoint, error_type).inc()


async def _start(state, endpoint: str, name: str, req: EngineRequest) -> tuple[Run, _Slot]:
    try:
        resolved = state.models.resolve(name)
    except NotFound:
        raise _unknown_model(name) from None
    if state.draining:
        raise ApiError(503, "the server is shutting down", type="server_error",
                       code="shutting_down")
    slot = _Slot(state, endpoint)
    slot.model = resolved.name
    run = Run(state.pool, resolved, req,
              on_fallback=lambda r, m: state.metrics.fallbacks.labels(r, m).inc(),
              executor=state.executor)
    try:
        await run.start()
    except Exception as e:
        run.cancel()
        err = _map_error(e)
        slot.release(err.status)
        err.counted = True
        raise err from e
    except BaseException:
        run.cancel()
        slot.release(499, "cancelled")
        raise
    slot.model = run.model or resolved.name
    return run, slot


class EventStream(StreamingResponse):
    """SSE that always releases its run: on completion, client disconnect or cancellation."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None]):
        super().__init__(content, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def _sse(obj: dict | str) -> str:
    return f"data: {obj if isinstance(obj, str) else json.dumps(obj, separators=(',', ':'))}\n\n"


def _usage(u: Usage | None) -> dict:
    u = u or Usage()
    return {"prompt_tokens": u.prompt_tokens or 0, "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens}


def _finish(reason: str | None) -> str:
    return "length" if reason == "length" else "stop"


async def _generate(state, request: Request, endpoint: str, name: str, req: EngineRequest,
                    stream: bool, include_usage: bool, shape: _Shape):
    run, slot = await _start(state, endpoint, name, req)
    headers = {"x-openpick-model": slot.model}
    if stream:
        shape._model = slot.model
        resp = EventStream(_stream(run, slot, shape, include_usage),
                           on_close=lambda: (run.cancel(), slot.release(499, "disconnected")))
        resp.headers.update(headers)
        return resp
    parts: list[str] = []
    finish = None
    try:
        async for d in run.deltas():
            if d.text:
                if slot.first is None:
                    slot.first = time.perf_counter()
                parts.append(d.text)
            finish = d.finish_reason or finish
            slot.usage = d.usage or slot.usage
    except Exception as e:
        err = _map_error(e)
        slot.release(err.status)
        err.counted = True
        raise err from e
    except BaseException:
        slot.release(499, "cancelled")
        raise
    if finish == "error":
        slot.release(503)
        err = ApiError(503, "the model failed while generating", type="server_error",
                       code="model_unavailable")
        err.counted = True
        raise err
    slot.usage = slot.usage or Usage(completion_tokens=len(parts))
    slot.release(200)
    text = (req.prompt or "") + "".join(parts) if shape.echo else "".join(parts)
    return JSONResponse(shape.full(slot.model, text, _finish(finish), _usage(slot.usage)),
                        headers=headers)


async def _stream(run: Run, slot: _Slot, shape: _Shape, include_usage: bool):
    finish = None
    model = slot.model
    try:
        if shape.kind == "chat":
            yield _sse(shape.chunk(model, None, None, first=True))
        if shape.echo and run.request.prompt:
            yield shape.content_event(run.request.prompt)
        # Deltas that arrived together go out in one write.
        async for batch in run.batches():
            events = []
            for d in batch:
                if d.text:
                    events.append(shape.content_event(d.text))
                finish = d.finish_reason or finish
                slot.usage = d.usage or slot.usage
            if events:
                if slot.first is None:
                    slot.first = time.perf_counter()
                yield "".join(events)
        if finish == "error":
            raise ApiError(503, "the model failed while generating", type="server_error",
                           code="model_unavailable")
        tail = _sse(shape.chunk(model, None, _finish(finish)))
        if include_usage:
            tail += _sse(shape.usage_chunk(model, _usage(slot.usage)))
        yield tail + _sse("[DONE]")
        slot.release(200)
    except Exception as e:  # after the 200 went out: the error travels in the stream
        err = _map_error(e)
        slot.release(err.status, err.code or err.type)
        yield _sse(error_body(err.message, err.type, err.param, err.code)) + _sse("[DONE]")


class _Shape:
    """Builds the JSON of one endpoint's answers (chat and completions differ)."""

    def __init__(self, kind: str, echo: bool = False):
        self.kind, self.echo = kind, echo
        self.id = ("chatcmpl-" if kind == "chat" else "cmpl-") + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.object = "chat.completion" if kind == "chat" else "text_completion"
        self._model = ""
        self._prefix: str | None = None
        self._suffix = ""

    def content_event(self, text: str) -> str:
        """The SSE event of one piece of text, built from strings (the hot path)."""
        if self._prefix is None:
            empty = json.dumps(self.chunk(self._model, "", None), separators=(",", ":"))
            key = '"content":""' if self.kind == "chat" else '"text":""'
            at = empty.index(key) + len(key) - 2
            self._prefix, self._suffix = "data: " + empty[:at], empty[at + 2:] + "\n\n"
        return self._prefix + json.dumps(text) + self._suffix

    def _head(self, model: str, obj: str) -> dict:
        return {"id": self.id, "object": obj, "created": self.created, "model": model,
                "system_fingerprint": None}

    def full(self, model: str, text: str, finish: str, usage: dict) -> dict:
        if self.kind == "chat":
            choice = {"index": 0, "message": {"role": "assistant", "content": text},
                      "logprobs": None, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        return self._head(model, self.object) | {"choices": [choice], "usage": usage}

    def chunk(self, model: str, text: str | None, finish: str | None,
              first: bool = False) -> dict:
        if self.kind == "chat":
            delta: dict = {"role": "assistant", "content": ""} if first else {}
            if text is not None:
                delta["content"] = text
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return self._head(model, "chat.completion.chunk") | {"choices": [choice]}
        choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        return self._head(model, "text_completion") | {"choices": [choice]}

    def usage_chunk(self, model: str, usage: dict) -> dict:
        obj = "chat.completion.chunk" if self.kind == "chat" else "text_completion"
        return self._head(model, obj) | {"choices": [], "usage": usage}


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatCompletionRequest, request: Request):
    state = _state(request)
    req = chat_request(body, state.settings)
    include = bool(body.stream_options and body.stream_options.include_usage)
    return await _generate(state, request, "/v1/chat/completions", body.model, req,
                           bool(body.stream), include, _Shape("chat"))


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request):
    state = _state(request)
    req = completion_request(body, state.settings)
    include = bool(body.stream_options and body.stream_options.include_usage)
    return await _generate(state, request, "/v1/completions", body.model, req, bool(body.stream),
                           include, _Shape("completions", echo=bool(body.echo)))


