"""The engine contract: one abstract `generate` streams deltas; everything else derives.

An engine turns a `Request` (chat `messages` or a plain `prompt`) into a stream of `Delta`s.
The last delta carries `finish_reason` and, where the engine knows it, `usage` counted by its
own tokenizer. `complete()` drains the stream and measures time to first token, total time
and decode speed, so every engine reports timings the same way.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openpick.errors import InvalidInput, OpenpickError

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "error"]


class EngineError(OpenpickError):
    """A model could not be loaded or failed while generating (message says which)."""

    exit_code = 4


class ContextOverflow(EngineError):
    """The prompt does not fit in the model's context window."""


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    content: str


# The system prompt a conversation starts with when the user gives none: `ask`, `chat` and
# the web UI's chat and arena pages all use this one, so the same question gets the same answer.
DEFAULT_SYSTEM = "You are a helpful assistant."


class Sampling(BaseModel):
    """How to generate: the parameters every layer shares. The engine `Request` is a
    Sampling plus the input; suites (defaults and cases), the server's request bodies, the
    web UI and chat sessions all declare their generation settings through this one model,
    so a new parameter is added here and nowhere else."""

    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(256, ge=1, description="an integer >= 1")
    temperature: float = Field(0.0, ge=0.0, allow_inf_nan=False, description="a number >= 0")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="a number in (0, 1]")
    seed: int | None = Field(None, description="an integer or null")
    stop: list[str] = Field(default_factory=list, description="a string or a list of strings")

    def params(self) -> dict:
        """As keyword arguments (`Request(messages=..., **sampling.params())`)."""
        return {k: (list(v) if isinstance(v, list) else v)
                for k, v in self.model_dump().items()}


class Request(Sampling):
    """One generation request. Exactly one of `messages` (chat) or `prompt` (plain)."""

    messages: list[Message] | None = None
    prompt: str | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Request:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give exactly one of messages or prompt")
        return self

    @classmethod
    def chat(cls, user: str, system: str | None = None, **kw) -> Request:
        msgs = [Message(role="system", content=system)] if system else []
        return cls(messages=[*msgs, Message(role="user", content=user)], **kw)


class Usage(BaseModel):
    """Token counts by the engine's own tokenizer (None where a server did not say)."""

    prompt_tokens: int | None = None
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return (self.prompt_tokens or 0) + self.completion_tokens


class Runtime(BaseModel):
    """How the engine ran a request, where it knows: copied into the result's timings."""

    threads: int | None = None   # CPU threads the engine decoded with
    parallel: int | None = None  # most sequences decoded together while this one ran


class Delta(BaseModel):
    """A piece of streamed text. The final delta sets `finish_reason` (and `usage`, and
    `runtime` where the engine knows how it ran the request)."""

    text: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    runtime: Runtime | None = None


class Timings(BaseModel):
    ttft_s: float | None = None
    total_s: float
    decode_tok_s: float | None = None
    threads: int | None = None
    parallel: int | None = None


class ModelIdentity(BaseModel):
    """What exactly produced an answer: a file by hash, or a server URL + model id."""

    engine: str
    name: str
    path: str | None = None
    sha256: str | None = None
    url: str | None = None
    model_id: str | None = None
    record_id: str | None = None


class ChoiceScore(BaseModel):
    """How likely a model finds one continuation of a context (multiple choice by
    log-likelihood, as lm-evaluation-harness scores its `multiple_choice` tasks)."""

    logprob: float     # sum of the natural-log probabilities of the continuation's tokens
    tokens: int        # how many tokens the continuation took after the context's
    is_greedy: bool    # greedy decoding from the context would produce exactly these tokens


class ScoreRequest(BaseModel):
    """Score `continuations` after `context` (a plain text, or chat messages that the
    model's chat template renders up to the assistant's turn)."""

    model_config = ConfigDict(extra="forbid")
    context: str | list[Message]
    continuations: list[str] = Field(min_length=1)


