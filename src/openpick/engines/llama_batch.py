"""Continuous batching over one llama.cpp context, as llama.cpp's server runs parallel slots.

One scheduler thread owns the context; no other thread touches it. A request (a `Job`) waits
in FIFO order for a free slot, a llama.cpp sequence id, then joins the running batch: every
`llama_decode` carries one token for each sequence that is generating and prompt chunks of
those still prefilling, up to n_batch tokens. A job leaves at an end-of-generation token, a
stop string, its token budget, or as soon as its consumer goes away (`cancel`).

Each slot keeps its tokens in KV after its job ends, so a new request goes to the free slot
with the longest common token prefix (see `_assign`) and prefills only the rest (a chat's
next turn pays for the new tokens only). Prefixes are not shared across slots: with
per-sequence KV streams llama.cpp can only copy a whole stream, and a system prompt
recomputed once per slot is cheap next to the copies and the bookkeeping of sharing.

The context is made with per-sequence KV streams (kv_unified=False): each sequence attends
over its own cells only, so its attention is computed the same way alone or in a batch.
llama.cpp then splits a batch into ubatches of consecutive sequence ids, so tokens go in by
sequence id and free slots are taken lowest id first, to keep the busy ids together.
`solo_prompts` keeps each prompt chunk in a llama_decode of its own (see llama_cpp.py).
"""

from __future__ import annotations

import codecs
import itertools
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from openpick.engines.base import Delta, EngineError, Runtime, StopMatcher, Usage

STATS = ("requests", "prefilled_tokens", "reused_tokens", "decoded_tokens", "decode_calls",
         "max_batch_sequences")


@dataclass(eq=False)
class Job:
    """One request as the scheduler sees it; deltas (or an exception) go to `out`."""

    prompt: list[int]
    budget: int                   # most tokens to generate (max_tokens, capped by the slot)
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stops: list[str] = field(default_factory=list)
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    cancelled: bool = False
    order: int = 0                 # arrival number: prompt chunks are served in this order
    # Scheduler state, touched by the scheduler thread only:
    pending: list[int] = field(default_factory=list)  # prompt tokens not in KV yet
    next_token: int | None = None  # sampled, to be decoded in the next step
    sampler: object = None
    count: int = 0                 # tokens generated (EOG excluded)
    parallel: int = 0              # most sequences in one decode this job was part of
    stopper: StopMatcher | None = None
    decoder: codecs.IncrementalDecoder | None = None


@dataclass(eq=False)
class Slot:
    seq: int
    cached: list[int] = field(default_factory=list)  # tokens held in KV, by position
    job: Job | None = None


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _worth(cached: list[int], prompt: list[int]) -> int:
    shared = common_prefix(cached, prompt)
    return shared - (len(cached) - shared)


def _chunk(pending: list[int], room: int) -> list[int]:
    """The next prompt chunk, never leaving one token behind for a chunk of its own."""
    take = pending[:room]
    if len(pending) - len(take) == 1 and len(take) > 2:
        take = take[:-1]
    return take


def make_sampler(lc, job: Job):
    """Greedy for temperature 0; else top-p, temperature and a seeded draw (llama.cpp's order)."""
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    if job.temperature <= 0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
        return chain
    seed = lc.LLAMA_DEFAULT_SEED if job.seed is None else job.seed & 0xFFFFFFFF
    if job.seed is not None and seed == lc.LLAMA_DEFAULT_SEED:
        seed ^= 1  # that value means "random" to llama.cpp; a given seed must reproduce
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(job.top_p, 1))
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_temp(job.temperature))
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_dist(seed))
    return chain


