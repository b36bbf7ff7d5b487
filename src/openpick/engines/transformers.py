"""Hugging Face model folders (and GGUF files through `gguf_file=`) with transformers.

Safe by default: only safetensors weights load unless `allow_pickle` is set (a pickle file
can run code when loaded), and `trust_remote_code` is off unless asked. Chat templates are
rendered by openpick's sandboxed renderer.

Continuous batching. `generate` is safe to call from many threads at once: each request
becomes a job, and one scheduler thread, which alone touches the model, decodes every job in
flight together in a hand-written loop (a DynamicCache, a per-row attention mask and explicit
position ids; not `model.generate`):

- Joining mid-batch: yes. A request that arrives while a batch runs is prefilled on its own
  (requests with prompts of the same length that arrive together share one prefill, so a
  prefill never holds padding), its first token is sampled and streamed at once, and its
  cache is merged into the running one with left-padding alignment: the shorter side gets
  zero keys and values on the left, masked out. The running rows wait one prefill for it.
- Leaving: a row leaves at EOS, at max_tokens, when the context is full, or when its caller
  stops reading (a stop string, which StopMatcher finds in the caller's thread, or a stream
  closed early). Its row is dropped from the cache (`batch_select_indices`) and padding
  columns that no remaining row needs are cut off.
- Sampling per row: greedy (argmax) at temperature 0; otherwise temperature and top-p with
  the request's own `torch.Generator`, so a seed gives the same text whatever company the
  request has in the batch.
- Caches that padding cannot merge (sliding-window, linear-attention and other non-plain
  layers) get one row at a time through the same loop.

Each request streams its own tokens as they come, so its TTFT and decode speed are its own.

Scoring (`loglikelihood`, multiple choice without generating) is the one exception to "the
scheduler alone touches the model": a stateless forward pass (no cache) in the caller's
thread, all choices of a question in one right-padded batch, then log_softmax over the
continuation's positions. Right padding changes nothing for a causal model's real tokens.

Batched greedy output matches each request run alone (the tests check it), but the logits
are not bitwise equal: on CPU, float32 matrix products over several rows round differently
from one row's, by up to about 1e-4 on SmolLM2's logits, padded or not (padding itself adds
no difference). Only a near-tie between the two most likely tokens could flip a choice.
"""

from __future__ import annotations

import atexit
import inspect
import io
import queue
import threading
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext, redirect_stderr
from pathlib import Path

from pydantic import Field

from openpick.engines.base import (
    ChoiceScore, ContextOverflow, Delta, Engine, EngineError, Message, ModelIdentity,
    NativeOptions, Request, Result, Runtime, StopMatcher, Usage, continuation_tokens,
    render_plain, split_continuation,
)
from openpick.engines.templates import render_chat
from openpick.errors import InvalidInput, NotFound, missing_extra

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl"}


