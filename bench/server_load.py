"""Load: 64 concurrent streaming clients on the fake engine for 60 s, on 127.0.0.1.

`openpick serve --model echo=fake:echo` runs as a subprocess. The fake engine answers
instantly (it echoes the user's 16 words as 16 tokens), so every millisecond a client
waits is added by the server: HTTP, validation, the worker thread, SSE framing, and queueing
behind the other 63 clients on a 2-core machine shared with the client itself.

Each client loops until the deadline: one streamed chat completion, read to `[DONE]`,
checked (status 200, the echoed text back, a final `[DONE]`). Any other outcome is an
error. Reported: requests, errors, requests/s, tokens/s, and latency percentiles (time to
first token and to `[DONE]`) under load, plus the same measured first with a single client
(the unloaded floor). Traffic stays on loopback and stops by itself at the deadline.

Usage: python bench/server_load.py [--clients 64] [--seconds 60] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent
WORDS = "the quick brown fox jumps over the lazy dog while seven tired cats watch it go"
BODY = {"model": "echo", "stream": True, "max_tokens": 64,
        "messages": [{"role": "user", "content": WORDS}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, logdir: Path) -> subprocess.Popen:
    env = {**os.environ, "OPENPICK_HOME": str(logdir / "home")}
    env.pop("OPENPICK_API_KEY", None)
    log = logdir / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from openpick.cli.main import main; main()", "serve",
         "--port", str(port), "--model", "echo=fake:echo", "--log-level", "warning"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=logdir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


class Connection:
    """A bare keep-alive HTTP/1.1 connection. The load generator shares 2 cores with the
    server, and httpx's pool spent 3x the server's CPU at 64 streams, so the client speaks
    just enough HTTP itself: one POST, a chunked SSE answer, read to the end."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        payload = json.dumps(BODY).encode()
        self.request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(payload)}"
                        f"\r\n\r\n").encode() + payload

    async def post(self) -> tuple[int, str, float | None]:
        """(status, body, time of the first non-empty content event)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status = int(head.split(" ", 2)[1])
        first = None
        parts: list[bytes] = []
        if "transfer-encoding: chunked" in head:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                if first is None and b'"content":"' in data and b'"content":""' not in data:
                    first = time.perf_counter()
                parts.append(data[:-2])
        else:
            length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
            parts.append(await self.reader.readexactly(length))
        if "connection: close" in head:
            self.close()
        return status, b"".join(parts).decode(), first

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def one(conn: Connection) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    status, body, first = await conn.post()
    end = time.perf_counter()
    if status != 200:
        raise RuntimeError(f"status {status}: {body[:200]}")
    text, done = [], False
    for event in body.split("\n\n"):
        if not event.startswith("data: "):
            continue
        if event == "data: [DONE]":
            done = True
            continue
        chunk = json.loads(event[6:])
        if "error" in chunk:
            raise RuntimeError(chunk["error"]["message"])
        piece = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
        if piece:
            text.append(piece)
    if not done or "".join(text) != WORDS or first is None:
        raise RuntimeError("incomplete or wrong answer")
    return first - t0, end - t0, len(text)


async def run(host: str, port: int, clients: int, seconds: float) -> dict:
    ttfts: list[float] = []
    totals: list[float] = []
    errors: list[str] = []
    tokens = 0
    deadline = time.perf_counter() + seconds

    async def worker():
        nonlocal tokens
        conn = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                try:
                    ttft, total, n = await asyncio.wait_for(one(conn), 60)
                except Exception as e:  # counted, reported, never retried
                    errors.append(f"{type(e).__name__}: {e}")
                    conn.close()
                    continue
                ttfts.append(ttft)
                totals.append(total)
                tokens += n
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(clients)])
    wall = time.perf_counter() - t0
    return {"clients": clients, "seconds": round(wall, 1), "requests": len(totals),
            "errors": len(errors), "error_samples": errors[:5],
            "requests_per_s": round(len(totals) / wall, 1),
            "tokens_per_s": round(tokens / wall, 1),
            "ttft_ms": percentiles(ttfts), "latency_ms": percentiles(totals)}


def percentiles(xs: list[float]) -> dict:
    if not xs:
        return {}
    xs = sorted(xs)

    def q(p):
        return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, 2)

    return {"p50": q(0.50), "p90": q(0.90), "p99": q(0.99), "max": round(xs[-1] * 1000, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--out", default=str(ROOT / "results" / "server_load.json"))
    args = ap.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="openpick-bench-load-"))
    port = free_port()
    proc = start_server(port, logdir)
    try:
        asyncio.run(run("127.0.0.1", port, 4, 2))  # warm-up
        floor = asyncio.run(run("127.0.0.1", port, 1, min(10, args.seconds)))
        loaded = asyncio.run(run("127.0.0.1", port, args.clients, args.seconds))
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    served = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                 if line.startswith("openpick_requests_total{") and 'status="200"' in line)
    out = {"benchmark": "server_load", "engine": "fake:echo (16 tokens per answer)",
           "machine": {"platform": platform.platform(), "python": platform.python_version(),
                       "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
           "single_client": floor, "loaded": loaded,
           "server_counted_200": served,
           "added_latency_p99_ms": loaded["latency_ms"].get("p99"),
           "added_ttft_p99_ms": loaded["ttft_ms"].get("p99")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(markdown(out))
    print(json.dumps(out, indent=2))
    if loaded["errors"]:
        sys.exit(1)


def markdown(out: dict) -> str:
    rows = ["| run | requests | errors | req/s | tok/s | TTFT p50 / p99 (ms) | "
            "latency p50 / p90 / p99 / max (ms) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("single_client", "loaded"):
        r = out[name]
        t, lat = r["ttft_ms"], r["latency_ms"]
        rows.append(f"| {r['clients']} client(s), {r['seconds']} s | {r['requests']} | "
                    f"{r['errors']} | {r['requests_per_s']} | {r['tokens_per_s']} | "
                    f"{t['p50']} / {t['p99']} | {lat['p50']} / {lat['p90']} / {lat['p99']} / "
                    f"{lat['max']} |")
    return "\n".join([f"# openpick serve under load ({out['engine']})", "", *rows, "",
                      f"p99 added latency under load: **{out['added_latency_p99_ms']} ms** "
                      f"(TTFT p99 {out['added_ttft_p99_ms']} ms).",
                      f"Machine: {out['machine']}", ""])


if __name__ == "__main__":
    main()
