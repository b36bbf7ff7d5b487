"""GGUF models through llama-cpp-python, many requests at once on one loaded model.

Scoring (`loglikelihood`, multiple choice without generating) runs on a second llama.cpp
context made on the same loaded weights (`_Scorer`): its own KV cache of one sequence, so it
never waits for or disturbs the batcher's slots. It is made on first use and keeps the
tokens it last decoded, so the choices of one question (and questions that share a few-shot
prefix) decode the shared context once.

The chat template comes from the GGUF and is rendered by our sandboxed renderer (never by
an unsandboxed Jinja). Tokens come from our own continuous-batching loop over llama.cpp's
low-level API (engines/llama_batch.py): `parallel` slots decode together in one
`llama_decode`, each slot keeps its KV cache between requests, and a request goes to the slot
with the longest shared prefix, so a chat turn only pays for the new tokens.
`llama_cpp` is imported on load, never at package import.
"""

from __future__ import annotations

import ctypes
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field

from openpick.engines import hashing
from openpick.engines.base import (
    ChoiceScore, ContextOverflow, Delta, Engine, EngineError, Message, ModelIdentity,
    NativeOptions, Request, continuation_tokens, render_plain, split_continuation,
)
from openpick.engines.llama_batch import STATS, Batcher, Job
from openpick.engines.templates import render_chat
from openpick.errors import InvalidInput, NotFound, missing_extra

_backend_ready = False

# Batch invariance. ggml picks some CPU kernels by how many rows an op gets, and they round
# differently, so a token's logits (and so greedy output) would depend on what else was in
# its llama_decode. Found by comparing logits bit for bit, alone against batched:
# - K-quant matmuls (Q4_K, Q6_K, ...) take a tiled kernel at 8+ rows: GGML_CPU_TILED_MM=0
#   turns it off (ggml reads it once per process, at the first matmul);
# - flash attention takes a tiled kernel at 64+ query rows of a sequence, and a split-KV
#   one for a lone token past 256 cells with 2+ threads: so flash attention is off;
# - without it, a prompt that shared a ubatch with other sequences came out different, so
#   a prompt chunk gets a llama_decode of its own (`solo_prompts`), taking turns with the
#   generating sequences' decode (llama.cpp splits a mixed batch in two ubatches anyway);
# - a prompt token alone in its chunk takes other attention kernels than one in a chunk of
#   2+, so no chunk is left with one token (llama_batch._chunk, Batcher._start).
# Not covered: a cached answer (a chat's earlier turn, decoded token by token) and the same
# text prefilled as a prompt differ in the last bits, so a chat turn's output can depend on
# whether its slot still held the conversation.


class LlamaCppOptions(NativeOptions):
    n_ctx: int = Field(4096, ge=0, description="context window of each request (each slot "
                       "holds this many tokens); 0 = the model's trained length")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: the physical "
                                  "cores that are free when the model loads")
    n_gpu_layers: int = Field(0, description="layers to offload to the GPU; -1 = all")
    n_batch: int = Field(512, ge=1, description="most tokens in one llama_decode (prompt "
                         "chunks and the generating sequences' tokens together)")
    parallel: int = Field(4, ge=1, le=256, description="requests decoded together (slots); "
                          "more wait their turn in order")
    extra_buffers: bool | None = Field(None, description="llama.cpp's extra weight buffer "
                                       "types (AMX / repacked layouts); default: probed once "
                                       "per machine (engines/probe.py)")
    batch_invariant: bool = Field(True, description="the same output for a request alone "
                                  "or batched with others (slower prompt processing for long "
                                  "prompts); false: llama.cpp's fastest kernels")
    chat_template: str | None = Field(None, description="override the GGUF's template")


def check_gguf(path: Path) -> None:
    """Fail early, with one line, on a path that is missing or not a GGUF file."""
    if not path.exists():
        raise NotFound(f"model file not found: {path}")
    if not path.is_file():
        raise InvalidInput("not a file (expected a .gguf model)", path=str(path))
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise InvalidInput("not a GGUF file (bad magic bytes)", path=str(path))


