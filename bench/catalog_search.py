"""Catalog index benchmark: import throughput and search latency on 1,000,000 records.

Builds a synthetic catalog shaped like the real one (families, sizes, fine-tune chains,
domains, languages, licenses, MOF components), writes it as JSON Lines, then times

1. import: JSON Lines → validated ModelRecord → SQLite + FTS5 index (records/s),
   through build_index_from_jsonl (validation in a worker process, SQLite writes here);
2. search: a fixed, seeded mix of filtered and free-text queries (p50, p95, max),
   each returning the first 20 hits as a user would see them.

Targets on a 2-core machine: import >= 20,000 records/s; search p95 < 50 ms.
Usage: python bench/catalog_search.py [--records N] [--queries N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from openpick.catalog.index import Query, build_index_from_jsonl, search
import openpick.openness  # noqa: E402,F401 - registers the MOF facts the catalog index needs

ORGS = ["meta-llama", "mistralai", "Qwen", "google", "microsoft", "allenai", "tiiuae",
        "HuggingFaceTB", "deepseek-ai", "bigcode", "EleutherAI", "nvidia", "ibm-granite",
        "BioMistral", "elyza", "TencentARC", "OpenAssistant", "nomic-ai", "stabilityai", "01-ai"]
FAMILIES = ["Llama", "Mistral", "Qwen", "Gemma", "Phi", "OLMo", "Falcon", "SmolLM", "DeepSeek",
            "StarCoder", "Pythia", "Granite", "BLOOM", "Yi", "StableLM"]
WORDS = ["chat", "instruct", "coder", "math", "med", "bio", "law", "fin", "vision", "base",
         "tiny", "pro", "plus", "reasoning", "japanese", "german", "arabic", "hindi", "swahili"]
TASKS = ["chat", "instruction-following", "code", "math", "reasoning", "text-generation",
         "summarization", "translation"]
DOMAINS = ["general", "medical", "legal", "finance", "code", "math", "science", "education",
           "biology", "chemistry"]
LANGS = ["en", "fr", "de", "es", "it", "ja", "zh", "ko", "ar", "hi", "sw", "pt", "ru", "nl"]
LICENSES = ["Apache-2.0", "MIT", "LLAMA-2-COMMUNITY", "LLAMA-3.1-COMMUNITY", "GEMMA",
            "CC-BY-NC-4.0", "QWEN", "BIGCODE-OPENRAIL-M", "OPENRAIL"]
SIZES = [135e6, 360e6, 500e6, 1.1e9, 1.5e9, 3e9, 7e9, 8e9, 13e9, 14e9, 32e9, 34e9, 70e9, 180e9]
COMPONENT_SETS = [
    {"Model parameters (Final)": {"license": "{lic}"}, "Model architecture": {"license": "{lic}"}},
    {"Model parameters (Final)": {"license": "{lic}"}, "Model architecture": {"license": "Apache-2.0"},
     "Training code": {"license": "Apache-2.0"}, "Inference code": {"license": "Apache-2.0"},
     "Evaluation code": {"license": "Apache-2.0"}, "Model card": {"license": "{lic}"},
     "Research paper": {"license": "CC-BY-4.0"}},
    {"Model parameters (Final)": {"license": "{lic}"}, "Datasets": {"license": "ODC-By-1.0"},
     "Model parameters (Intermediate)": {"license": "{lic}"}, "Training code": {"license": "Apache-2.0"},
     "Research paper": {"license": "unlicensed"}},
]


def synth(i: int, rng: random.Random) -> dict:
    org = rng.choice(ORGS)
    fam = rng.choice(FAMILIES)
    size = rng.choice(SIZES)
    name = f"{fam}-{size / 1e9:g}B-{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}"
    lic = rng.choice(LICENSES)
    comps = json.loads(json.dumps(rng.choice(COMPONENT_SETS)).replace("{lic}", lic))
    rec = {
        "id": f"{org}/{name}", "name": name.replace("-", " "), "developer": org, "family": fam,
        "description": f"{fam} {rng.choice(WORDS)} model for {rng.choice(DOMAINS)} work",
        "tasks": rng.sample(TASKS, k=rng.randint(1, 3)),
        "domains": rng.sample(DOMAINS, k=rng.randint(1, 2)),
        "languages": rng.sample(LANGS, k=rng.randint(1, 4)),
        "license": lic, "parameters": int(size), "context_length": rng.choice([2048, 4096, 8192, 32768, 131072]),
        "release_date": f"{rng.randint(2022, 2026)}-{rng.randint(1, 12):02d}",
        "features": rng.sample(["gqa", "rope", "sliding-window", "moe", "mqa"], k=rng.randint(0, 2)),
        "links": {"huggingface": f"https://huggingface.co/{org}/{name}"},
        "components": comps, "tags": [rng.choice(WORDS)],
    }
    if i > 1000 and rng.random() < 0.6:  # a fine-tune of an earlier synthetic record
        j = rng.randrange(0, i)
        rec["base_model"] = [f"__BASE__{j}"]
        rec["base_model_relation"] = rng.choice(["finetune", "adapter", "quantized", "merge"])
    return rec


def write_jsonl(path: Path, n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    ids: list[str] = []
    with path.open("w") as f:
        for i in range(n):
            rec = synth(i, rng)
            if "base_model" in rec:
                rec["base_model"] = [ids[int(rec["base_model"][0][8:])]]
            ids.append(rec["id"])
            f.write(json.dumps(rec) + "\n")
    return ids


KINDS = ["text", "text+domain", "domain+osi by openness", "language+params by date",
         "fits+task by size", "text+mof+commercial", "descendants of a base", "exact name"]


def make_queries(n: int, ids: list[str], seed: int = 11) -> list[Query]:
    rng = random.Random(seed)
    qs: list[Query] = []
    for i in range(n):
        kind = i % 8
        q = Query(limit=20)
        if kind == 0:
            q.text = rng.choice(FAMILIES).lower()
        elif kind == 1:
            q.text = f"{rng.choice(FAMILIES)} {rng.choice(WORDS)}"
            q.domains = [rng.choice(DOMAINS)]
        elif kind == 2:
            q.domains = [rng.choice(DOMAINS)]
            q.license = "osi"
            q.sort = "openness"
        elif kind == 3:
            q.languages = [rng.choice(LANGS)]
            q.params = (int(1e9), int(8e9))
            q.sort = "date"
        elif kind == 4:
            q.fits_bytes = rng.choice([4e9, 8e9, 16e9])
            q.tasks = [rng.choice(TASKS)]
            q.sort = "size"
        elif kind == 5:
            q.text = rng.choice(WORDS)
            q.mof_class = 3
            q.license = "commercial"
        elif kind == 6:
            q.base = rng.choice(ids[:1000])
        else:
            q.text = rng.choice(ids).split("/")[1]  # an exact name lookup
        qs.append(q)
    return qs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--reuse", action="store_true",
                    help="time queries on the index already in --out (no import)")
    a = ap.parse_args()
    work = Path(a.out or tempfile.mkdtemp(prefix="openpick-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src, db = work / "records.jsonl", work / "index.sqlite"
    if a.reuse:
        with src.open() as f:
            ids = [json.loads(line)["id"] for line in f]
        n, gen_s, import_s = len(ids), float("nan"), float("nan")
    else:
        t0 = time.perf_counter()
        ids = write_jsonl(src, a.records)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = build_index_from_jsonl(db, src, fingerprint="bench")
        import_s = time.perf_counter() - t0

    queries = make_queries(a.queries, ids)
    search(queries[0], db)  # warm the page cache once
    lat: list[float] = []
    by_kind: dict[str, list[float]] = {}
    hits = 0
    for i, q in enumerate(queries):
        t = time.perf_counter()
        hits += len(search(q, db))
        ms = (time.perf_counter() - t) * 1000
        lat.append(ms)
        by_kind.setdefault(KINDS[i % len(KINDS)], []).append(ms)
    lat.sort()

    def p(f: float, xs: list[float] = lat) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(f * len(xs)))]

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"SQLite {__import__('sqlite3').sqlite_version}",
        "records": n, "generate_s": round(gen_s, 1), "import_s": round(import_s, 1),
        "import_records_per_s": None if a.reuse else round(n / import_s),
        "index_mb": round(db.stat().st_size / 1e6, 1),
        "queries": len(queries), "hits_returned": hits,
        "search_ms": {"p50": round(p(0.50), 2), "p95": round(p(0.95), 2), "max": round(lat[-1], 2)},
        "search_p95_ms_by_kind": {k: round(p(0.95, v), 2) for k, v in by_kind.items()},
        "targets": {"import_records_per_s": 20000, "search_p95_ms": 50},
    }
    print(json.dumps(result, indent=2))
    if not a.out:
        for f in (src, db):
            f.unlink(missing_ok=True)
    ok = (a.reuse or result["import_records_per_s"] >= 20000) and result["search_ms"]["p95"] < 50
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
