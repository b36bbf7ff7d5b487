"""What the extra-buffer fallback costs: decode speed with and without llama.cpp's extra
buffer types (AMX / repacked weight layouts), on the embedded models, where both work.

Each setting loads the model in its own worker process (so a crash costs nothing but that
setting's numbers), warms up, then decodes the same greedy prompt `--reps` times with
parallel=1; tok/s is openpick's own decode timing (tokens after the first over the time
after the first). Settings alternate per model. Where the default path crashes (as on
Intel Xeons whose AMX path faults), that is recorded instead of a speed.

Usage: python bench/extra_buffers.py [--reps N] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import facts, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parent
PROMPT = "Write a long story about a lighthouse keeper and a storm."


def measure(model: str, extra: bool, reps: int) -> dict:
    from openpick.engines import Request, load_engine
    from openpick.engines.process import WorkerCrashed

    try:
        engine = load_engine(model, {"extra_buffers": extra, "parallel": 1})
    except WorkerCrashed as e:
        return {"crashed": str(e)}
    try:
        req = Request.chat(PROMPT, max_tokens=96)
        engine.complete(req)  # warm-up
        speeds = []
        for _ in range(reps):
            speeds.append(engine.complete(req).timings.decode_tok_s)
        return {"decode_tok_s": [round(s, 2) for s in speeds],
                "median": round(statistics.median(speeds), 2)}
    except WorkerCrashed as e:
        return {"crashed": str(e)}
    finally:
        engine.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "results" / "extra_buffers.json"))
    args = ap.parse_args()
    os.environ["OPENPICK_HOME"] = tempfile.mkdtemp(prefix="openpick-bench-xbuf-")
    results = {}
    for model in ("smollm2-135m", "qwen2.5-coder-0.5b"):
        row = {}
        for extra in (True, False):
            row["with" if extra else "without"] = measure(model, extra, args.reps)
            print(model, extra, row["with" if extra else "without"], file=sys.stderr)
        w, wo = row["with"].get("median"), row["without"].get("median")
        row["cost_of_fallback"] = round(1 - wo / w, 3) if w and wo else None
        results[model] = row
    out = {"benchmark": "extra_buffers", "reps": args.reps, "results": results,
           "machine": facts()}
    write_json(out, args.out)


if __name__ == "__main__":
    main()