def _import_llama():
    global _backend_ready
    try:
        import llama_cpp
        from llama_cpp import _logger
    except ImportError:
        raise missing_extra("llama-cpp-python", "llama") from None
    _logger.set_verbose(False)  # llama.cpp logs every load to stderr otherwise
    if not _backend_ready:
        llama_cpp.llama_backend_init()
        _backend_ready = True
    return llama_cpp


class LoadedModel:
    """What `load()` returns: the model with its tokenizer, and the batcher that runs it."""

    def __init__(self, model, n_ctx_slot: int):
        self._model = model  # llama_cpp._internals.LlamaModel
        self.batcher: Batcher | None = None
        self.n_ctx_slot = n_ctx_slot
        self.metadata = model.metadata()
        self._pieces: dict[tuple[int, bool], bytes] = {}

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return self._model.tokenize(text, add_bos, special)

    def piece(self, token: int, special: bool = False) -> bytes:
        """One token's bytes (memoized: the scheduler asks for every generated token)."""
        key = (token, special)
        if key not in self._pieces:
            self._pieces[key] = _token_bytes(self._model.vocab, token, special)
        return self._pieces[key]

    def detokenize(self, tokens: list[int], special: bool = False) -> bytes:
        return b"".join(self.piece(t, special) for t in tokens)

    def token_eos(self) -> int:
        return self._model.token_eos()

    def reset(self) -> None:
        """Forget the cached prompts, so the next requests prefill in full (benchmarks)."""
        self.batcher.forget()

    def close(self) -> None:
        self.batcher.close()
        self._model.close()


def _token_bytes(vocab, token: int, special: bool) -> bytes:
    import llama_cpp

    size = 64
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, size, 0, special)
        if n >= 0:
            return buf.raw[:n]
        size = -n  # the piece is longer than the buffer: llama.cpp says how long