class TransformersOptions(NativeOptions):
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1, mps")
    dtype: str = Field("auto", description="auto, float32, bfloat16, float16")
    allow_pickle: bool = Field(False, description="allow .bin/.pt/.pth/.ckpt weights")
    trust_remote_code: bool = False
    gguf_file: str | None = None
    batch_size: int = Field(16, ge=1, description="most requests decoded together (batch rows)")
    adapter: str | None = Field(None, description="a PEFT LoRA adapter folder, merged in on load")
    adapter_sha256: str | None = Field(None, description="the adapter file's sha256, checked")


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
    can_score = True

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
        self._scheduler: _Scheduler | None = None
        self._tok_lock = threading.Lock()  # a fast tokenizer may not be encoded from two threads
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
        # GGUF dequantizing draws a raw tqdm bar that hf logging does not silence
        quiet = redirect_stderr(io.StringIO()) if self.gguf_file else nullcontext()
        try:
            with quiet:
                self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), **kw)
                self.model = AutoModelForCausalLM.from_pretrained(str(self.folder), dtype=dtype,
                                                                  **kw)
            if o.adapter:
                self._apply_adapter()
            self.model.to(device).eval()
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise EngineError(f"transformers could not load the model: "
                              f"{str(e).splitlines()[0][:300]}", path=str(self.folder)) from e
        self.device = device
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        tok.padding_side = "left"  # decoder-only batching pads on the left
        self.max_len = getattr(self.model.config, "max_position_embeddings", None)
        self._rows = self.options.batch_size if _mergeable(self.model) else 1

    # -- adapters (a model from `openpick tune`) ---------------------------------------------
    def _apply_adapter(self) -> None:
        """Merge a LoRA adapter into the loaded weights: the scheduler then runs a plain
        model at the base's speed. The adapter file must match its recorded sha256."""
        try:
            from peft import PeftModel
        except ImportError:
            raise missing_extra("peft", "tune") from None
        from openpick.engines import hashing

        folder = Path(self.options.adapter).expanduser()
        weights = folder / "adapter_model.safetensors"
        if not weights.is_file():
            raise NotFound(f"no adapter_model.safetensors in the adapter folder {folder}")
        want = self.options.adapter_sha256
        if want and hashing.file_sha256(weights) != want:
            raise InvalidInput(f"the adapter's sha256 is not the recorded {want[:12]}…; "
                               "retrain it", path=str(weights))
        self.model = PeftModel.from_pretrained(self.model, str(folder)).merge_and_unload()

    def identity(self) -> ModelIdentity:
        from openpick.engines import hashing

        path = self.folder / self.gguf_file if self.gguf_file else self.folder
        sha = hashing.file_sha256(path) if path.is_file() else None
        return ModelIdentity(engine=self.name, name=self.display_name, path=str(path),
                             sha256=sha, record_id=self.record_id)

    def estimated_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.model.parameters())

    def max_parallel(self) -> int:
        return self._rows

    def close(self) -> None:
        with self.lock:
            if self._scheduler is not None:
                self._scheduler.close()
                self._scheduler = None
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

    def _encode(self, request: Request) -> list[int]:
        text, specials = self._text(request)
        with self._tok_lock:
            ids = list(self.tokenizer(text, add_special_tokens=specials)["input_ids"])
        if not ids:
            bos = self.tokenizer.bos_token_id
            if bos is None:
                raise InvalidInput("the prompt is empty")
            ids = [bos]
        if self.max_len and len(ids) >= self.max_len:
            raise ContextOverflow(f"the prompt is {len(ids)} tokens but the model holds "
                                  f"{self.max_len}")
        return ids

    def _generator(self, request: Request):
        """A per-request RNG, so a seed reproduces whatever else shares the batch."""
        if request.temperature <= 0:
            return None
        import torch

        g = torch.Generator(device=self.device)
        if request.seed is None:
            g.seed()
        else:
            g.manual_seed(request.seed)
        return g

    def _get_scheduler(self) -> _Scheduler:
        with self.lock:
            if self.model is None:
                raise EngineError("the model is closed")
            if self._scheduler is None or not self._scheduler.alive():
                self._scheduler = _Scheduler(self.model, rows=self._rows, max_len=self.max_len,
                                             eos=set(_eos_ids(self.model, self.tokenizer)))
            return self._scheduler

    # -- one request, streamed (many at once share the scheduler's batch) --------------------
    def generate(self, request: Request) -> Iterator[Delta]:
        import torch

        ids = self._encode(request)
        job = _Job(request, ids, self._generator(request))
        scheduler = self._get_scheduler()
        scheduler.submit(job)
        tok = self.tokenizer
        out: list[int] = []
        shown = ""
        stopper = StopMatcher(request.stop)
        finish, stopped = "length", False
        try:
            for item in scheduler.tokens(job):
                if isinstance(item, str):  # the scheduler's finish reason
                    finish = item
                    break
                out.append(item)
                text = tok.decode(out, skip_special_tokens=True)
                if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for more
                    continue
                piece, stopped = stopper.feed(text[len(shown):])
                shown = text
                if piece:
                    yield Delta(text=piece)
                if stopped:
                    finish = "stop"
                    break
        finally:
            job.cancelled.set()  # a stop string or a closed stream: leave the batch
        tail = ""
        if not stopped:  # release text held back as a possible stop-string prefix
            rest, hit = stopper.feed(tok.decode(out, skip_special_tokens=True)[len(shown):])
            tail = rest if hit else rest + stopper.flush()
            finish = "stop" if hit else finish
        yield Delta(text=tail, finish_reason=finish,
                    usage=Usage(prompt_tokens=len(ids), completion_tokens=len(out)),
                    runtime=Runtime(threads=torch.get_num_threads(), parallel=max(1, job.parallel)))

    def complete_many(self, requests: Iterable[Request]) -> list[Result]:
        """All at once from threads, so the scheduler decodes them together; order kept."""
        requests = list(requests)
        if len(requests) <= 1:
            return [self.complete(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(len(requests), self.max_parallel()),
                                thread_name_prefix="openpick-complete") as pool:
            return list(pool.map(self.complete, requests))

    # -- scoring (multiple choice by log-likelihood) -----------------------------------------
    def loglikelihood(self, context: str | list[Message],
                      continuations: list[str]) -> list[ChoiceScore]:
        import torch

        pairs = [self._score_ids(context, c) for c in continuations]
        if self.model is None:
            raise EngineError("the model is closed")
        seqs = [ctx + cont for ctx, cont in pairs]
        width = max(len(s) for s in seqs) - 1
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.tensor([s[:-1] + [pad] * (width - len(s) + 1) for s in seqs],
                           device=self.device)
        mask = torch.tensor([[1] * (len(s) - 1) + [0] * (width - len(s) + 1) for s in seqs],
                            device=self.device)
        try:
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        except RuntimeError as e:  # out of memory, say: this question fails, not the engine
            raise EngineError(f"transformers scoring failed: {str(e).splitlines()[0][:300]}") \
                from e
        out = []
        for row, (ctx, cont) in enumerate(pairs):
            span = logits[row, len(ctx) - 1:len(ctx) - 1 + len(cont)].float()
            logp = torch.log_softmax(span, dim=-1)
            want = torch.tensor(cont, device=span.device)
            picked = logp.gather(1, want[:, None])[:, 0]
            out.append(ChoiceScore(logprob=float(picked.double().sum()), tokens=len(cont),
                                   is_greedy=bool((span.argmax(dim=-1) == want).all())))
        return out

    def _score_ids(self, context: str | list[Message],
                   continuation: str) -> tuple[list[int], list[int]]:
        """(context ids, continuation ids), split as lm-eval splits them."""
        if isinstance(context, str):
            text, specials = context, True
        else:
            text, specials = self._text(Request(messages=context))
        text, cont = split_continuation(text, continuation)
        tok = self.tokenizer
        with self._tok_lock:
            ctx = list(tok(text, add_special_tokens=specials)["input_ids"]) if text else []
            whole = list(tok(text + cont, add_special_tokens=specials)["input_ids"])
            alone = list(tok(cont, add_special_tokens=False)["input_ids"])
        if not ctx:  # no text and no start token: condition on the start or end token
            ctx = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
        ids = continuation_tokens(ctx, whole, lambda: alone)
        if not ids:
            raise InvalidInput(f"the continuation {continuation!r} has no tokens")
        if self.max_len and len(ctx) + len(ids) > self.max_len:
            raise ContextOverflow(f"context and continuation are {len(ctx) + len(ids)} tokens "
                                  f"but the model holds {self.max_len}")
        return ctx, ids


def _eos_ids(model, tokenizer) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos or [])


