"""`openpick serve` against llama-cpp-python's own server, same model, same threads.

Both servers run as subprocesses on 127.0.0.1 with SmolLM2-135M (the embedded GGUF),
n_ctx 2048 per stream, the same number of threads (--threads, default 2: both cores here):

- llama_server: `python -m llama_cpp.server --model GGUF --n_threads T --n_threads_batch T
  --interrupt_requests false` (its default, true, cuts a stream short when another request
  arrives, which would make the 4-stream numbers meaningless); where llama.cpp's extra
  buffer types crash (engines/probe.py), it is started with them off, as openpick loads;
- openpick:     `openpick serve` with the same file as a configured model,
  options {n_threads: T, n_ctx: 2048}: its worker process decodes up to 4 streams together
  in one batch (continuous batching, the engine's default `parallel = 4`).

Each round sends, to each server in turn (the order alternates every round), one streamed
chat completion alone (c=1) and then 4 at once (c=4), greedy (temperature 0,
repeat_penalty 1), max_tokens tokens. The client measures, for every stream, TTFT (request
sent → first non-empty content chunk) and counts content chunks; throughput is chunks /
wall time of the batch (all streams together). Every request opens with its own words, the
same on both servers, so TTFT includes prompt processing, and the script checks both
servers answer each prompt with the same text. Both servers run one generation at a time,
llama_cpp.server runs one generation at a time, so at c=4 its TTFT p50 is mostly waiting
for the streams ahead; openpick's batch takes all four at once.
Targets: c=1 TTFT p50 ratio openpick/llama_server <= 1.05; c=4 throughput ratio >= 2.

Usage: python bench/server_vs_llama_server.py [--rounds N] [--max-tokens N] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from openpick.engines.embedded import EMBEDDED

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
# Each request gets its own opening words, so neither server answers from the KV cache of
# the previous prompt (both keep one): TTFT includes processing the user's message.
USER = ("This is story request {tag}. Write a long story about a dragon who learns to bake "
        "bread in a small mountain village. Describe every step in detail.")
ROOT = Path(__file__).resolve().parent
TIMEOUT = httpx.Timeout(300, connect=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server did not start in {timeout}s: {log.read_text()[-2000:]}")


def start_llama_server(gguf: Path, port: int, logdir: Path, threads: int) -> subprocess.Popen:
    from openpick.engines import llama_server

    log = logdir / "llama_server.log"
    proc = subprocess.Popen(
        llama_server.command() + ["--model", str(gguf),
         "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--n_threads", str(threads), "--n_threads_batch", str(threads),
         "--interrupt_requests", "false", "--verbose", "false"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_ready(f"http://127.0.0.1:{port}", proc, log)
    return proc


def start_openpick(gguf: Path, port: int, logdir: Path, threads: int) -> subprocess.Popen:
    home = logdir / "home"
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "openpick.toml").write_text(
        f'[models.smollm2]\nengine = "llama-cpp"\npath = "{gguf}"\n'
        f"options = {{ n_threads = {threads}, n_ctx = 2048 }}\n")
    log = logdir / "openpick.log"
    env = {**os.environ, "OPENPICK_HOME": str(home)}
    env.pop("OPENPICK_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from openpick.cli.main import main; main()", "serve",
         "--port", str(port), "--log-level", "warning"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=logdir)
    wait_ready(f"http://127.0.0.1:{port}", proc, log)
    return proc


async def one_stream(client: httpx.AsyncClient, url: str, max_tokens: int, tag: str) -> dict:
    messages = [SYSTEM, {"role": "user", "content": USER.format(tag=tag)}]
    body = {"model": "smollm2", "messages": messages, "max_tokens": max_tokens,
            "temperature": 0, "repeat_penalty": 1.0, "stream": True}
    t0 = time.perf_counter()
    first = None
    pieces: list[str] = []
    async with client.stream("POST", url + "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError(chunk["error"])
            text = (chunk["choices"][0]["delta"].get("content") or "") if chunk["choices"] else ""
            if text:
                if first is None:
                    first = time.perf_counter()
                pieces.append(text)
    end = time.perf_counter()
    return {"ttft": first - t0, "tokens": len(pieces), "start": t0, "end": end,
            "text": "".join(pieces)}


async def batch(url: str, concurrency: int, max_tokens: int, tag: str) -> dict:
    tags = [f"{tag}.{i}" for i in range(concurrency)]
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        t0 = time.perf_counter()
        streams = await asyncio.gather(*[one_stream(client, url, max_tokens, t) for t in tags])
        wall = time.perf_counter() - t0
    return {"ttfts": [s["ttft"] for s in streams], "tokens": sum(s["tokens"] for s in streams),
            "wall": wall, "texts": {t: s["text"] for t, s in zip(tags, streams, strict=True)}}


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg_at_start": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "results" / "server_vs_llama_server.json"))
    args = ap.parse_args()
    gguf = EMBEDDED["smollm2-135m"].path()
    logdir = Path(tempfile.mkdtemp(prefix="openpick-bench-server-"))
    servers: dict[str, str] = {}
    procs = []
    try:
        for name, start in (("llama_server", start_llama_server), ("openpick", start_openpick)):
            port = free_port()
            procs.append(start(gguf, port, logdir, args.threads))
            servers[name] = f"http://127.0.0.1:{port}"
        for url in servers.values():  # warm-up: loads the model, fills caches
            asyncio.run(batch(url, 1, 8, "warm-up"))
        results = {name: {1: [], 4: []} for name in servers}
        texts: dict[str, dict] = {name: {} for name in servers}
        order = list(servers)
        for rnd in range(args.rounds):
            for name in (order if rnd % 2 == 0 else order[::-1]):
                for conc in (1, 4):
                    b = asyncio.run(batch(servers[name], conc, args.max_tokens,
                                          f"{rnd + 1}.{conc}"))
                    results[name][conc].append(b)
                    texts[name].update(b["texts"])
                    print(f"round {rnd} {name:12} c={conc}: ttft p50 "
                          f"{statistics.median(b['ttfts']) * 1000:7.1f} ms, "
                          f"{b['tokens'] / b['wall']:6.1f} tok/s", file=sys.stderr)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    summary = {}
    for conc in (1, 4):
        row = {}
        for name in servers:
            batches = results[name][conc]
            ttfts = [t for b in batches for t in b["ttfts"]]
            row[name] = {
                "ttft_p50_ms": round(statistics.median(ttfts) * 1000, 1),
                "tok_s_median": round(statistics.median(b["tokens"] / b["wall"]
                                                        for b in batches), 2),
                "tok_s_all": round(sum(b["tokens"] for b in batches)
                                   / sum(b["wall"] for b in batches), 2),
                "tokens_per_stream": statistics.median(
                    b["tokens"] / conc for b in batches),
            }
        o, ll = row["openpick"], row["llama_server"]
        row["ttft_ratio"] = round(o["ttft_p50_ms"] / ll["ttft_p50_ms"], 3)
        row["throughput_ratio"] = round(o["tok_s_all"] / ll["tok_s_all"], 3)
        summary[f"c{conc}"] = row
    same = texts["openpick"] == texts["llama_server"]
    out = {"benchmark": "server_vs_llama_server", "model": "smollm2-135m (Q4_1)",
           "gguf": gguf.name, "rounds": args.rounds, "max_tokens": args.max_tokens,
           "threads": args.threads, "n_ctx": 2048, "same_text": same, "machine": machine(),
           "targets": {"c1_ttft_ratio_max": 1.05, "c4_throughput_ratio_min": 2.0},
           "results": summary}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(out))
    print(json.dumps(out, indent=2))


def markdown(out: dict) -> str:
    lines = [f"# openpick serve vs llama_cpp.server ({out['model']}, {out['threads']} threads, "
             f"{out['rounds']} rounds, max_tokens {out['max_tokens']})", "",
             "| streams | server | TTFT p50 (ms) | tokens/s (all streams) |",
             "| --- | --- | --- | --- |"]
    for key, row in out["results"].items():
        for name in ("llama_server", "openpick"):
            r = row[name]
            lines.append(f"| {key[1:]} | {name} | {r['ttft_p50_ms']} | {r['tok_s_all']} |")
        lines.append(f"| {key[1:]} | **ratio** | **{row['ttft_ratio']}** | "
                     f"**{row['throughput_ratio']}** |")
    lines += ["", "Targets: c=1 TTFT ratio ≤ 1.05; c=4 throughput ratio ≥ 2.",
              f"Same text from both servers for every prompt: {out['same_text']}. At 4 "
              "streams llama_cpp.server generates one stream at a time (its TTFT p50 there "
              "is mostly the wait behind the streams ahead); openpick batches them.",
              f"Machine: {out['machine']}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