class LlamaCppEngine(Engine):
    name = "llama-cpp"
    Options = LlamaCppOptions
    options: LlamaCppOptions
    can_score = True

    def __init__(self, target: str, options=None, **kw):
        super().__init__(target, options, **kw)
        self.path = Path(target).expanduser()
        check_gguf(self.path)
        self._llm: LoadedModel | None = None
        self._scorer: _Scorer | None = None
        self._score_lock = threading.Lock()  # one scoring context, not re-entrant
        self._sha256: str | None = None
        self.threads: int | None = None
        self.load()

    # -- loading -------------------------------------------------------------------------
    def load(self) -> LoadedModel:
        with self.lock:
            if self._llm is None:
                self._llm = self._load()
            return self._llm

    def _load(self) -> LoadedModel:
        lc = _import_llama()
        from llama_cpp import _internals

        o = self.options
        if o.batch_invariant:
            os.environ.setdefault("GGML_CPU_TILED_MM", "0")  # a user's own setting wins
        self.threads = self.resolve_threads()
        try:
            model = _internals.LlamaModel(path_model=str(self.path), params=self._model_params(lc),
                                          verbose=False)
        except (ValueError, RuntimeError, OSError) as e:
            raise EngineError(f"llama.cpp could not load the model (corrupt, truncated or an "
                              f"unsupported architecture): {e}", path=str(self.path)) from e
        per_slot = o.n_ctx or model.n_ctx_train()
        ctx = lc.llama_init_from_model(model.model, self._context_params(lc, per_slot))
        if not ctx:
            model.close()
            raise EngineError(f"llama.cpp could not make a context of {per_slot} tokens x "
                              f"{o.parallel} slots (out of memory? lower n_ctx or parallel)",
                              path=str(self.path))
        # llama.cpp rounds each slot up to a multiple of 256 cells; the asked size is the limit.
        n_ctx_slot = min(per_slot, lc.llama_n_ctx_seq(ctx))
        llm = LoadedModel(model, n_ctx_slot)
        llm.batcher = Batcher(ctx, model.vocab, n_slots=o.parallel, n_batch=o.n_batch,
                              threads=self.threads, piece=llm.piece,
                              solo_prompts=o.batch_invariant)
        meta = llm.metadata
        self.chat_template = o.chat_template or meta.get("tokenizer.chat_template")
        self._eos_text = self._piece(llm, llm.token_eos())
        return llm

    @classmethod
    def identity_before_load(cls, target, display_name, record_id=None):
        path = Path(target).expanduser()
        return {"engine": cls.name, "name": display_name, "path": str(path),
                "sha256": hashing.file_sha256(path), "record_id": record_id}

    @classmethod
    def worker_options(cls, options: dict) -> dict:
        if options.get("extra_buffers") is None:
            # Decided in the parent, once, so no worker probes (engines/probe.py).
            from openpick.engines.probe import extra_buffers_default

            options = {**options, "extra_buffers": extra_buffers_default()}
        return options

    @classmethod
    def crash_hint(cls, options: dict, death: str) -> str | None:
        if options.get("extra_buffers") and " died from SIG" in death:
            return ("if every request crashes, llama.cpp's extra CPU buffer types may be at "
                    "fault: try -o extra_buffers=false")
        return None

    def resolve_threads(self) -> int:
        """n_threads, or the physical cores free right now (busy cores stall every step)."""
        if self.options.n_threads:
            return self.options.n_threads
        from openpick.engines.cpu import free_physical_cores

        return free_physical_cores()

    def _model_params(self, lc):
        o = self.options
        params = lc.llama_model_default_params()
        params.n_gpu_layers = 0x7FFFFFFF if o.n_gpu_layers == -1 else o.n_gpu_layers
        extra = o.extra_buffers
        if extra is None:
            from openpick.engines.probe import extra_buffers_default

            extra = extra_buffers_default()
        params.use_extra_bufts = extra
        return params

    def _context_params(self, lc, per_slot: int):
        o = self.options
        params = lc.llama_context_default_params()
        params.n_ctx = per_slot * o.parallel  # each sequence gets n_ctx / n_seq_max cells
        params.n_batch = params.n_ubatch = o.n_batch
        params.n_seq_max = o.parallel
        params.kv_unified = False  # a KV stream per sequence: attention over its own cells
        params.n_threads = params.n_threads_batch = self.threads
        # Flash attention picks kernels by row count (see the top of this module).
        params.flash_attn_type = (lc.LLAMA_FLASH_ATTN_TYPE_DISABLED if o.batch_invariant
                                  else lc.LLAMA_FLASH_ATTN_TYPE_AUTO)
        return params

    def context_size(self) -> int:
        """The tokens one request may hold (prompt + answer)."""
        return self.load().n_ctx_slot

    def _piece(self, llm: LoadedModel, token: int) -> str:
        if token < 0:
            return ""
        return llm.piece(token, special=True).decode("utf-8", errors="ignore")

    def max_parallel(self) -> int:
        return self.options.parallel

    @property
    def stats(self) -> dict[str, int]:
        """Counters since load: prefilled_tokens (prompt tokens decoded), reused_tokens
        (prompt tokens found in a slot's cache), decoded_tokens, decode_calls, requests,
        max_batch_sequences."""
        llm = self._llm
        return dict(llm.batcher.stats) if llm else dict.fromkeys(STATS, 0)

    def close(self) -> None:
        with self.lock, self._score_lock:
            if self._scorer is not None:
                self._scorer.close()
                self._scorer = None
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    # -- identity and size ----------------------------------------------------------------
    def identity(self) -> ModelIdentity:
        if self._sha256 is None:
            self._sha256 = hashing.file_sha256(self.path)
        return ModelIdentity(engine=self.name, name=self.display_name, path=str(self.path),
                             sha256=self._sha256, record_id=self.record_id)

    def estimated_bytes(self) -> int:
        size = self.path.stat().st_size
        llm = self._llm
        if llm is None:
            return size
        meta = llm.metadata
        arch = meta.get("general.architecture", "")
        try:
            layers = int(meta[f"{arch}.block_count"])
            embd = int(meta[f"{arch}.embedding_length"])
            heads = int(meta[f"{arch}.attention.head_count"])
            kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads))
            k_dim = int(meta.get(f"{arch}.attention.key_length", embd // heads))
            v_dim = int(meta.get(f"{arch}.attention.value_length", k_dim))
        except (KeyError, ValueError):
            return int(size * 1.2)
        # f16 K and V for every layer and position of every slot.
        cells = llm.n_ctx_slot * self.options.parallel
        return size + cells * layers * kv_heads * (k_dim + v_dim) * 2

    # -- generation -----------------------------------------------------------------------
    def _prompt_tokens(self, llm: LoadedModel, request: Request) -> tuple[list[int], list[str]]:
        if request.prompt is not None:
            return llm.tokenize(request.prompt.encode(), add_bos=True, special=False), []
        if self.chat_template:
            # bos is added by the tokenizer (when the vocab wants one), so render it empty.
            text = render_chat(self.chat_template, request.messages, bos_token="",
                               eos_token=self._eos_text)
            return llm.tokenize(text.encode(), add_bos=True, special=True), []
        return llm.tokenize(render_plain(request.messages).encode(), True, True), ["\nUser:"]

    def generate(self, request: Request) -> Iterator[Delta]:
        llm = self.load()
        tokens, extra_stops = self._prompt_tokens(llm, request)
        n_prompt, n_ctx = len(tokens), llm.n_ctx_slot
        if n_prompt == 0:
            raise InvalidInput("the prompt is empty (and this model adds no start token)")
        if n_prompt >= n_ctx:
            raise ContextOverflow(f"the prompt is {n_prompt} tokens but the context holds "
                                  f"{n_ctx}; shorten it or raise n_ctx")
        job = Job(prompt=tokens, budget=min(request.max_tokens, n_ctx - n_prompt),
                  temperature=request.temperature, top_p=request.top_p, seed=request.seed,
                  stops=request.stop + extra_stops)
        llm.batcher.submit(job)
        try:
            while True:
                item = _next(job, llm.batcher)
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finish_reason:
                    return
        finally:  # also on GeneratorExit: the client left, its slot is freed at once
            llm.batcher.cancel(job)

    # -- scoring (multiple choice by log-likelihood) ----------------------------------------
    def loglikelihood(self, context: str | list[Message],
                      continuations: list[str]) -> list[ChoiceScore]:
        llm = self.load()
        with self._score_lock:
            if self._scorer is None:
                self._scorer = _Scorer(self, llm)
            scorer = self._scorer
            return [scorer.score(*self._score_tokens(llm, context, c)) for c in continuations]

    def _score_tokens(self, llm: LoadedModel, context: str | list[Message],
                      continuation: str) -> tuple[list[int], list[int]]:
        """(context tokens, continuation tokens), split as lm-eval splits them."""
        special = not isinstance(context, str)
        if special:
            context = self._prompt_text(context)
        text, cont = split_continuation(context, continuation)
        ctx = llm.tokenize(text.encode(), add_bos=True, special=special)
        if not ctx:  # no text and no start token: condition on the start or end token
            bos = llm._model.token_bos()
            ctx = [bos if bos >= 0 else llm.token_eos()]
        whole = llm.tokenize((text + cont).encode(), add_bos=True, special=special)
        toks = continuation_tokens(ctx, whole, lambda: llm.tokenize(cont.encode(), False, False))
        if not toks:
            raise InvalidInput(f"the continuation {continuation!r} has no tokens")
        if len(ctx) + len(toks) > llm.n_ctx_slot:
            raise ContextOverflow(f"context and continuation are {len(ctx) + len(toks)} tokens "
                                  f"but the context holds {llm.n_ctx_slot}; raise n_ctx")
        return ctx, toks

    def _prompt_text(self, messages: list[Message]) -> str:
        if self.chat_template:
            return render_chat(self.chat_template, messages, bos_token="",
                               eos_token=self._eos_text)
        return render_plain(messages)


def _next(job: Job, batcher: Batcher):
    """The job's next delta; an error if the scheduler thread is gone (never hang)."""
    while True:
        try:
            return job.out.get(timeout=1.0)
        except queue.Empty:
            if not batcher.alive():  # closed or died: its last word, if any, is queued now
                try:
                    return job.out.get(timeout=1.0)
                except queue.Empty:
                    return EngineError("the llama.cpp scheduler stopped")





class _Scorer:
    """A llama.cpp context of one sequence for scoring, on the engine's loaded weights.

    `cached` is what its KV cache holds, by position. A context's tokens but the last are
    decoded once (no logits needed); each continuation then decodes the context's last
    token and its own tokens but the last, with logits for all of them, after dropping the
    previous continuation from the cache."""

    def __init__(self, engine: LlamaCppEngine, llm: LoadedModel):
        import llama_cpp as lc

        self._lc = lc
        o = engine.options
        params = engine._context_params(lc, llm.n_ctx_slot)
        params.n_ctx, params.n_seq_max = llm.n_ctx_slot, 1
        self.ctx = lc.llama_init_from_model(llm._model.model, params)
        if not self.ctx:
            raise EngineError(f"llama.cpp could not make a scoring context of "
                              f"{llm.n_ctx_slot} tokens (out of memory? lower n_ctx)")
        self.mem = lc.llama_get_memory(self.ctx)
        self.n_batch = o.n_batch
        self.batch = lc.llama_batch_init(self.n_batch, 0, 1)
        self.n_vocab = lc.llama_vocab_n_tokens(llm._model.vocab)
        self.cached: list[int] = []

    def score(self, ctx: list[int], cont: list[int]) -> ChoiceScore:
        import numpy as np

        from openpick.engines.llama_batch import common_prefix

        prefix = ctx[:-1]
        keep = common_prefix(self.cached, prefix)
        if not self._lc.llama_memory_seq_rm(self.mem, 0, keep, -1):
            self._lc.llama_memory_seq_rm(self.mem, 0, -1, -1)  # cannot drop a tail: afresh
            keep = 0
        self.cached = self.cached[:keep]
        self._decode(prefix[keep:], want_logits=False)
        rows = self._decode([ctx[-1], *cont[:-1]], want_logits=True)
        # The continuation is dropped next time (prefix differs there), not now: a second
        # choice of the same question shares `prefix` and finds it cached.
        logits = np.stack(rows).astype(np.float64)
        top = logits.max(axis=1, keepdims=True)
        logz = (top[:, 0] + np.log(np.exp(logits - top).sum(axis=1)))
        picked = logits[np.arange(len(cont)), cont]
        greedy = bool((logits.argmax(axis=1) == np.asarray(cont)).all())
        return ChoiceScore(logprob=float((picked - logz).sum()), tokens=len(cont),
                           is_greedy=greedy)

    def _decode(self, tokens: list[int], want_logits: bool) -> list:
        """Decode `tokens` after the cached ones, in chunks of n_batch; the logits of each
        token (copied out, as the next decode overwrites them) when wanted."""
        import numpy as np

        lc, b, rows = self._lc, self.batch, []
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start:start + self.n_batch]
            pos0 = len(self.cached)
            for i, tok in enumerate(chunk):
                b.token[i], b.pos[i], b.n_seq_id[i] = tok, pos0 + i, 1
                b.seq_id[i][0] = 0
                b.logits[i] = want_logits
            b.n_tokens = len(chunk)
            rc = lc.llama_decode(self.ctx, b)
            if rc != 0:
                lc.llama_memory_seq_rm(self.mem, 0, -1, -1)
                self.cached = []
                raise EngineError(f"llama_decode failed while scoring (code {rc})")
            self.cached.extend(chunk)
            if want_logits:
                for i in range(len(chunk)):
                    ptr = lc.llama_get_logits_ith(self.ctx, i)
                    rows.append(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy())
        return rows

    def close(self) -> None:
        if self.ctx:
            self._lc.llama_batch_free(self.batch)
            self._lc.llama_free(self.ctx)
            self.ctx = None