def _cache_kw(model) -> str:
    """transformers 5 calls the cache argument `cache`; earlier ones `past_key_values`."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _new_cache(model):
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # before transformers 4.56 a DynamicCache took no config
        return DynamicCache()


def _mergeable(model) -> bool:
    """Whether rows of this model's cache can be padded and stacked: only plain
    full-attention layers (a sliding window keeps its own, shorter length)."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(_new_cache(model), "layers", None)
    return layers is not None and all(type(layer) is DynamicLayer for layer in layers)


class _Job:
    """One request in flight. The scheduler puts token ids into `out`, then a finish reason
    ("stop" or "length"), or an exception; the caller's thread reads them."""

    def __init__(self, request: Request, ids: list[int], generator):
        self.request = request
        self.ids = ids
        self.generator = generator  # None: greedy
        self.out: queue.SimpleQueue = queue.SimpleQueue()
        self.cancelled = threading.Event()
        self.count = 0     # tokens sampled so far (EOS not counted)
        self.parallel = 0  # most rows decoded together while this job ran


class _Scheduler:
    """The one thread that runs the model: admits waiting jobs, prefills them, merges them
    into the batch, decodes a token for every row, and drops the rows that are done.

    Batch state, one row per job: `cache` (keys and values, left-padded to one width),
    `mask` (1 where a row has a real token), `pos` (the position id of each row's next
    token) and `last` (each row's last sampled token, not yet in the cache).
    """

    def __init__(self, model, *, rows: int, max_len: int | None, eos: set[int]):
        self.model, self.rows, self.max_len, self.eos = model, rows, max_len, eos
        params = inspect.signature(model.forward).parameters
        self.cache_kw = _cache_kw(model)
        self.keep_last = "logits_to_keep" in params
        self.device = model.device
        self.pending: queue.SimpleQueue = queue.SimpleQueue()
        self.closing = False
        self._reset()
        self.thread = threading.Thread(target=self._run, name="openpick-transformers",
                                       daemon=True)
        self.thread.start()
        _live.add(self)

    def _reset(self) -> None:
        self.jobs: list[_Job] = []
        self.cache = self.mask = self.pos = self.last = None

    def alive(self) -> bool:
        return self.thread.is_alive() and not self.closing

    def submit(self, job: _Job) -> None:
        self.pending.put(job)

    def tokens(self, job: _Job) -> Iterator[int | str]:
        """The job's token ids as they come, then its finish reason."""
        while True:
            try:
                item = job.out.get(timeout=1.0)
            except queue.Empty:
                if self.thread.is_alive():
                    continue
                try:  # the thread may have put a last item just before it ended
                    item = job.out.get_nowait()
                except queue.Empty:
                    raise EngineError("the transformers engine's scheduler stopped") from None
            if isinstance(item, BaseException):
                raise EngineError(f"transformers generate failed: {item}") from item
            yield item
            if isinstance(item, str):
                return

    def close(self) -> None:
        self.closing = True
        self.pending.put(None)
        self.thread.join(timeout=60)

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        import torch

        try:
            with torch.inference_mode():
                while not self.closing and self._admit():
                    if self.jobs:
                        self._step()
        except BaseException as e:  # a bug here must fail the callers, not hang them
            _fail(self.jobs, e)
            self._reset()
        finally:
            self.closing = True
            _fail(self.jobs, EngineError("the model was closed"))
            self._reset()
            while True:
                try:
                    job = self.pending.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    _fail([job], EngineError("the model was closed"))

    def _admit(self) -> bool:
        """Prefill waiting jobs into the batch (waits while idle). False once closing."""
        new: list[_Job] = []
        if not self.jobs:
            job = self.pending.get()
            if job is None:
                return False
            new.append(job)
        while len(self.jobs) + len(new) < self.rows:
            try:
                job = self.pending.get_nowait()
            except queue.Empty:
                break
            if job is None:
                _fail(new, EngineError("the model was closed"))
                return False
            new.append(job)
        by_length: dict[int, list[_Job]] = {}
        for job in new:
            if not job.cancelled.is_set():
                by_length.setdefault(len(job.ids), []).append(job)
        for group in by_length.values():  # same length: one prefill with no padding
            self._prefill(group)
        return True

    def _prefill(self, group: list[_Job]) -> None:
        import torch

        n, dev = len(group[0].ids), self.device
        ids = torch.tensor([j.ids for j in group], device=dev)
        mask = torch.ones_like(ids)
        cache = _new_cache(self.model)
        try:
            logits = self._forward(ids, mask, torch.arange(n, device=dev).expand_as(ids), cache)
            tokens = self._sample(logits, group)
        except Exception as e:  # this group fails (say, out of memory); the batch goes on
            _fail(group, e)
            return
        for job in group:
            job.parallel = max(job.parallel, len(self.jobs) + len(group))
        keep = [True] * len(self.jobs) + self._emit(group, tokens)
        self._merge(group, cache, mask, torch.full((len(group),), n, device=dev),
                    torch.tensor(tokens, device=dev))
        self._drop(keep)

    def _step(self) -> None:
        """One token for every row."""
        import torch

        self._drop([not j.cancelled.is_set() for j in self.jobs])
        if not self.jobs:
            return
        rows = len(self.jobs)
        mask = torch.cat([self.mask, self.mask.new_ones(rows, 1)], dim=1)
        try:
            logits = self._forward(self.last[:, None], mask, self.pos[:, None], self.cache)
            tokens = self._sample(logits, self.jobs)
        except Exception as e:  # the cache may be half updated: the whole batch fails
            _fail(self.jobs, e)
            self._reset()
            return
        self.mask, self.pos = mask, self.pos + 1
        for job in self.jobs:
            job.parallel = max(job.parallel, rows)
        keep = self._emit(self.jobs, tokens)
        self.last = torch.tensor(tokens, device=self.device)
        self._drop(keep)

    # -- pieces -----------------------------------------------------------------------------
    def _forward(self, ids, mask, pos, cache):
        kw = {self.cache_kw: cache, "use_cache": True}
        if self.keep_last:
            kw["logits_to_keep"] = 1
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, **kw)
        return out.logits[:, -1, :]

    def _sample(self, logits, jobs: list[_Job]) -> list[int]:
        import torch

        logits = logits.float()
        tokens = logits.argmax(dim=-1)
        for i, job in enumerate(jobs):
            if job.generator is None:
                continue
            r = job.request
            probs = torch.softmax(logits[i] / r.temperature, dim=-1)
            if r.top_p < 1.0:
                probs = _nucleus(probs, r.top_p)
            tokens[i] = torch.multinomial(probs, 1, generator=job.generator)[0]
        return tokens.tolist()

    def _emit(self, jobs: list[_Job], tokens: list[int]) -> list[bool]:
        """Send each job its token; False for the rows that are done."""
        keep = []
        for job, t in zip(jobs, tokens):
            if job.cancelled.is_set():
                keep.append(False)
            elif t in self.eos:
                job.out.put("stop")
                keep.append(False)
            else:
                job.count += 1
                job.out.put(t)
                full = self.max_len is not None and len(job.ids) + job.count >= self.max_len
                done = job.count >= job.request.max_tokens or full
                if done:
                    job.out.put("length")
                keep.append(not done)
        return keep

    def _merge(self, jobs: list[_Job], cache, mask, pos, last) -> None:
        """Stack new rows under the batch, left-padding the narrower side with masked zeros."""
        import torch

        if not self.jobs:
            self.jobs, self.cache, self.mask, self.pos, self.last = jobs, cache, mask, pos, last
            return
        a, b = self.mask.shape[1], mask.shape[1]
        width = max(a, b)
        for mine, theirs in zip(self.cache.layers, cache.layers):
            if mine.keys is None or theirs.keys is None:  # a layer that stores nothing
                continue
            mine.keys = torch.cat([_pad_left(mine.keys, width - a),
                                   _pad_left(theirs.keys, width - b)])
            mine.values = torch.cat([_pad_left(mine.values, width - a),
                                     _pad_left(theirs.values, width - b)])
        self.mask = torch.cat([_pad_left(self.mask, width - a), _pad_left(mask, width - b)])
        self.pos = torch.cat([self.pos, pos])
        self.last = torch.cat([self.last, last])
        self.jobs = self.jobs + jobs

    def _drop(self, keep: list[bool]) -> None:
        """Keep only the rows marked True; cut padding columns no remaining row needs."""
        import torch

        if all(keep):
            return
        rows = [i for i, k in enumerate(keep) if k]
        if not rows:
            self._reset()
            return
        sel = torch.tensor(rows, device=self.device)
        self.jobs = [self.jobs[i] for i in rows]
        self.cache.batch_select_indices(sel)
        self.mask, self.pos, self.last = self.mask[sel], self.pos[sel], self.last[sel]
        lead = int(self.mask.any(dim=0).int().argmax())  # the first column still in use
        if lead:
            for layer in self.cache.layers:
                if layer.keys is not None:
                    layer.keys = layer.keys[:, :, lead:]
                    layer.values = layer.values[:, :, lead:]
            self.mask = self.mask[:, lead:]


# Schedulers still running at exit are stopped first: a thread left inside torch while the
# interpreter shuts down ends the process with "terminate called without an active exception".
_live: weakref.WeakSet[_Scheduler] = weakref.WeakSet()


@atexit.register
def _close_live() -> None:
    for scheduler in list(_live):
        scheduler.close()


def _fail(jobs: list[_Job], error: BaseException) -> None:
    for job in jobs:
        job.out.put(error)


def _pad_left(x, n: int):
    """`n` zero columns before the sequence axis (the last axis of a mask, the one before
    last of keys and values)."""
    if n <= 0:
        return x
    import torch.nn.functional as F

    return F.pad(x, (n, 0)) if x.dim() == 2 else F.pad(x, (0, 0, n, 0))


def _nucleus(probs, top_p: float):
    """Zero the tokens outside the smallest set whose probability reaches top_p."""
    import torch

    sorted_p, order = probs.sort(descending=True)
    outside = sorted_p.cumsum(dim=-1) - sorted_p > top_p  # the most likely token always stays
    sorted_p[outside] = 0.0
    return torch.zeros_like(probs).scatter_(-1, order, sorted_p)
