"""Decode speed of a SmolLM2-135M-shaped Llama on a CUDA GPU with transformers: plain
`model.generate` against a static KV cache with the decode step compiled into CUDA graphs.

No download: the model is built from a config with SmolLM2-135M's shape (hidden 576, 30
layers, 9 heads, 3 KV heads, intermediate 1536, vocab 49152, tied embeddings) and random
bf16 weights. Random weights decode as fast as trained ones; only the text is noise, and
EOS is switched off so every row runs its full length.

For each batch size (1, 8, 64, 256), with a fixed 32-token prompt and 128 new tokens:
  (a) eager:  `model.generate` with the default DynamicCache, no compilation;
  (b) static: `model.generate(cache_implementation="static", compile_config=
               CompileConfig(mode="reduce-overhead"))`: transformers compiles the decode
               forward with torch.compile, and mode reduce-overhead replays it as CUDA graphs.
Each side is warmed up (for (b) that includes compiling), then timed over a few repeats
(median). decode tok/s = batch x 127 / (time for 128 new tokens - time for 1 new token),
so the prefill is not counted; end-to-end tok/s = batch x 128 / time for 128 new tokens.

Weight-read floor: at batch 1 every decoded token reads all weights once, so
    floor (tok/s) = HBM bandwidth / parameter bytes,
with the bandwidth measured here by a large device-to-device tensor copy (read + write).

Target: >= 1,000 tok/s decode at batch 1 (with (b)). Runs in about 3-6 minutes on one H200;
`--budget-s` skips what would run past it. Needs CUDA: on a machine without one it says so
and exits 2 without measuring. Writes bench/results/gpu_transformers.json.

Usage: python bench/gpu_transformers.py [--batches 1 8 64 256] [--repeats 3] [--budget-s 330]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _machine import cpu_model, git_commit  # noqa: E402  (bench/ is sys.path[0])

DEVICE = "cuda"  # a CPU smoke test of the plumbing sets this to "cpu"
PROMPT_LEN = 32
NEW_TOKENS = 128
TARGET_BATCH1_TOK_S = 1000.0
SMOLLM2_135M = dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9,
                    num_key_value_heads=3, intermediate_size=1536, vocab_size=49152,
                    max_position_embeddings=8192, rope_theta=100000.0, rms_norm_eps=1e-5,
                    tie_word_embeddings=True, bos_token_id=None, eos_token_id=None,
                    pad_token_id=0)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def require_cuda():
    """torch and transformers with a CUDA device, or a clear message and exit 2."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as e:
        sys.exit(f"bench/gpu_transformers.py needs torch and transformers ({e.name} is missing): "
                 "pip install 'openpick[hf]' with a CUDA build of torch")
    if not torch.cuda.is_available():
        print("bench/gpu_transformers.py needs a CUDA GPU: torch.cuda.is_available() is False "
              f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). Nothing measured.",
              file=sys.stderr)
        sys.exit(2)
    return torch


def machine(torch) -> dict:
    props = torch.cuda.get_device_properties(0)
    driver = None
    try:
        driver = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    import transformers

    return {
        "gpu": torch.cuda.get_device_name(0), "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "sm_count": props.multi_processor_count, "compute_capability": f"{props.major}.{props.minor}",
        "driver": driver, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
        "torch": torch.__version__, "transformers": transformers.__version__,
        "cpu": cpu_model(), "logical_cores": os.cpu_count(), "python": platform.python_version(),
        "os": platform.platform(), "openpick_commit": git_commit(),
    }


def hbm_bandwidth(torch, gib: float = 4.0, repeats: int = 10) -> float:
    """Bytes/s of a device-to-device copy (each byte read once and written once), best run."""
    n = int(gib * 2**30)
    src = torch.empty(n, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1000)
    del src, dst
    torch.cuda.empty_cache()
    return 2 * n / best


def build_model(torch):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**SMOLLM2_135M)
    torch.manual_seed(0)
    with torch.device(DEVICE):
        model = LlamaForCausalLM(config).to(torch.bfloat16).eval()
    g = model.generation_config
    g.eos_token_id, g.bos_token_id, g.pad_token_id = None, None, 0
    return model


def sync(torch) -> None:
    if DEVICE != "cpu":
        torch.cuda.synchronize()


def timed_generate(torch, model, ids, new_tokens: int, **kw) -> float:
    sync(torch)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             max_new_tokens=new_tokens, min_new_tokens=None, do_sample=False,
                             **kw)
    sync(torch)
    elapsed = time.perf_counter() - t0
    assert out.shape == (ids.shape[0], ids.shape[1] + new_tokens), out.shape
    return elapsed


