"""Each embedded model's decode speed next to its memory-bandwidth floor.

At batch 1 every decoded token reads all the model's weights once, so
    floor (tokens/s) = memory read bandwidth (bytes/s) / model bytes
is an upper bound on decode speed that no engine can beat from memory (the weights do not
fit in cache). The ratio measured / floor says how far from that physical limit the
engine runs.

1. Read bandwidth is measured with numpy on arrays far bigger than the last-level cache:
   several read-only kernels (max, bitwise-or reduce, dot product), each best of several
   runs, on one thread (the thread count decode runs with); a BLAS dot on every core is
   recorded for scale.
   It is measured before and after the decode runs and the best is kept.
2. Decode tokens/s is openpick's own figure (`Result.timings.decode_tok_s`: tokens after
   the first over the time after the first) from the `llama-cpp` engine, plain completion,
   greedy, n_threads=1, median over a few prompts and rounds after a warm-up.

Usage: python bench/bandwidth_floor.py [--models ...] [--array-mib N] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

from _machine import cpu_model, git_commit, llama_cpp_version  # noqa: E402  (bench/ is sys.path[0])

import numpy as np

from openpick.engines.base import Request
from openpick.engines.embedded import EMBEDDED
from openpick.engines.spec import load_engine

PROMPTS = [
    "The history of the printing press begins",
    "def parse_config(path):\n    \"\"\"Read a TOML file and return a dict of settings.\"\"\"\n",
    "Once upon a time, in a village at the edge of a great forest, there lived",
]


def machine() -> dict:
    cpu = cpu_model()
    caches = {}
    for idx in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind = (idx / "level").read_text().strip(), (idx / "type").read_text().strip()
            if kind != "Instruction":
                caches[f"L{level}"] = (idx / "size").read_text().strip()
        except OSError:
            pass
    llama_version, commit = llama_cpp_version(), git_commit()
    return {
        "cpu": cpu, "caches": caches, "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)), "arch": platform.machine(),
        "os": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
        "llama_cpp_python": llama_version, "openpick_commit": commit,
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _blas_threads(n: int | None):
    """Limit BLAS threads when threadpoolctl is there; numpy's own reductions use one."""
    if n is None:
        return nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(n)


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def read_bandwidth(mib: int, repeats: int) -> dict:
    """Read bandwidth in GB/s (1e9 bytes/s) per kernel, on arrays of `mib` MiB each."""
    n = mib * 2**20 // 8
    rng = np.random.default_rng(0)
    a, b = rng.random(n), rng.random(n)  # written once, so every page is really mapped
    ints = a.view(np.int64)
    gb = a.nbytes / 1e9
    out = {}
    with _blas_threads(1):
        out["max_1t"] = gb / _best(a.max, repeats)
        out["or_reduce_1t"] = gb / _best(lambda: np.bitwise_or.reduce(ints), repeats)
        out["dot_1t"] = 2 * gb / _best(lambda: a.dot(b), repeats)  # reads a and b
    out["dot_all_cores"] = 2 * gb / _best(lambda: a.dot(b), repeats)
    out["one_thread"] = max(out["max_1t"], out["or_reduce_1t"], out["dot_1t"])
    return {k: round(v, 2) for k, v in out.items()}


def decode_speed(name: str, max_tokens: int, threads: int, rounds: int) -> dict:
    engine = load_engine(name, {"n_ctx": 2048, "n_threads": threads})
    llm = engine.load()
    engine.complete(Request(prompt=PROMPTS[0], max_tokens=16, temperature=0.0))  # warm-up
    runs = []
    for p in PROMPTS * rounds:
        llm.reset()
        r = engine.complete(Request(prompt=p, max_tokens=max_tokens, temperature=0.0))
        runs.append({"tokens": r.usage.completion_tokens, "ttft_s": r.timings.ttft_s,
                     "decode_tok_s": r.timings.decode_tok_s})
    info = {"path": str(engine.path), "file_bytes": engine.path.stat().st_size,
            "tensor_bytes": llm._model.size(), "parameters": llm._model.n_params(),
            "desc": llm._model.desc(), "runs": runs,
            "decode_tok_s": statistics.median(r["decode_tok_s"] for r in runs if r["decode_tok_s"])}
    engine.close()
    return info


