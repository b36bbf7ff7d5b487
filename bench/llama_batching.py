"""Continuous batching in the llama-cpp engine: aggregate decode speed at 1, 2, 4 and 8
sequences decoded together, against the same requests run one after another.

One process, the embedded SmolLM2 by default. Two engines on the same GGUF (the weights are
one mmap'd file, so they share pages): `parallel=8`, which serves k = 1, 2, 4, 8 requests
sent together, and `parallel=1`, the sequential baseline (requests one after another). Both
use the engine's defaults otherwise (batch_invariant, n_threads = the free physical cores at
load, resolved once for both, unless --threads). Each round runs every configuration once,
the order rotating, so a shared machine's drifts land on all of them alike; caches are reset
before each request set, so every prompt is prefilled in full.

Speeds are measured here, from the streams: a request's first token at its first non-empty
text piece. Sequential decode tok/s = sum(tokens - 1) / sum(end - first token), over the
requests. Batched aggregate decode tok/s = sum(tokens - 1) / (last end - earliest first
token), over the k requests sent together (their prompts are prefilled in the same first
decode, so their first tokens come together). Greedy decoding; the script also checks that
every request's text is the same in every configuration. Last, a bare llama_decode loop (k
tokens per call on a fresh context over the same weights, no engine, no sampling) shows what
batching can give on this machine at all: the engine's ceiling.

Target: aggregate decode at 4 sequences >= 2x sequential.
Usage: python bench/llama_batching.py [--model smollm2-135m] [--rounds 3] [--max-tokens 64]
       [--threads N] [--fast]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
from pathlib import Path

from _machine import cpu_model, git_commit, llama_cpp_version  # noqa: E402  (bench/ is sys.path[0])

from openpick.engines.base import Request
from openpick.engines.embedded import EMBEDDED
from openpick.engines.llama_cpp import LlamaCppEngine

# Short plain prompts (8-12 tokens): prefill is a small share, decode is what is measured.
PROMPTS = [
    "The history of the printing press begins",
    "Water covers most of the surface of the Earth, and",
    "A compiler turns source code into a program that",
    "The first thing to know about bread baking is",
    "In the autumn of that year the old lighthouse keeper",
    "Photosynthesis is the process by which green plants",
    "The rules of chess are simple to learn: each player",
    "Trains arrived in the small mountain town when",
]
KS = [1, 2, 4, 8]
OUT = Path(__file__).parent / "results"


def timed_stream(engine, prompt: str, n: int, out: dict) -> None:
    stream = engine.stream(Request(prompt=prompt, max_tokens=n, temperature=0.0))
    first, parts = None, []
    for delta in stream:
        if delta.text:
            if first is None:
                first = time.perf_counter()
            parts.append(delta.text)
    out.update(first=first, end=time.perf_counter(), text="".join(parts),
               tokens=stream.result.usage.completion_tokens,
               parallel=stream.result.timings.parallel)


def run_sequential(engine, n: int) -> dict:
    engine.load().reset()
    runs = []
    for p in PROMPTS:
        r: dict = {}
        timed_stream(engine, p, n, r)
        runs.append(r)
    tokens = sum(r["tokens"] - 1 for r in runs)
    return {"decode_tok_s": tokens / sum(r["end"] - r["first"] for r in runs),
            "texts": [r["text"] for r in runs]}


def run_together(engine, k: int, n: int) -> dict:
    engine.load().reset()
    runs = [{} for _ in range(k)]
    threads = [threading.Thread(target=timed_stream, args=(engine, PROMPTS[i], n, runs[i]))
               for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tokens = sum(r["tokens"] - 1 for r in runs)
    span = max(r["end"] for r in runs) - min(r["first"] for r in runs)
    return {"decode_tok_s": tokens / span, "texts": [r["text"] for r in runs],
            "parallel_seen": max(r["parallel"] for r in runs)}


def raw_ceiling(engine, steps: int) -> dict[str, float]:
    """llama_decode alone, no engine: k tokens (one per sequence) per call on a fresh context
    over the same loaded weights, configured as the engine's. What batching can give here."""
    import llama_cpp as lc

    model = engine.load()._model
    params = engine._context_params(lc, 512)
    ctx = lc.llama_init_from_model(model.model, params)
    batch = lc.llama_batch_init(512, 0, 1)
    n_seq = params.n_seq_max

    def decode(items):
        for n, (seq, tok, pos) in enumerate(items):
            batch.token[n], batch.pos[n], batch.n_seq_id[n] = tok, pos, 1
            batch.seq_id[n][0], batch.logits[n] = seq, True
        batch.n_tokens = len(items)
        assert lc.llama_decode(ctx, batch) == 0

    prompt = model.tokenize(PROMPTS[0].encode(), True, False)
    for i, tok in enumerate(prompt):  # every sequence holds the same short prompt
        decode([(seq, tok, i) for seq in range(n_seq)])
    out, pos = {}, [len(prompt)] * n_seq
    for k in KS:
        t0 = time.perf_counter()
        for step in range(steps):
            decode([(seq, 100 + step, pos[seq]) for seq in range(k)])
            for seq in range(k):
                pos[seq] += 1
        out[f"k{k}"] = round(k * steps / (time.perf_counter() - t0), 2)
    lc.llama_batch_free(batch)
    lc.llama_free(ctx)
    return out


