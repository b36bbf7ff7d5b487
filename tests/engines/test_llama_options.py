"""The llama-cpp engine's options and its batch scheduler's decisions, without a model."""

from __future__ import annotations

import pytest

from openpick.engines.base import NativeOptions
from openpick.engines.llama_batch import Batcher, Job, Slot, common_prefix
from openpick.engines.llama_cpp import LlamaCppEngine, LlamaCppOptions
from openpick.errors import InvalidInput


def unloaded(**options) -> LlamaCppEngine:
    """An engine with its options parsed and no model loaded (no llama.cpp call made)."""
    engine = object.__new__(LlamaCppEngine)
    engine.options = LlamaCppEngine.parse_options(options)
    return engine


def test_defaults_and_native_options():
    o = LlamaCppOptions()
    assert isinstance(o, NativeOptions) and o.isolate is True and o.timeout_s == 600.0
    assert (o.parallel, o.extra_buffers, o.n_threads, o.n_ctx) == (4, None, None, 4096)
    assert o.batch_invariant is True


def test_cli_strings_parse_and_bad_values_name_the_option():
    o = LlamaCppEngine.parse_options({"parallel": "8", "extra_buffers": "false", "n_threads": "2"})
    assert (o.parallel, o.extra_buffers, o.n_threads) == (8, False, 2)
    with pytest.raises(InvalidInput, match="option parallel"):
        LlamaCppEngine.parse_options({"parallel": 0})
    with pytest.raises(InvalidInput, match="option slots"):
        LlamaCppEngine.parse_options({"slots": 2})


def test_max_parallel_is_the_slot_count():
    assert unloaded(parallel=6).max_parallel() == 6
    assert unloaded().max_parallel() == 4


def test_threads_default_to_free_physical_cores(monkeypatch):
    from openpick.engines import cpu

    monkeypatch.setattr(cpu, "free_physical_cores", lambda *a, **k: 3)
    assert unloaded().resolve_threads() == 3
    assert unloaded(n_threads=5).resolve_threads() == 5


@pytest.mark.parametrize("given, probed, expected", [
    (None, False, False), (None, True, True), (True, False, True), (False, True, False),
])
def test_extra_buffers_follow_the_option_else_the_probe(monkeypatch, given, probed, expected):
    lc = pytest.importorskip("llama_cpp")
    from openpick.engines import probe

    calls = []
    monkeypatch.setattr(probe, "extra_buffers_default", lambda: calls.append(1) or probed)
    params = unloaded(extra_buffers=given)._model_params(lc)
    assert params.use_extra_bufts is expected
    assert calls == ([1] if given is None else [])


def test_context_holds_every_slot_in_its_own_kv_stream():
    lc = pytest.importorskip("llama_cpp")
    engine = unloaded(parallel=3, n_batch=256, batch_invariant=True)
    engine.threads = 2
    p = engine._context_params(lc, 1024)
    assert (p.n_ctx, p.n_seq_max, p.n_batch, p.n_ubatch) == (3072, 3, 256, 256)
    assert p.kv_unified is False and (p.n_threads, p.n_threads_batch) == (2, 2)
    assert p.flash_attn_type == lc.LLAMA_FLASH_ATTN_TYPE_DISABLED
    fast = unloaded(batch_invariant=False)
    fast.threads = 1
    assert fast._context_params(lc, 512).flash_attn_type == lc.LLAMA_FLASH_ATTN_TYPE_AUTO


# -- the scheduler's choices, on a Batcher with no context ------------------------------------

def batcher(n_slots: int, n_batch: int = 512, solo_prompts: bool = False) -> Batcher:
    from collections import deque

    b = object.__new__(Batcher)
    b.slots = [Slot(i) for i in range(n_slots)]
    b._waiting = deque()
    b.n_batch, b.solo_prompts, b._prompt_next = n_batch, solo_prompts, False
    return b


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0 and common_prefix([1, 2], [1, 2]) == 2


