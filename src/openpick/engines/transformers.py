"""Hugging Face model folders (and GGUF files through `gguf_file=`) with transformers.

Safe by default: only safetensors weights load unless `allow_pickle` is set (a pickle file
can run code when loaded), and `trust_remote_code` is off unless asked. Chat templates are
rendered by openpick's sandboxed renderer. `complete_many` batches requests (left padding)
so a GPU is used well; `generate` streams one request from a background generate() thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import Field

from openpick.engines.base import (
    ContextOverflow, Delta, Engine, EngineError, EngineOptions, ModelIdentity, Request, Result,
    StopMatcher, Timings, Usage, render_plain,
)
from openpick.engines.templates import render_chat
from openpick.errors import InvalidInput, NotFound, missing_extra

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl"}


class TransformersOptions(EngineOptions):
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1, mps")
    dtype: str = Field("auto", description="auto, float32, bfloat16, float16")
    allow_pickle: bool = Field(False, description="allow .bin/.pt/.pth/.ckpt weights")
    trust_remote_code: bool = False
    gguf_file: str | None = None
    batch_size: int = Field(16, ge=1)


def check_weights(folder: Path, allow_pickle: bool) -> None:
    files = [p for p in folder.iterdir() if p.is_file()]
    if any(p.suffix == ".safetensors" for p in files):
        return
    pickled = sorted(p.name for p in files if p.suffix in PICKLE_SUFFIXES)
    if pickled and not allow_pickle:
        raise InvalidInput(f"only pickle weights ({', '.join(pickled[:3])}); they can run code "
                           "when loaded. Convert to safetensors, or pass -o allow_pickle=true "
                           "if you trust the source", path=str(folder))
    if not pickled:
        raise InvalidInput("no model weights (*.safetensors) in this folder", path=str(folder))


class TransformersEngine(Engine):
    name = "transformers"
    Options = TransformersOptions
    options: TransformersOptions

    def __init__(self, target: str, options=None, **kw):
        super().__init__(target, options, **kw)
        path = Path(target).expanduser()
        if not path.exists():
            raise NotFound(f"model folder or file not found: {path}")
        gguf = self.options.gguf_file
        if path.is_file() and path.suffix == ".gguf":
            path, gguf = path.parent, path.name
        self.folder, self.gguf_file = path, gguf
        if gguf is None:
            check_weights(path, self.options.allow_pickle)
        self._load()

    def _load(self) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError:
            raise missing_extra("transformers and torch", "hf") from None
        hf_logging.disable_progress_bar()  # stdout/stderr belong to the answer and timings
        o = self.options
        device = o.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = {"auto": torch.bfloat16 if device.startswith("cuda") else torch.float32,
                 "float32": torch.float32, "bfloat16": torch.bfloat16,
                 "float16": torch.float16}.get(o.dtype)
        if dtype is None:
            raise InvalidInput(f"dtype {o.dtype!r}: use auto, float32, bfloat16 or float16")
        kw = dict(trust_remote_code=o.trust_remote_code)
        if self.gguf_file:
            kw["gguf_file"] = self.gguf_file
        else:
            kw["use_safetensors"] = not o.allow_pickle
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), **kw)
            self.model = AutoModelForCausalLM.from_pretrained(str(self.folder), dtype=dtype, **kw)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise EngineError(f"transformers could not load the model: "
                              f"{str(e).splitlines()[0][:300]}", path=str(self.folder)) from e
        self.model.to(device).eval()
        self.device = device
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        tok.padding_side = "left"  # decoder-only batching pads on the left
        self.max_len = getattr(self.model.config, "max_position_embeddings", None)

    def identity(self) -> ModelIdentity:
        from openpick.engines import hashing

        path = self.folder / self.gguf_file if self.gguf_file else self.folder
        sha = hashing.file_sha256(path) if path.is_file() else None
        return ModelIdentity(engine=self.name, name=self.display_name, path=str(path),
                             sha256=sha, record_id=self.record_id)

    def estimated_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.model.parameters())

    def close(self) -> None:
        self.model = None

    # -- prompts ----------------------------------------------------------------------------
    def _text(self, request: Request) -> tuple[str, bool]:
        """(text, add_special_tokens)."""
        if request.prompt is not None:
            return request.prompt, True
        template = getattr(self.tokenizer, "chat_template", None)
        if template:
            return render_chat(template, request.messages, bos_token=self.tokenizer.bos_token or "",
                               eos_token=self.tokenizer.eos_token or ""), False
        return render_plain(request.messages), True

    def _encode(self, requests: list[Request]):
        texts, specials = zip(*(self._text(r) for r in requests))
        enc = self.tokenizer(list(texts), return_tensors="pt", padding=True,
                             add_special_tokens=specials[0])
        longest = int(enc["attention_mask"].sum(dim=1).max())
        if self.max_len and longest >= self.max_len:
            raise ContextOverflow(f"the prompt is {longest} tokens but the model holds "
                                  f"{self.max_len}")
        return enc.to(self.device)

    def _gen_kwargs(self, r: Request) -> dict:
        kw = dict(max_new_tokens=r.max_tokens, pad_token_id=self.tokenizer.pad_token_id)
        if r.temperature > 0:
            kw.update(do_sample=True, temperature=r.temperature, top_p=r.top_p)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kw

    # -- one request, streamed -------------------------------------------------------------
    def generate(self, request: Request) -> Iterator[Delta]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        tokens: queue.Queue = queue.Queue()
        halt = threading.Event()

        class Streamer(BaseStreamer):
            first = True

            def put(self, value):
                if self.first:  # generate() first hands over the prompt
                    self.first = False
                    return
                tokens.put(int(value.reshape(-1)[0]))

            def end(self):
                tokens.put(None)

        class Halt(StoppingCriteria):
            def __call__(self, input_ids, scores, **kw):
                return torch.full((input_ids.shape[0],), halt.is_set(), dtype=torch.bool,
                                  device=input_ids.device)

        with self.lock:
            enc = self._encode([request])
            n_prompt = int(enc["input_ids"].shape[1])
            failure: list[BaseException] = []

            def run():
                try:
                    if request.seed is not None:
                        torch.manual_seed(request.seed)
                    with torch.inference_mode():
                        self.model.generate(**enc, **self._gen_kwargs(request), streamer=Streamer(),
                                            stopping_criteria=StoppingCriteriaList([Halt()]))
                except BaseException as e:  # surfaced in the caller's thread
                    failure.append(e)
                    tokens.put(None)

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            try:
                yield from self._drain(tokens, request, n_prompt, failure)
            finally:
                halt.set()
                worker.join()

    def _drain(self, tokens, request, n_prompt, failure) -> Iterator[Delta]:
        tok, eos = self.tokenizer, set(_eos_ids(self.model, self.tokenizer))
        ids: list[int] = []
        shown = ""
        stopper = StopMatcher(request.stop)
        finish, stopped = "length", False
        while (t := tokens.get()) is not None:
            if t in eos:
                finish = "stop"
                break
            ids.append(t)
            text = tok.decode(ids, skip_special_tokens=True)
            if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for more
                continue
            out, stopped = stopper.feed(text[len(shown):])
            shown = text
            if out:
                yield Delta(text=out)
            if stopped:
                finish = "stop"
                break
        if failure:
            raise EngineError(f"transformers generate failed: {failure[0]}") from failure[0]
        tail = "" if stopped else stopper.feed(tok.decode(ids, skip_special_tokens=True)[len(shown):])[0] + stopper.flush()
        yield Delta(text=tail, finish_reason=finish,
                    usage=Usage(prompt_tokens=n_prompt, completion_tokens=len(ids)))

    # -- many requests, batched ------------------------------------------------------------
    def complete_many(self, requests: Iterable[Request]) -> list[Result]:
        requests = list(requests)
        results: list[Result | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):  # one generate() per set of sampling parameters
            key = (r.max_tokens, r.temperature, r.top_p, r.seed, tuple(r.stop), r.prompt is None)
            groups.setdefault(key, []).append(i)
        for idx in groups.values():
            for start in range(0, len(idx), self.options.batch_size):
                batch = idx[start:start + self.options.batch_size]
                for i, res in zip(batch, self._batch([requests[i] for i in batch])):
                    results[i] = res
        return results  # type: ignore[return-value]

    def _batch(self, batch: list[Request]) -> list[Result]:
        import torch

        r0 = batch[0]
        with self.lock:
            enc = self._encode(batch)
            t0 = time.perf_counter()
            if r0.seed is not None:
                torch.manual_seed(r0.seed)
            with torch.inference_mode():
                out = self.model.generate(**enc, **self._gen_kwargs(r0))
            total = time.perf_counter() - t0
        eos = set(_eos_ids(self.model, self.tokenizer))
        width = enc["input_ids"].shape[1]
        results = []
        for row, r in zip(range(out.shape[0]), batch):
            new = out[row, width:].tolist()
            n_prompt = int(enc["attention_mask"][row].sum())
            cut = next((k for k, t in enumerate(new) if t in eos), None)
            ids = new if cut is None else new[:cut]
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            finish = "stop" if cut is not None else "length"
            stopper = StopMatcher(r.stop)
            kept, hit = stopper.feed(text)
            text = kept if hit else kept + stopper.flush()
            finish = "stop" if hit else finish
            results.append(Result(
                text=text, finish_reason=finish,
                usage=Usage(prompt_tokens=n_prompt, completion_tokens=len(ids)),
                # one generate() for the whole batch: per-request TTFT is not observable
                timings=Timings(ttft_s=None, total_s=total,
                                decode_tok_s=len(ids) / total if total > 0 and ids else None),
                model=self.identity()))
        return results


def _eos_ids(model, tokenizer) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos or [])