def machine() -> dict:
    return {
        "cpu": cpu_model(), "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)), "arch": platform.machine(),
        "os": platform.platform(), "python": platform.python_version(),
        "llama_cpp_python": llama_cpp_version(), "openpick_commit": git_commit(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def bench(a) -> dict:
    path = str(EMBEDDED[a.model].path())
    from openpick.engines.cpu import free_physical_cores

    # One thread count for both engines (each would otherwise sample free cores at its load).
    opts = {"n_ctx": 512, "extra_buffers": a.extra_buffers,
            "batch_invariant": a.batch_invariant,
            "n_threads": a.threads or free_physical_cores(sample_s=0.5)}
    batched = LlamaCppEngine(path, {**opts, "parallel": max(KS)})
    alone = LlamaCppEngine(path, {**opts, "parallel": 1})
    configs = {"sequential": lambda: run_sequential(alone, a.max_tokens),
               "sequential_on_parallel8": lambda: run_sequential(batched, a.max_tokens),
               **{f"k{k}": (lambda k=k: run_together(batched, k, a.max_tokens)) for k in KS}}
    for run in configs.values():  # warm-up: page the weights in, first-call allocations
        run()
    names, rounds = list(configs), []
    for rnd in range(a.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        rounds.append({name: configs[name]() for name in order})
    result = summarize(rounds)
    ceiling = raw_ceiling(batched, a.max_tokens)
    result.update(model=a.model, path=path, threads=batched.threads,
                  batch_invariant=a.batch_invariant,
                  stats_parallel8=batched.stats, raw_llama_decode_tok_s=ceiling,
                  raw_speedup={k: round(v / ceiling["k1"], 2) for k, v in ceiling.items()})
    batched.close()
    alone.close()
    return result


def summarize(rounds: list[dict]) -> dict:
    """Medians, and speedups as the median over rounds of each round's own ratio (the
    configurations of one round ran back to back, so pairing cancels the machine's drift)."""
    med = {name: statistics.median(r[name]["decode_tok_s"] for r in rounds) for name in rounds[0]}
    ratio = {f"k{k}": statistics.median(r[f"k{k}"]["decode_tok_s"] / r["sequential"]["decode_tok_s"]
                                        for r in rounds) for k in KS}
    ref = rounds[0]["sequential"]["texts"]
    same = all(r[name]["texts"] == ref[:len(r[name]["texts"])] for r in rounds for name in r)
    return {
        "median_decode_tok_s": {k: round(v, 2) for k, v in med.items()},
        "speedup_vs_sequential": {k: round(v, 2) for k, v in ratio.items()},
        "target_2x_at_4_met": ratio["k4"] >= 2.0,
        "all_texts_identical": same,
        "parallel_seen": {f"k{k}": max(r[f"k{k}"]["parallel_seen"] for r in rounds) for k in KS},
        "runs": [{name: round(x["decode_tok_s"], 2) for name, x in r.items()} for r in rounds],
    }


def markdown(res: dict) -> str:
    m, s = res["machine"], res["median_decode_tok_s"]
    lines = [
        "### llama-cpp engine: continuous batching (CPU)", "",
        f"Machine: {m['cpu']}, {m['usable_cores']} usable cores, n_threads={res['threads']}; "
        f"llama-cpp-python {m['llama_cpp_python']}, openpick {m['openpick_commit']}; load "
        f"{m['load_avg_start']} → {m['load_avg_end']}; {res['date']}. Model {res['model']}, "
        f"{res['max_tokens']} new tokens per request, {res['rounds']} rounds (medians), "
        f"batch_invariant={res['batch_invariant']}.", "",
        "| sequences together | aggregate decode (tok/s) | vs sequential (paired) | bare "
        "llama_decode (tok/s) | bare, vs 1 |", "|---:|---:|---:|---:|---:|",
        f"| sequential (parallel=1) | {s['sequential']:.1f} | 1.00 | | |",
        f"| sequential on the parallel=8 engine | {s['sequential_on_parallel8']:.1f} | | | |",
    ]
    raw, rs = res["raw_llama_decode_tok_s"], res["raw_speedup"]
    for k in KS:
        lines.append(f"| {k} | {s[f'k{k}']:.1f} | {res['speedup_vs_sequential'][f'k{k}']:.2f} | "
                     f"{raw[f'k{k}']:.1f} | {rs[f'k{k}']:.2f} |")
    lines += ["", f"Target (4 sequences >= 2x sequential): "
              f"{'met' if res['target_2x_at_4_met'] else 'NOT met'}. Texts identical in every "
              f"configuration: {res['all_texts_identical']}.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--extra-buffers", choices=["auto", "true", "false"], default="auto",
                    help="llama.cpp's extra weight buffers (auto: engines/probe.py decides)")
    ap.add_argument("--fast", dest="batch_invariant", action="store_false",
                    help="batch_invariant=false: llama.cpp's fastest kernels (flash attention, "
                         "mixed batches)")
    a = ap.parse_args()
    a.extra_buffers = {"auto": None, "true": True, "false": False}[a.extra_buffers]
    info = machine()
    res = bench(a)
    info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res = {"benchmark": "llama_batching", "date": date,
           "machine": info, "rounds": a.rounds, "max_tokens": a.max_tokens, "prompts": PROMPTS,
           **res}
    OUT.mkdir(exist_ok=True)
    (OUT / "llama_batching.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res)
    (OUT / "llama_batching.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