class Batcher:
    """Runs jobs on `ctx` (a llama_context it owns from now on) in one scheduler thread."""

    def __init__(self, ctx, vocab, *, n_slots: int, n_batch: int, threads: int,
                 piece: Callable[[int], bytes], solo_prompts: bool = False):
        import llama_cpp as lc

        self._lc = lc
        self.ctx, self.vocab, self.threads, self._piece = ctx, vocab, threads, piece
        self.mem = lc.llama_get_memory(ctx)
        self.n_batch = n_batch
        self.solo_prompts = solo_prompts  # a prompt chunk never shares a llama_decode
        self._prompt_next = False
        self.batch = lc.llama_batch_init(n_batch, 0, 1)
        self.slots = [Slot(seq) for seq in range(n_slots)]
        self.stats = dict.fromkeys(STATS, 0)
        self._waiting: deque[Job] = deque()
        self._arrivals = itertools.count()
        self._cond = threading.Condition()
        self._closing = False
        self._freed = False
        self._thread = threading.Thread(target=self._run, name="llama-batcher", daemon=True)
        self._thread.start()

    # -- the consumers' side (any thread) ---------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._cond:
            if self._closing:
                raise EngineError("the model was closed")
            job.order = next(self._arrivals)
            self._waiting.append(job)
            self.stats["requests"] += 1
            self._cond.notify()

    def cancel(self, job: Job) -> None:
        """The consumer left: drop the job, or free its slot before the next decode."""
        with self._cond:
            job.cancelled = True
            if job in self._waiting:
                self._waiting.remove(job)
            self._cond.notify()

    def forget(self) -> None:
        """Drop the cached prefixes of idle slots (the next requests prefill in full)."""
        with self._cond:
            for slot in self.slots:
                if slot.job is None:
                    slot.cached = []

    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._cond:
            self._fail_all(EngineError("the model was closed while this request ran"))
            if not self._freed:
                self._freed = True
                self._lc.llama_batch_free(self.batch)
                self._lc.llama_free(self.ctx)

    # -- the scheduler thread ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._closing or self._waiting or self._busy()):
                    self._cond.wait()
                if self._closing:
                    return
                self._drop_cancelled()
                starts = self._assign()
            try:
                for job, slot in starts:
                    self._start(job, slot)
                self._step()
            except Exception as e:  # a bug or a native failure: fail the jobs, keep serving
                with self._cond:
                    self._fail_all(EngineError(f"llama.cpp batch failed: {e}"), waiting=False)

    def _busy(self) -> bool:
        return any(s.job is not None for s in self.slots)

    def _drop_cancelled(self) -> None:
        for slot in self.slots:
            if slot.job is not None and slot.job.cancelled:
                self._release(slot)

    def _assign(self) -> list[tuple[Job, Slot]]:
        """FIFO jobs to free slots. A slot is worth the prefix it saves minus the cached
        tokens it would drop, so a request that shares a few tokens with a long chat takes
        an empty slot rather than wipe that chat; ties go to the lowest sequence id."""
        free = [s for s in self.slots if s.job is None]
        starts = []
        while self._waiting and free:
            job = self._waiting.popleft()
            slot = max(free, key=lambda s: (_worth(s.cached, job.prompt), -s.seq))
            free.remove(slot)
            slot.job = job
            starts.append((job, slot))
        return starts

    def _start(self, job: Job, slot: Slot) -> None:
        lc = self._lc
        # The last prompt token is decoded again (its logits pick the first token), with the
        # one before it: a lone prompt token takes other attention kernels than a chunk.
        keep = max(0, min(common_prefix(slot.cached, job.prompt), len(job.prompt) - 2))
        if not lc.llama_memory_seq_rm(self.mem, slot.seq, keep, -1):
            # Some caches (recurrent, sliding-window) cannot drop a tail: start afresh.
            lc.llama_memory_seq_rm(self.mem, slot.seq, -1, -1)
            keep = 0
        slot.cached = job.prompt[:keep]
        job.pending = job.prompt[keep:]
        job.sampler = make_sampler(lc, job)
        job.stopper = StopMatcher(job.stops)
        job.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.stats["reused_tokens"] += keep

    def _plan(self) -> dict[int, list[int]]:
        """Tokens per slot for the next decode: generating slots first, then prompt chunks
        in arrival order, at most n_batch in all. With `solo_prompts`, a decode carries
        either the generating slots' tokens or one prompt's chunk, taking turns."""
        busy = [s for s in self.slots if s.job is not None]
        decoding = [s for s in busy if s.job.next_token is not None]
        prompts = sorted((s for s in busy if s.job.pending), key=lambda s: s.job.order)
        room, plan = self.n_batch, {}
        if self.solo_prompts:
            prompt_turn = bool(prompts) and (self._prompt_next or not decoding)
            self._prompt_next = not prompt_turn
            if prompt_turn:
                return {prompts[0].seq: _chunk(prompts[0].job.pending, room)}
            prompts = []
        for s in decoding[:room]:
            plan[s.seq] = [s.job.next_token]
            room -= 1
        for s in prompts:
            if room > 0:
                plan[s.seq] = _chunk(s.job.pending, room)
                room -= len(plan[s.seq])
        return plan

    def _step(self) -> None:
        plan = self._plan()
        if not plan:
            return
        outputs = self._fill(plan)
        rc = self._lc.llama_decode(self.ctx, self.batch)
        if rc != 0:
            self._decode_failed(plan, rc)
            return
        self.stats["decode_calls"] += 1
        self.stats["max_batch_sequences"] = max(self.stats["max_batch_sequences"], len(plan))
        for seq, tokens in plan.items():
            slot = self.slots[seq]
            job = slot.job
            slot.cached.extend(tokens)
            job.parallel = max(job.parallel, len(plan))
            if job.next_token is not None:
                job.next_token = None
                self.stats["decoded_tokens"] += 1
            else:
                del job.pending[:len(tokens)]
                self.stats["prefilled_tokens"] += len(tokens)
        for seq, idx in outputs:
            slot = self.slots[seq]
            self._accept(slot, self._lc.llama_sampler_sample(slot.job.sampler, self.ctx, idx))

    def _fill(self, plan: dict[int, list[int]]) -> list[tuple[int, int]]:
        """Write the plan into the batch, by sequence id; return (seq, batch index) of the
        tokens whose logits are wanted (a decode token, or a prompt's last token)."""
        b, n, outputs = self.batch, 0, []
        for seq in sorted(plan):
            tokens, job, pos0 = plan[seq], self.slots[seq].job, len(self.slots[seq].cached)
            wants = job.next_token is not None or len(tokens) == len(job.pending)
            for i, tok in enumerate(tokens):
                b.token[n], b.pos[n], b.n_seq_id[n] = tok, pos0 + i, 1
                b.seq_id[n][0] = seq
                last = wants and i == len(tokens) - 1
                b.logits[n] = last
                if last:
                    outputs.append((seq, n))
                n += 1
        b.n_tokens = n
        return outputs

    def _accept(self, slot: Slot, token: int) -> None:
        """A sampled token: emit its text, or end the job."""
        job = slot.job
        if self._lc.llama_vocab_is_eog(self.vocab, token):
            return self._finish(slot, "stop")
        job.count += 1
        text, stopped = job.stopper.feed(job.decoder.decode(self._piece(token)))
        if text:
            job.out.put(Delta(text=text))
        if stopped:
            return self._finish(slot, "stop", stopped=True)
        if job.count >= job.budget:
            return self._finish(slot, "length")
        job.next_token = token

    def _finish(self, slot: Slot, reason: str, stopped: bool = False) -> None:
        job = slot.job
        tail = ""
        if not stopped:  # release text held back as a possible stop-string prefix
            out, hit = job.stopper.feed(job.decoder.decode(b"", final=True))
            tail = out if hit else out + job.stopper.flush()
        self._release(slot)  # before the last delta: its consumer may reuse the slot at once
        job.out.put(Delta(text=tail, finish_reason=reason,
                          usage=Usage(prompt_tokens=len(job.prompt), completion_tokens=job.count),
                          runtime=Runtime(threads=self.threads, parallel=job.parallel)))

    def _release(self, slot: Slot) -> None:
        if slot.job.sampler is not None:
            self._lc.llama_sampler_free(slot.job.sampler)
            slot.job.sampler = None
        slot.job = None

    def _decode_failed(self, plan: dict[int, list[int]], rc: int) -> None:
        # Whatever the failed decode left in these sequences is unknown: clear them.
        for seq in plan:
            slot = self.slots[seq]
            self._lc.llama_memory_seq_rm(self.mem, seq, -1, -1)
            slot.cached = []
            slot.job.out.put(EngineError(f"llama_decode failed (code {rc})"))
            self._release(slot)

    def _fail_all(self, error: EngineError, waiting: bool = True) -> None:
        """Every running job (and waiting one) gets `error`; caller holds the lock."""
        for slot in self.slots:
            if slot.job is not None:
                slot.job.out.put(error)
                if not self._freed:
                    self._lc.llama_memory_seq_rm(self.mem, slot.seq, -1, -1)
                slot.cached = []
                self._release(slot)
        while waiting and self._waiting:
            self._waiting.popleft().out.put(error)