class Result(BaseModel):
    text: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    model: ModelIdentity
    # A scored multiple-choice answer: each choice's score, in the order asked; `text` is
    # the chosen continuation. None for generated answers.
    choices: list[ChoiceScore] | None = None


class EngineOptions(BaseModel):
    """Base for an engine's declared options; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


class NativeOptions(EngineOptions):
    """Options every native engine (llama.cpp, transformers) shares: they run in a worker
    process (engines/process.py), which reads these two; the engine itself ignores them."""

    isolate: bool = Field(True, description="run the model in its own worker process, so a "
                          "native crash costs one request, not openpick")
    timeout_s: float = Field(600.0, gt=0, description="a worker that sends nothing for this "
                             "long while a request waits is hung: it is killed")


class Stream:
    """Iterate the deltas of one request; afterwards `.result` holds the measured Result."""

    def __init__(self, engine: Engine, request: Request):
        self._engine = engine
        self._request = request
        self.result: Result | None = None

    def __iter__(self) -> Iterator[Delta]:
        start = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        pieces = 0
        finish: FinishReason = "stop"
        usage: Usage | None = None
        runtime: Runtime | None = None
        for delta in self._engine.generate(self._request):
            if delta.text:
                if first is None:
                    first = time.perf_counter()
                parts.append(delta.text)
                pieces += 1
            if delta.finish_reason:
                finish = delta.finish_reason
            if delta.usage:
                usage = delta.usage
            if delta.runtime:
                runtime = delta.runtime
            yield delta
        end = time.perf_counter()
        usage = usage or Usage(completion_tokens=pieces)
        timings = _timings(start, first, end, usage.completion_tokens)
        if runtime is not None:
            timings = timings.model_copy(update=runtime.model_dump(exclude_none=True))
        self.result = Result(
            text="".join(parts),
            finish_reason=finish,
            usage=usage,
            timings=timings,
            model=self._engine.identity(),
        )


def _timings(start: float, first: float | None, end: float, n: int) -> Timings:
    # Decode speed counts the tokens after the first one over the time after the first one,
    # so prompt processing (TTFT) does not dilute it.
    decode = None
    if first is not None and n > 1 and end > first:
        decode = (n - 1) / (end - first)
    return Timings(
        ttft_s=None if first is None else first - start, total_s=end - start, decode_tok_s=decode
    )


class Engine(ABC):
    """Base class of every engine. Subclasses set `name`, `Options` and implement `generate`.

    `target` is the engine-specific part of a model spec (a path, a URL#model). Engines load
    lazily inside `__init__` or on first use and import their heavy dependency there.
    """

    name: ClassVar[str]
    Options: ClassVar[type[EngineOptions]] = EngineOptions
    # The model runs on this machine (its memory is ours to measure); False for servers.
    local: ClassVar[bool] = True
    # `loglikelihood` is implemented (suites check this before running choice cases).
    can_score: ClassVar[bool] = False

    def __init__(self, target: str, options: EngineOptions | dict | None = None, *,
                 display_name: str | None = None, record_id: str | None = None):
        self.target = target
        self.options = self.parse_options(options)
        self.display_name = display_name or target
        self.record_id = record_id
        # Most local runtimes are not re-entrant; engines that are may replace this lock.
        self.lock = threading.RLock()

    @classmethod
    def parse_options(cls, options: EngineOptions | dict | None) -> EngineOptions:
        if isinstance(options, cls.Options):
            return options
        try:
            return cls.Options.model_validate(options or {})
        except Exception as e:  # pydantic.ValidationError → one line naming the option
            errs = getattr(e, "errors", None)
            if errs:
                first = errs()[0]
                loc = ".".join(str(p) for p in first["loc"])
                raise InvalidInput(f"engine {cls.name}: option {loc}: {first['msg']}") from e
            raise

    @abstractmethod
    def generate(self, request: Request) -> Iterator[Delta]:
        """Stream the answer. The last delta carries finish_reason (and usage if known)."""

    def identity(self) -> ModelIdentity:
        return ModelIdentity(engine=self.name, name=self.display_name, record_id=self.record_id)

    def estimated_bytes(self) -> int:
        """Memory this model holds when loaded (an estimate made at load)."""
        return 0

    def memory_bytes(self) -> int:
        """Memory the model holds now: the pool's budget unit. Worker-backed engines
        report their worker's real RSS; others their estimate."""
        return self.estimated_bytes()

    def peak_memory_bytes(self) -> int | None:
        """Peak resident memory of the process that runs the model, if it is its own."""
        return None

    @classmethod
    def identity_before_load(cls, target: str, display_name: str,
                             record_id: str | None = None) -> dict | None:
        """The model's identity (as `identity()` would give it) without loading it, where
        that is cheap and exact, so cached answers are found without loading a model. None:
        only a loaded model knows."""
        return None

    @classmethod
    def worker_options(cls, options: dict) -> dict:
        """Options as a worker process should get them, decided once in the parent (the
        llama-cpp engine fills in its CPU probe's answer here)."""
        return options

    @classmethod
    def crash_hint(cls, options: dict, death: str) -> str | None:
        """Advice to add when a worker running this engine with `options` died."""
        return None

    def loglikelihood(self, context: str | list[Message],
                      continuations: list[str]) -> list[ChoiceScore]:
        """Score each continuation after `context`, without generating: the summed log
        probability of its tokens, their count, and whether greedy decoding would produce
        them. Tokens are split as lm-evaluation-harness splits them (`split_continuation`,
        then the tokens of context + continuation after the context's own tokens)."""
        raise EngineError(f"engine {self.name} cannot score continuations (multiple-choice "
                          "cases); use a local engine (llama-cpp, transformers)")

    def max_parallel(self) -> int:
        """How many requests are worth sending at once (batch slots, server concurrency).
        `generate` must be safe to call from that many threads together."""
        return 1

    def close(self) -> None:
        """Release the model's memory. Safe to call twice."""

    def stream(self, request: Request) -> Stream:
        return Stream(self, request)

    def complete(self, request: Request, on_delta: Callable[[Delta], None] | None = None) -> Result:
        s = self.stream(request)
        for delta in s:
            if on_delta:
                on_delta(delta)
        assert s.result is not None
        return s.result

    def complete_many(self, requests: Iterable[Request]) -> list[Result]:
        """Many requests; engines that can batch (transformers) or overlap (openai) override."""
        return [self.complete(r) for r in requests]

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def split_continuation(context: str, continuation: str) -> tuple[str, str]:
    """Move the context's trailing whitespace onto the continuation, as lm-eval does:
    "Answer: " + "Paris" scores " Paris" after "Answer:", the way a tokenizer that puts
    spaces in front of words would have split the joined text."""
    n = len(context) - len(context.rstrip())
    if n:
        return context[:-n], context[-n:] + continuation
    return context, continuation


def continuation_tokens(context: list[int], whole: list[int], alone: Callable[[], list[int]]
                        ) -> list[int]:
    """The continuation's tokens: those of context + continuation after the context's own
    tokens. Where joining changed the context's last tokens (a merge across the boundary),
    the continuation tokenized alone (`alone()`), so the context stays as it is."""
    if len(whole) > len(context) and whole[:len(context)] == context:
        return whole[len(context):]
    return alone()


def render_plain(messages: list[Message]) -> str:
    """A neutral transcript for models without a chat template (base models)."""
    lines = [f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


class StopMatcher:
    """Holds back text that may be the start of a stop string, so a stop never leaks out."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.buf = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Returns (text safe to emit, stopped)."""
        if not self.stops:
            return text, False
        self.buf += text
        hits = [(self.buf.find(s), s) for s in self.stops if s in self.buf]
        if hits:
            at = min(i for i, _ in hits)
            out, self.buf = self.buf[:at], ""
            return out, True
        keep = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.buf)), 0, -1):
                if self.buf.endswith(s[:k]):
                    keep = max(keep, k)
                    break
        out = self.buf[: len(self.buf) - keep]
        self.buf = self.buf[len(self.buf) - keep:]
        return out, False

    def flush(self) -> str:
        out, self.buf = self.buf, ""
        return out