def measure(torch, model, batch: int, side: str, repeats: int) -> dict:
    from transformers import CompileConfig

    kw = {}
    if side == "static_compiled":
        # one cache length for every call, so a call never needs a differently shaped graph
        kw = dict(cache_implementation="static", max_cache_len=PROMPT_LEN + NEW_TOKENS,
                  compile_config=CompileConfig(mode="reduce-overhead"))
    ids = torch.randint(100, SMOLLM2_135M["vocab_size"], (batch, PROMPT_LEN), device=DEVICE,
                        generator=torch.Generator(device=DEVICE).manual_seed(batch))
    t0 = time.perf_counter()
    for _ in range(2):  # warm-up: allocator, kernels, and for (b) compile + graph capture
        timed_generate(torch, model, ids, NEW_TOKENS, **kw)
    warmup = time.perf_counter() - t0
    full = [timed_generate(torch, model, ids, NEW_TOKENS, **kw) for _ in range(repeats)]
    first = [timed_generate(torch, model, ids, 1, **kw) for _ in range(repeats)]
    t_full, t_first = statistics.median(full), statistics.median(first)
    decode_s = t_full - t_first
    return {
        "side": side, "batch": batch, "warmup_s": round(warmup, 2),
        "time_128_s": round(t_full, 4), "time_1_s": round(t_first, 4),
        "decode_tok_s": round(batch * (NEW_TOKENS - 1) / decode_s, 1) if decode_s > 0 else None,
        "end_to_end_tok_s": round(batch * NEW_TOKENS / t_full, 1),
        "ms_per_step": round(1000 * decode_s / (NEW_TOKENS - 1), 3),
        "compiled": hasattr(model, "_compiled_call") if side == "static_compiled" else False,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64, 256])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sides", nargs="+", default=["eager", "static_compiled"],
                    choices=["eager", "static_compiled"])
    ap.add_argument("--budget-s", type=float, default=330.0,
                    help="skip measurements that would start after this many seconds")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    a = ap.parse_args()

    torch = require_cuda()
    started = time.perf_counter()
    facts = machine(torch)
    log(f"{facts['gpu']}, torch {facts['torch']} (CUDA {facts['cuda']}), "
        f"transformers {facts['transformers']}")
    bandwidth = hbm_bandwidth(torch)
    log(f"HBM copy bandwidth {bandwidth / 1e9:.0f} GB/s")
    model = build_model(torch)
    params = {id(p): p for p in model.parameters()}.values()  # tied weights counted once
    param_bytes = sum(p.numel() * p.element_size() for p in params)
    floor = bandwidth / param_bytes
    log(f"model: {sum(p.numel() for p in params) / 1e6:.1f}M parameters, {param_bytes / 1e6:.0f} MB "
        f"bf16; weight-read floor at batch 1: {floor:,.0f} tok/s")

    rows, skipped = [], []
    for batch in a.batches:  # small batches first: the budget cuts the largest
        for side in a.sides:
            if time.perf_counter() - started > a.budget_s:
                skipped.append({"side": side, "batch": batch, "why": "time budget"})
                log(f"skip {side} batch {batch}: past the {a.budget_s:.0f}s budget")
                continue
            log(f"{side} batch {batch} ...")
            try:
                row = measure(torch, model, batch, side, a.repeats)
            except Exception as e:  # one failing side (say, a compile error) must not lose the rest
                row = {"side": side, "batch": batch, "error": f"{type(e).__name__}: {e}"[:500]}
                log(f"  failed: {row['error']}")
            else:
                log(f"  decode {row['decode_tok_s']:,} tok/s ({row['ms_per_step']} ms/step), "
                    f"end-to-end {row['end_to_end_tok_s']:,} tok/s, warm-up {row['warmup_s']}s")
            rows.append(row)
            torch.cuda.empty_cache()

    best_b1 = max((r.get("decode_tok_s") or 0 for r in rows if r["batch"] == 1), default=0)
    result = {
        "benchmark": "gpu_transformers", "machine": facts,
        "model": {"shape": "SmolLM2-135M", **SMOLLM2_135M, "dtype": "bfloat16",
                  "parameter_bytes": param_bytes},
        "prompt_tokens": PROMPT_LEN, "new_tokens": NEW_TOKENS, "repeats": a.repeats,
        "hbm_copy_bandwidth_gb_s": round(bandwidth / 1e9, 1),
        "weight_read_floor_batch1_tok_s": round(floor, 1),
        "results": rows, "skipped": skipped,
        "target": {"batch1_decode_tok_s": TARGET_BATCH1_TOK_S, "best_batch1_decode_tok_s": best_b1,
                   "met": best_b1 >= TARGET_BATCH1_TOK_S,
                   "fraction_of_floor": round(best_b1 / floor, 3) if floor else None},
        "wall_s": round(time.perf_counter() - started, 1),
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "gpu_transformers.json").write_text(json.dumps(result, indent=2) + "\n")
    log(f"batch-1 decode {best_b1:,.0f} tok/s against the {TARGET_BATCH1_TOK_S:,.0f} target "
        f"({'met' if best_b1 >= TARGET_BATCH1_TOK_S else 'NOT met'}); "
        f"wrote {a.out / 'gpu_transformers.json'} in {result['wall_s']}s")


if __name__ == "__main__":
    main()
