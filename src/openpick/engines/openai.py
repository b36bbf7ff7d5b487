"""Any OpenAI-compatible server: vLLM, TGI, Ollama, LM Studio, llama-server, hosted APIs.

Streams Server-Sent Events over httpx. Retries with exponential backoff and full jitter on
429, 5xx and dropped connections, but only before the first token arrived (text already
handed to the caller cannot be taken back) and never on other 4xx answers. Every request
has a connect timeout, a read timeout between chunks and an overall deadline; a per-endpoint
semaphore caps concurrent requests, shared by every engine pointing at the same server.

Replicas: a target may list several base URLs serving the same model
(`http://a:8000/v1,http://b:8000/v1#model`). Each request goes to the least-loaded healthy
one; a replica that fails (unreachable, timed out, 5xx after the retries, stream broken) is
taken out of rotation and probed back in (replicas.py), and the request moves to another
replica as long as no text was handed out yet. The identity names the sorted URL list, so
results do not depend on which replica answered.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import httpx
from pydantic import Field

from openpick.engines.base import (
    Delta, Engine, EngineError, EngineOptions, ModelIdentity, Request, Result, Usage,
)
from openpick.engines.replicas import ReplicaSet, ReplicaStats
from openpick.errors import InvalidInput

RETRY_STATUS = {429, 500, 502, 503, 504}
# Failures where the server never produced an answer: safe to send the request again.
RETRY_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError,
                httpx.ReadError, httpx.WriteError, httpx.PoolTimeout)
# Nothing listens there: with replicas, move on at once instead of backing off.
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)


class ReplicaFailure(EngineError):
    """The endpoint itself failed (unreachable, timed out, 5xx after retries, stream broken),
    as opposed to refusing this request: another replica may answer it instead."""


class OpenAIOptions(EngineOptions):
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable with the key")
    timeout_s: float = Field(300.0, gt=0, description="deadline for a whole request")
    connect_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0, description="longest silence between chunks")
    max_retries: int = Field(4, ge=0)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(30.0, ge=0)
    max_concurrency: int = Field(8, ge=1, description="in-flight requests per endpoint")
    probe_interval_s: float = Field(1.0, gt=0, description="wait before probing a failed "
                                    "replica; doubles with each consecutive failure")
    probe_interval_max_s: float = Field(30.0, gt=0)
    probe_timeout_s: float = Field(5.0, gt=0, description="timeout of one probe (GET /models)")
    stream: bool = True
    headers: dict[str, str] = Field(default_factory=dict)


_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def endpoint_slots(base_url: str, limit: int) -> threading.BoundedSemaphore:
    """One semaphore per endpoint, shared by all engines (the first one sets the limit)."""
    with _slots_lock:
        if base_url not in _slots:
            _slots[base_url] = threading.BoundedSemaphore(limit)
        return _slots[base_url]


def split_targets(target: str) -> tuple[list[str], str | None]:
    """`URL[,URL...][#MODEL]` → (base URLs in the given order, model id)."""
    base, _, model = target.partition("#")
    urls = [u.strip().rstrip("/") for u in base.split(",")]
    if not all(u.startswith(("http://", "https://")) for u in urls):
        raise InvalidInput(f"openai engine needs a URL like http://host:8000/v1#model (or "
                           f"several, comma-separated), got {target!r}")
    if len(set(urls)) < len(urls):
        raise InvalidInput(f"openai engine: a replica URL is listed twice in {target!r}")
    return urls, model or None


def split_target(target: str) -> tuple[str, str | None]:
    """(base URL, model id). Replicas give their URLs sorted and comma-joined: one stable
    name for the model whichever replica answers."""
    urls, model = split_targets(target)
    return ",".join(sorted(urls)), model


def _error_message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message") if isinstance(err, dict) else err
        return str(msg or data)[:300]
    except (ValueError, UnicodeDecodeError):
        return resp.text[:300].strip() or resp.reason_phrase


class OpenAIEngine(Engine):
    name = "openai"
    local = False
    Options = OpenAIOptions
    options: OpenAIOptions

    def __init__(self, target: str, options=None, **kw):
        super().__init__(target, options, **kw)
        urls, self.model_id = split_targets(target)
        self.base_url = ",".join(sorted(urls))
        o = self.options
        headers = {"Accept": "text/event-stream, application/json", **o.headers}
        key = os.environ.get(o.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(
            o.read_timeout_s, connect=o.connect_timeout_s))
        self._replicas = ReplicaSet(urls, lambda u: endpoint_slots(u, o.max_concurrency),
                                    self._probe, probe_s=o.probe_interval_s,
                                    probe_max_s=o.probe_interval_max_s, failover=len(urls) > 1)
        self._slots = self._replicas.replicas[0].slots if len(urls) == 1 else None

    def close(self) -> None:
        self._replicas.close()
        self._client.close()

    def max_parallel(self) -> int:
        """max_concurrency per healthy replica (with every replica down, one's worth: the
        requests then fail fast with the all-down error)."""
        return self.options.max_concurrency * max(1, self._replicas.healthy_count())

    def replica_stats(self) -> list[ReplicaStats]:
        """Per endpoint: healthy, in_flight, served, failures, last_error."""
        return self._replicas.stats()

    @classmethod
    def identity_before_load(cls, target, display_name, record_id=None):
        urls, model_id = split_targets(target)
        if not model_id:
            return None  # the server names its model once asked
        return {"engine": cls.name, "name": display_name, "url": ",".join(sorted(urls)),
                "model_id": model_id, "record_id": record_id}

    def identity(self) -> ModelIdentity:
        return ModelIdentity(engine=self.name, name=self.display_name, url=self.base_url,
                             model_id=self.model_id, record_id=self.record_id)

    # -- model discovery ------------------------------------------------------------------
    def list_models(self) -> list[str]:
        deadline = time.monotonic() + self.options.timeout_s
        tried: set[str] = set()
        last: ReplicaFailure | None = None
        while (rep := self._replicas.acquire(tried, deadline - time.monotonic())) is not None:
            tried.add(rep.url)
            try:
                return self._list_models(rep.url, deadline)
            except ReplicaFailure as e:
                self._replicas.failed(rep, str(e))
                if not self._replicas.failover:
                    raise
                last = e
            finally:
                self._replicas.release(rep, served=False)
        raise self._replicas.all_down(self.model_id) from last

    def _list_models(self, base: str, deadline: float) -> list[str]:
        resp = self._send(base, "GET", "/models", None, deadline=deadline)
        try:
            resp.read()
        except httpx.HTTPError as e:
            raise ReplicaFailure(f"{base}/models: connection broke: {e}") from e
        finally:
            resp.close()
        data = self._json(base, resp.text, "/models")
        return [m["id"] for m in data.get("data", []) if isinstance(m, dict) and "id" in m]

    def _probe(self, base: str) -> None:
        """Health check of a replica out of rotation: any 2xx answer to GET /models."""
        try:
            resp = self._client.get(base + "/models", timeout=self.options.probe_timeout_s)
        except httpx.HTTPError as e:
            raise EngineError(f"{type(e).__name__}: {e or 'connection failed'}") from e
        if resp.status_code >= 400:
            raise EngineError(f"GET /models answered {resp.status_code}")

    def _model(self) -> str:
        if self.model_id is None:
            models = self.list_models()
            if len(models) != 1:
                raise InvalidInput(f"{self.base_url} serves {len(models)} models "
                                   f"({', '.join(models[:5]) or 'none'}); name one as URL#MODEL")
            self.model_id = models[0]
        return self.model_id

    # -- transport --------------------------------------------------------------------------
    def _backoff(self, attempt: int, resp: httpx.Response | None) -> None:
        o = self.options
        delay = random.uniform(0, min(o.backoff_max_s, o.backoff_base_s * 2 ** attempt))
        after = resp.headers.get("retry-after") if resp is not None else None
        if after:
            try:
                delay = max(delay, min(float(after), o.backoff_max_s))
            except ValueError:
                pass
        time.sleep(delay)

    def _send(self, base: str, method: str, path: str, body: dict | None, *,
              deadline: float) -> httpx.Response:
        """Send with retries; returns an open, successful (2xx) streaming response."""
        url = base + path
        tries = self.options.max_retries + 1
        for attempt in range(tries):
            last = attempt == tries - 1
            if time.monotonic() > deadline:
                raise EngineError(f"{url}: no answer within {self.options.timeout_s:g}s")
            try:
                req = self._client.build_request(method, url, json=body)
                resp = self._client.send(req, stream=True)
            except RETRY_ERRORS as e:
                if last or (self._replicas.failover and isinstance(e, CONNECT_ERRORS)):
                    after = f" after {attempt + 1} tries" if attempt else ""
                    raise ReplicaFailure(f"cannot reach {url}{after}: "
                                         f"{type(e).__name__}: {e or 'connection failed'}") from e
                self._backoff(attempt, None)
                continue
            except httpx.TimeoutException as e:
                raise ReplicaFailure(f"{url}: timed out ({type(e).__name__})") from e
            if resp.status_code < 400:
                return resp
            resp.read()
            resp.close()
            message = f"{url} answered {resp.status_code}: {_error_message(resp)}"
            if resp.status_code not in RETRY_STATUS:
                raise EngineError(message)
            if last:
                raise ReplicaFailure(f"{message} (gave up after {tries} tries)")
            self._backoff(attempt, resp)
        raise AssertionError("unreachable")

    @staticmethod
    def _json(base: str, text: str, where: str) -> dict:
        try:
            data = json.loads(text)
        except ValueError:
            raise EngineError(f"{base}{where} sent malformed JSON: {text[:80]!r}") from None
        if not isinstance(data, dict):
            raise EngineError(f"{base}{where} sent JSON that is not an object: {text[:80]!r}")
        if "error" in data and data["error"]:
            err = data["error"]
            raise EngineError(f"{base}{where} reported an error: "
                              f"{err.get('message', err) if isinstance(err, dict) else err}")
        return data

    # -- generation -------------------------------------------------------------------------
    def _body(self, request: Request) -> tuple[str, dict]:
        body: dict = {"model": self._model(), "max_tokens": request.max_tokens,
                      "temperature": request.temperature, "top_p": request.top_p,
                      "stream": self.options.stream}
        if self.options.stream:
            body["stream_options"] = {"include_usage": True}
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = request.stop
        if request.messages is not None:
            body["messages"] = [m.model_dump() for m in request.messages]
            return "/chat/completions", body
        body["prompt"] = request.prompt
        return "/completions", body

    def generate(self, request: Request) -> Iterator[Delta]:
        path, body = self._body(request)
        deadline = time.monotonic() + self.options.timeout_s
        tried: set[str] = set()
        last: ReplicaFailure | None = None
        while (rep := self._replicas.acquire(tried, deadline - time.monotonic())) is not None:
            tried.add(rep.url)
            sent = served = False
            try:
                # closing(): a caller that stops reading closes the response at once
                with closing(self._attempt(rep.url, path, body, deadline)) as deltas:
                    for delta in deltas:
                        sent = sent or bool(delta.text)
                        yield delta
                served = True
                return
            except ReplicaFailure as e:
                self._replicas.failed(rep, str(e))
                if sent or not self._replicas.failover:
                    raise  # text already handed out cannot be taken back
                last = e  # nothing sent yet: another replica answers instead
            finally:
                self._replicas.release(rep, served=served)
        raise self._replicas.all_down(self.model_id) from last

    def _attempt(self, base: str, path: str, body: dict, deadline: float) -> Iterator[Delta]:
        resp = self._send(base, "POST", path, body, deadline=deadline)
        try:
            if self.options.stream:
                yield from self._read_sse(base, resp, path, deadline)
            else:
                yield self._read_whole(base, resp, path)
        finally:
            resp.close()

    @staticmethod
    def _choice(data: dict) -> tuple[str, str | None]:
        choices = data.get("choices") or []
        if not choices:
            return "", None
        c = choices[0]
        text = (c.get("delta") or {}).get("content") or (c.get("message") or {}).get("content") \
            or c.get("text") or ""
        return text, c.get("finish_reason")

    @staticmethod
    def _usage(data: dict, counted: int) -> Usage | None:
        u = data.get("usage")
        if not isinstance(u, dict):
            return None
        return Usage(prompt_tokens=u.get("prompt_tokens"),
                     completion_tokens=u.get("completion_tokens", counted) or counted)

    def _read_whole(self, base: str, resp: httpx.Response, path: str) -> Delta:
        try:
            resp.read()
        except httpx.HTTPError as e:
            raise ReplicaFailure(f"{base}{path}: connection broke: {e}") from e
        data = self._json(base, resp.text, path)
        text, finish = self._choice(data)
        return Delta(text=text, finish_reason="length" if finish == "length" else "stop",
                     usage=self._usage(data, 1 if text else 0) or Usage(completion_tokens=0))

    def _read_sse(self, base: str, resp: httpx.Response, path: str,
                  deadline: float) -> Iterator[Delta]:
        where = f"{base}{path}"
        chunks, finish, usage, done = 0, None, None, False
        try:
            for line in resp.iter_lines():
                if time.monotonic() > deadline:
                    raise EngineError(f"{where}: answer not finished within {self.options.timeout_s:g}s")
                if not line.startswith("data:"):
                    continue  # blank separators, comments (":"), event/id fields
                payload = line[5:].strip()
                if payload == "[DONE]":
                    # Read on to the end of the body rather than break: a fully read
                    # response lets httpx reuse the keep-alive connection.
                    done = True
                    continue
                if done:
                    continue
                data = self._json(base, payload, path)
                text, reason = self._choice(data)
                usage = self._usage(data, chunks) or usage
                if text:
                    chunks += 1
                    yield Delta(text=text)
                finish = reason or finish
        except httpx.TimeoutException as e:
            raise ReplicaFailure(f"{where}: no data for {self.options.read_timeout_s:g}s "
                              f"(after {chunks} chunks)") from e
        except httpx.HTTPError as e:
            # A server may drop the connection right after [DONE] (llama_cpp.server
            # does): the answer is complete, only the keep-alive is lost.
            if not done:
                raise ReplicaFailure(f"{where}: stream broke after {chunks} chunks: "
                                  f"{type(e).__name__}: {e}") from e
        if not done and finish is None:
            raise ReplicaFailure(f"{where}: stream ended early after {chunks} chunks (no [DONE])")
        if usage is None or usage.completion_tokens == 0:
            usage = Usage(prompt_tokens=usage.prompt_tokens if usage else None,
                          completion_tokens=chunks)
        yield Delta(finish_reason="length" if finish == "length" else "stop", usage=usage)

    def complete_many(self, requests: Iterable[Request]) -> list[Result]:
        """Requests run concurrently, at most `max_parallel()` in flight."""
        requests = list(requests)
        with ThreadPoolExecutor(max_workers=min(self.max_parallel(), len(requests) or 1)) as ex:
            return list(ex.map(self.complete, requests))