def test_jobs_take_the_free_slot_with_the_longest_prefix_in_fifo_order():
    b = batcher(3)
    b.slots[1].cached = [7, 8, 9]
    b.slots[2].cached = [7, 8]
    first, second, third = Job([7, 8, 9, 1], 4), Job([5, 6], 4), Job([7, 8, 3], 4)
    b._waiting.extend([first, second, third])
    starts = b._assign()
    # first → slot 1 (3 shared), second → slot 0 (nothing shared: the empty slot, whose
    # id is lowest, keeps busy ids together), third → slot 2, the only one left.
    assert [(j, s.seq) for j, s in starts] == [(first, 1), (second, 0), (third, 2)]


def test_a_few_shared_tokens_do_not_wipe_a_long_cached_chat():
    b = batcher(2)
    b.slots[0].cached = [1] + list(range(100, 180))  # a chat's 81 tokens
    job = Job([1, 2, 3], 4)                          # shares only the start token
    b._waiting.append(job)
    assert b._assign()[0][1].seq == 1
    b.slots[0].job = b.slots[1].job = None
    turn = Job(b.slots[0].cached + [5, 6], 4)        # the chat's next turn finds it
    b._waiting.append(turn)
    assert b._assign()[0][1].seq == 0


def test_more_jobs_than_slots_wait_in_order():
    b = batcher(1)
    jobs = [Job([i], 4) for i in range(3)]
    b._waiting.extend(jobs)
    assert [j for j, _ in b._assign()] == [jobs[0]]
    assert list(b._waiting) == jobs[1:]
    assert b._assign() == []  # no slot free


def test_plan_puts_decode_tokens_first_then_prompt_chunks_up_to_n_batch():
    b = batcher(3, n_batch=10)
    gen, early = Job([1], 8, order=2), Job(list(range(20)), 8, order=0)
    late = Job([9] * 5, 8, order=1)
    gen.next_token = 42
    early.pending, late.pending = list(early.prompt), list(late.prompt)
    for slot, job in zip(b.slots, [late, gen, early]):
        slot.job = job
    plan = b._plan()
    assert plan[1] == [42]           # the generating slot never waits for prompts
    assert plan[2] == list(range(9))  # the earliest prompt gets the rest of the batch
    assert 0 not in plan              # the later prompt waits for the next decode


def test_batch_invariant_prompts_take_turns_with_the_decode_alone():
    b = batcher(3, n_batch=10, solo_prompts=True)
    gen, first, second = Job([1], 8, order=0), Job([5] * 4, 8, order=1), Job([6] * 3, 8, order=2)
    gen.next_token = 42
    first.pending, second.pending = list(first.prompt), list(second.prompt)
    for slot, job in zip(b.slots, [gen, first, second]):
        slot.job = job
    assert b._plan() == {0: [42]}           # the generating slot, alone
    assert b._plan() == {1: [5, 5, 5, 5]}   # then one prompt, alone
    assert b._plan() == {0: [42]}           # and again by turns
    gen.next_token = None
    assert b._plan() == {1: [5, 5, 5, 5]}   # nothing generating: prompts back to back


def test_worker_options_decide_extra_buffers_in_the_parent(monkeypatch):
    from openpick.engines import probe
    from openpick.engines.llama_cpp import LlamaCppEngine

    monkeypatch.setattr(probe, "extra_buffers_default", lambda: False)
    assert LlamaCppEngine.worker_options({"extra_buffers": None})["extra_buffers"] is False
    assert LlamaCppEngine.worker_options({"extra_buffers": True})["extra_buffers"] is True
    hint = LlamaCppEngine.crash_hint({"extra_buffers": True}, "m: pid 1 died from SIGILL (4)")
    assert "-o extra_buffers=false" in hint
    assert LlamaCppEngine.crash_hint({"extra_buffers": False}, "died from SIGILL") is None
