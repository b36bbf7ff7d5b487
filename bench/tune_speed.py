"""Training speed of `openpick tune`: tokens/s and seconds a step, LoRA on SmolLM2-135M.

    .venv/bin/python bench/tune_speed.py                       # CPU, seq 256, batch 8
    .venv/bin/python bench/tune_speed.py --device cuda --batch-size 32 --steps 20   # GPU

It times the training step `openpick tune` runs (tune/train.py: the same model load, LoRA
wrapping, loss on target positions, AdamW and clipping) on rows of exactly --seq-len
tokens, every token a target (the costliest case: a chat row trains on its answer only, so
its output layer sees far fewer positions). The first --warmup steps are not timed.
Prints one JSON object; BENCHMARKS.md says which machine each number came from.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    import torch

    from openpick.tune.config import TuneConfig
    from openpick.tune.encode import Encoded
    from openpick.tune.job import resolve_base
    from openpick.tune.train import Trainer

    base = resolve_base("smollm2-135m")
    job = TuneConfig(name="bench", base=base, data=os.devnull, data_sha256="-",
                     rank=args.rank, batch_size=args.batch_size, seq_len=args.seq_len,
                     device=args.device, threads=args.threads, max_steps=args.steps)
    trainer = Trainer(job, Path(os.devnull), lambda e: None, threading.Event())
    t = time.perf_counter()
    trainer.device = args.device
    from openpick.tune.train import load_base, wrap_lora

    trainer.model, trainer.tok = load_base(job, args.device)
    load_s = time.perf_counter() - t
    trainer.model = wrap_lora(trainer.model, job)
    trainer.inner = trainer.model.get_base_model()
    params = [p for p in trainer.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    g = torch.Generator().manual_seed(0)
    vocab = trainer.inner.config.vocab_size
    rows = [Encoded(torch.randint(0, vocab, (args.seq_len,), generator=g).tolist(),
                    [True] * args.seq_len) for _ in range(args.batch_size)]
    trainer.model.train()
    times = []
    for i in range(args.warmup + args.steps):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        loss, n, _ = trainer._loss_sum(rows)
        (loss / n).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    step = statistics.median(times)
    print(json.dumps({
        "bench": "tune_speed", "model": "smollm2-135m (GGUF Q4_1, dequantized to float32)",
        "method": f"lora r={args.rank} all-linear", "device": args.device,
        "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "machine": platform.machine(), "seq_len": args.seq_len, "batch_size": args.batch_size,
        "steps_timed": len(times), "step_s_median": round(step, 3),
        "step_s_all": [round(x, 3) for x in times], "steps_per_s": round(1 / step, 4),
        "tokens_per_s": round(args.seq_len * args.batch_size / step, 1),
        "load_s": round(load_s, 1), "torch": torch.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
