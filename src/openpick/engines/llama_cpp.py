"""GGUF models through llama-cpp-python.

The chat template comes from the GGUF and is rendered by our sandboxed renderer (never by
an unsandboxed Jinja). Tokens are generated with `Llama.generate`, which keeps the KV cache
of the longest shared prefix between consecutive requests, so a chat turn only pays for the
new tokens. `llama_cpp` is imported on load, never at package import.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field

from openpick.engines import hashing
from openpick.engines.base import (
    ContextOverflow, Delta, Engine, EngineError, EngineOptions, ModelIdentity, Request,
    StopMatcher, Usage, render_plain,
)
from openpick.engines.templates import render_chat
from openpick.errors import InvalidInput, NotFound, missing_extra


def default_threads() -> int:
    # llama-cpp-python's own default (one thread per physical core on SMT machines). More
    # threads than free cores is far worse than fewer: llama.cpp's threads spin at barriers,
    # and on a 2-core machine with one busy core 2 threads decoded 12x slower than 1.
    return max(1, (os.cpu_count() or 2) // 2)


class LlamaCppOptions(EngineOptions):
    n_ctx: int = Field(4096, ge=0, description="context window; 0 = the model's trained length")
    n_threads: int = Field(default_factory=default_threads, ge=1)
    n_gpu_layers: int = Field(0, description="layers to offload to the GPU; -1 = all")
    n_batch: int = Field(512, ge=1)
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


class LlamaCppEngine(Engine):
    name = "llama-cpp"
    Options = LlamaCppOptions
    options: LlamaCppOptions

    def __init__(self, target: str, options=None, **kw):
        super().__init__(target, options, **kw)
        self.path = Path(target).expanduser()
        check_gguf(self.path)
        self._llm = None
        self._sha256: str | None = None
        self.load()

    # -- loading -------------------------------------------------------------------------
    def load(self):
        if self._llm is not None:
            return self._llm
        try:
            import llama_cpp
        except ImportError:
            raise missing_extra("llama-cpp-python", "llama") from None
        o = self.options
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.path), n_ctx=o.n_ctx, n_threads=o.n_threads,
                n_threads_batch=o.n_threads, n_gpu_layers=o.n_gpu_layers, n_batch=o.n_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as e:
            raise EngineError(f"llama.cpp could not load the model (corrupt, truncated or an "
                              f"unsupported architecture): {e}", path=str(self.path)) from e
        meta = self._llm.metadata
        self.chat_template = o.chat_template or meta.get("tokenizer.chat_template")
        self._eos_text = self._piece(self._llm.token_eos())
        return self._llm

    def context_size(self) -> int:
        # llama.cpp rounds the context up (64 → 256) but llama-cpp-python sizes its token
        # buffer by the number asked for; the smaller one is the real limit.
        return min(self._llm.n_ctx(), len(self._llm.input_ids))

    def _piece(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def close(self) -> None:
        with self.lock:
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
        except (KeyError, ValueError):
            return int(size * 1.2)
        # f16 K and V for every layer and context position.
        kv = self.context_size() * layers * 2 * (embd * kv_heads // heads) * 2
        return size + kv

    # -- generation -----------------------------------------------------------------------
    def _prompt_tokens(self, request: Request) -> tuple[list[int], list[str]]:
        llm = self._llm
        extra_stops: list[str] = []
        if request.prompt is not None:
            return llm.tokenize(request.prompt.encode(), add_bos=True, special=False), []
        if self.chat_template:
            # bos is added by the tokenizer (when the vocab wants one), so render it empty.
            text = render_chat(self.chat_template, request.messages, bos_token="",
                               eos_token=self._eos_text)
        else:
            text, extra_stops = render_plain(request.messages), ["\nUser:"]
        return llm.tokenize(text.encode(), add_bos=True, special=True), extra_stops

    def generate(self, request: Request) -> Iterator[Delta]:
        import llama_cpp

        with self.lock:
            llm = self.load()
            tokens, extra_stops = self._prompt_tokens(request)
            n_prompt, n_ctx = len(tokens), self.context_size()
            if n_prompt >= n_ctx:
                raise ContextOverflow(f"the prompt is {n_prompt} tokens but the context holds "
                                      f"{n_ctx}; shorten it or raise n_ctx")
            budget = min(request.max_tokens, n_ctx - n_prompt)
            if request.seed is not None:
                llm.set_seed(request.seed)
            stopper = StopMatcher(request.stop + extra_stops)
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            vocab = llm._model.vocab
            count, finish, stopped = 0, "length", False
            for token in llm.generate(tokens, temp=request.temperature, top_p=request.top_p,
                                      top_k=0, min_p=0.0, repeat_penalty=1.0):
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = "stop"
                    break
                count += 1
                out, stopped = stopper.feed(decoder.decode(llm.detokenize([token])))
                if out:
                    yield Delta(text=out)
                if stopped:
                    finish = "stop"
                    break
                if count >= budget:
                    break
            tail = ""
            if not stopped:  # release text held back as a possible stop-string prefix
                out, hit = stopper.feed(decoder.decode(b"", final=True))
                tail = out if hit else out + stopper.flush()
            yield Delta(text=tail, finish_reason=finish,
                        usage=Usage(prompt_tokens=n_prompt, completion_tokens=count))