def markdown(result: dict) -> str:
    m, bw = result["machine"], result["bandwidth_gb_s"]
    by_size = sorted(result["models"], key=lambda x: x["file_bytes"])
    rising = all(p["ratio"] < q["ratio"] for p, q in zip(by_size, by_size[1:]))
    largest_closest = ": the larger the model, the closer it runs to its floor" if rising and len(by_size) > 1 else ""
    lines = [
        "### Decode speed against the memory-bandwidth floor (CPU, batch 1)",
        "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, n_threads={result['threads']}; "
        f"Python {m['python']}, numpy {m['numpy']}, llama-cpp-python {m['llama_cpp_python']}, "
        f"openpick {m['openpick_commit']}; {result['date']}. Read bandwidth: "
        f"{bw['one_thread']:.1f} GB/s on one thread.",
        "",
        "| model | GGUF (llama.cpp's description) | parameters | bytes | floor, 1 thread (tok/s) "
        "| measured decode (tok/s) | measured / floor |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for x in result["models"]:
        lines.append(f"| {x['model']} | {x['desc']} | {x['parameters'] / 1e6:.0f} M | {x['file_bytes']:,} | {x['floor_tok_s']:.0f} | "
                     f"{x['decode_tok_s']:.1f} | {x['ratio']:.2f} |")
    lines += [
        "",
        "What was measured: at batch 1 every decoded token reads all the weights once, so memory "
        "read bandwidth / model bytes bounds decode tokens/s from above. Bandwidth is the best "
        f"of several numpy read-only kernels (max, bitwise-or reduce, dot product) over "
        f"{result['array_mib']} MiB arrays, far past the caches "
        f"({', '.join(f'{k} {v}' for k, v in m['caches'].items()) or 'sizes unknown'}), best of "
        f"{result['repeats']} runs each, measured before and after the decode runs. Model bytes "
        "are the GGUF file size (the tensors alone are within a few percent; both are in the "
        "JSON). Decode tokens/s is openpick's own figure from the `llama-cpp` engine (tokens "
        "after the first over the time after the first), the median of "
        f"{len(PROMPTS)} plain-completion prompts × {result['rounds']} rounds of {result['max_tokens']} greedy tokens after a "
        "warm-up; gemma3-270m is a base model, so plain completion is used for all three. "
        f"n_threads={result['threads']} because this 2-core machine is shared with other work "
        "and llama.cpp's threads spin at barriers, so a second thread beside a busy neighbour "
        "measures the neighbour, and the one-thread floor is the fair comparison. For scale, a "
        f"BLAS dot product on both cores read {bw['dot_all_cores']:.1f} GB/s at best in this run "
        "(a lower bound: the neighbour shares the second core and the memory bus). The gap to the floor is most likely compute on one core "
        "(dequantising and multiplying, plus fixed per-token work), not memory"
        f"{largest_closest}. There was no GPU in this session, so the GPU benchmark (transformers engine at "
        "batch 1, 8 and 64) was not measured here.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(EMBEDDED))
    ap.add_argument("--array-mib", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    a = ap.parse_args()

    t = time.perf_counter()
    result = {"benchmark": "bandwidth_floor", "date": time.strftime("%Y-%m-%d %H:%M %Z"),
              "machine": machine(), "threads": a.threads, "array_mib": a.array_mib,
              "repeats": a.repeats, "max_tokens": a.max_tokens, "rounds": a.rounds, "prompts": PROMPTS}
    before = read_bandwidth(a.array_mib, a.repeats)
    models = []
    for name in a.models:
        info = decode_speed(name, a.max_tokens, a.threads, a.rounds)
        models.append({"model": name, **info})
        print(f"{name}: {info['decode_tok_s']:.1f} tok/s ({time.perf_counter() - t:.0f}s)",
              file=sys.stderr)
    after = read_bandwidth(a.array_mib, a.repeats)
    bw = {k: max(before[k], after[k]) for k in before}
    result["bandwidth_gb_s"] = bw
    result["bandwidth_runs_gb_s"] = {"before": before, "after": after}
    for x in models:
        x["floor_tok_s"] = bw["one_thread"] * 1e9 / x["file_bytes"]
        x["floor_tensor_bytes_tok_s"] = bw["one_thread"] * 1e9 / x["tensor_bytes"]
        x["ratio"] = x["decode_tok_s"] / x["floor_tok_s"]
    result["models"] = models
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_s"] = round(time.perf_counter() - t, 1)

    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bandwidth_floor.json").write_text(json.dumps(result, indent=2) + "\n")
    (a.out / "bandwidth_floor.md").write_text(markdown(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
