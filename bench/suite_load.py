"""Suite loading speed: the typed pipeline (pydantic models, evals/suite/) against an older
checkout, side by side in one run (the machine is shared and noisy).

    .venv/bin/python bench/suite_load.py [--cases 2000] [--rounds 5] [--old /path/to/old/src]

Builds one suite of N cases (half inline with vars, templated prompts and assertions, half
from a CSV data file), then loads it `rounds` times in each tree alternately, each load in a
fresh subprocess. Writes bench/results/suite_load.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOAD = """
import sys, time
t = time.perf_counter()
from openpick.evals.suite import load_suite
s = load_suite(sys.argv[1])
n = len(s.items())
print(n, time.perf_counter() - t)
"""


def make_suite(folder: Path, n: int) -> Path:
    inline = n // 2
    lines = ["name: load-bench", "defaults: {max_tokens: 32, temperature: 0}", "cases:"]
    for i in range(inline):
        lines += [f"  - id: c{i}", "    prompt: 'What is {{a}} plus {{b}}? Answer with a number.'",
                  f"    vars: {{a: {i}, b: {i + 1}}}", "    tags: [math]",
                  "    assert: [{number: '{{a + b}}'}, {not-icontains: sorry}]"]
    lines += ["data:", "  - file: rows.csv", "    prompt: 'Capital of {{country}}?'",
              "    assert: [{icontains: '{{capital}}'}]"]
    (folder / "rows.csv").write_text("country,capital\n" + "".join(
        f"Country{i},City{i}\n" for i in range(n - inline)))
    path = folder / "suite.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def load_once(src: Path, suite: Path) -> tuple[int, float]:
    out = subprocess.run([sys.executable, "-c", LOAD, str(suite)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, timeout=600,
                         check=True).stdout.split()
    return int(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--old", type=Path, required=True, help="src/ of the older checkout")
    a = ap.parse_args()
    trees = {"new": ROOT / "src", "old": a.old}
    with tempfile.TemporaryDirectory() as d:
        suite = make_suite(Path(d), a.cases)
        times: dict[str, list[float]] = {k: [] for k in trees}
        counts = {}
        for _ in range(a.rounds):
            for name, src in trees.items():
                counts[name], t = load_once(src, suite)
                times[name].append(t)
    assert counts["new"] == counts["old"] == a.cases, counts
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {"cases": a.cases, "rounds": a.rounds, "seconds": times,
              "median_s": med, "cases_per_s": {k: a.cases / v for k, v in med.items()},
              "new_over_old_time": med["new"] / med["old"],
              "machine": {"cpu": platform.processor() or platform.machine(),
                          "python": platform.python_version()}}
    out = ROOT / "bench" / "results" / "suite_load.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("median_s", "cases_per_s", "new_over_old_time")},
                     indent=2))


if __name__ == "__main__":
    main()
