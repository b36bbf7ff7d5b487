"""`compare` on the demo suite: continuous batching (the default) vs sequential decoding.

The same suite and models (SmolLM2-135M and Qwen2.5-Coder-0.5B, embedded), the cache off,
in one process, alternating the order every round:
- sequential: `-o parallel=1`, one case at a time per model (what compare did before);
- batched:    the engine's default slots (`parallel = 4`): the runner keeps that many cases
              in flight and the worker decodes them together in one llama_decode.
Wall time of each whole run includes starting the workers and loading the models.
It also checks the answers are the same text both ways (greedy decoding).
Target: batched at least 1.8x faster than sequential.

Usage: python bench/compare_batching.py [--rounds N] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import facts, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parent
MODELS = ["smollm2-135m", "qwen2.5-coder-0.5b"]


def one_run(mode: str) -> tuple[float, dict, dict]:
    from openpick.evals.runner import RunOptions, compare

    opts = {m: {"parallel": 1} for m in MODELS} if mode == "sequential" else {}
    t0 = time.perf_counter()
    run, results = compare("demo", MODELS, RunOptions(use_cache=False, engine_options=opts))
    wall = time.perf_counter() - t0
    texts = {f"{r.model}/{r.case_id}": r.output for r in results}
    seen = {"errors": sum(1 for r in results if r.error), "cases": len(results),
             "parallel_max": max((r.parallel or 1) for r in results),
             "threads": sorted({r.threads for r in results if r.threads})}
    return wall, texts, seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "results" / "compare_batching.json"))
    args = ap.parse_args()
    os.environ["OPENPICK_HOME"] = tempfile.mkdtemp(prefix="openpick-bench-compare-")
    walls: dict[str, list[float]] = {"sequential": [], "batched": []}
    texts: dict[str, dict] = {}
    seen: dict[str, dict] = {}
    for rnd in range(args.rounds):
        order = ["sequential", "batched"] if rnd % 2 == 0 else ["batched", "sequential"]
        for mode in order:
            wall, t, f = one_run(mode)
            walls[mode].append(wall)
            texts[mode], seen[mode] = t, f
            print(f"round {rnd} {mode:10} {wall:6.2f} s  {f}", file=sys.stderr)
    seq, bat = statistics.median(walls["sequential"]), statistics.median(walls["batched"])
    same = [k for k in texts["sequential"] if texts["sequential"][k] == texts["batched"].get(k)]
    out = {"benchmark": "compare_batching", "suite": "demo", "models": MODELS,
           "rounds": args.rounds, "wall_s": walls,
           "median_s": {"sequential": round(seq, 2), "batched": round(bat, 2)},
           "speedup": round(seq / bat, 3), "target_speedup": 1.8,
           "same_text": f"{len(same)}/{len(texts['sequential'])}",
           "seen": seen,
           "machine": facts()}
    write_json(out, args.out)


if __name__ == "__main__":
    main()
