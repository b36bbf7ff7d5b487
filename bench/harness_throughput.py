"""Harness throughput: how many cases per second the runner pushes through when the model
answers instantly, so the harness (templating, request building, HTTP, grading, storage) is
what gets measured, not a model.

    .venv/bin/python bench/harness_throughput.py [--cases 10000] [--concurrency 8]

- The mock: an OpenAI-compatible server on 127.0.0.1 in its own process (raw asyncio,
  HTTP/1.1 keep-alive, a canned streamed answer with usage), so it costs as little as a
  server can.
- The runner: a suite of N templated cases (one YAML case plus a CSV file of N rows when
  the suite loader is present) through `openpick.evals.runner.compare` with a fresh store,
  cache off: every case is a real request, graded (icontains + number) and committed.
- The baselines: a minimal asyncio client that sends the same N request bodies over the
  same number of keep-alive connections and reads the answers, nothing else (raw sockets:
  the floor), and the same with httpx.AsyncClient (the HTTP library the engine uses).
- The runner on the in-process fake engine (no HTTP): templating, grading and storage alone.

Both run in the same invocation against the same server; the JSON printed at the end holds
both wall times, their ratio, cases/s and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _machine import cpu_model  # noqa: E402  (bench/ is sys.path[0])

ANSWER = "The answer is 42."


# -- the mock server ---------------------------------------------------------------------
def _sse_body() -> bytes:
    def ev(obj):
        return b"data: " + json.dumps(obj).encode() + b"\n\n"
    base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "mock"}
    return (ev({**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                           "content": ANSWER},
                                     "finish_reason": None}]})
            + ev({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}})
            + b"data: [DONE]\n\n")


def _response(body: bytes, ctype: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + ctype + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: keep-alive\r\n\r\n" + body)


CHAT = _response(_sse_body(), b"text/event-stream")
MODELS = _response(json.dumps({"object": "list", "data": [{"id": "mock", "object": "model"}]})
                   .encode(), b"application/json")


class _Mock(asyncio.Protocol):
    """Parses just enough HTTP/1.1: request line, Content-Length, body; pipelining safe."""

    def connection_made(self, transport):
        self.t = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end].lower()
            i = head.find(b"content-length:")
            length = int(head[i + 15:head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0
                              else None]) if i >= 0 else 0
            end = head_end + 4 + length
            if len(self.buf) < end:
                return
            self.buf = self.buf[end:]
            self.t.write(MODELS if head.startswith(b"get") else CHAT)


def serve(port_out, ready) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Mock, "127.0.0.1", 0, backlog=1024)
        port_out.value = server.sockets[0].getsockname()[1]
        ready.set()
        await asyncio.Event().wait()
    try:
        import uvloop  # type: ignore[import-not-found]
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def start_server():
    ctx = mp.get_context("spawn")
    port, ready = ctx.Value("i", 0), ctx.Event()
    proc = ctx.Process(target=serve, args=(port, ready), daemon=True)
    proc.start()
    if not ready.wait(30):
        proc.kill()
        raise RuntimeError("mock server did not start")
    return proc, port.value


# -- the suite ---------------------------------------------------------------------------
def make_suite(folder: Path, n: int):
    """N cases from a CSV through the real suite loader (templating included)."""
    rows = ["city,country"]
    for i in range(n):
        rows.append(f"City{i},Country{i}")
    (folder / "rows.csv").write_text("\n".join(rows) + "\n")
    (folder / "bench.yaml").write_text(
        "name: harness-bench\n"
        "defaults: {system: 'You are terse.', max_tokens: 16, temperature: 0}\n"
        "data:\n"
        "  - file: rows.csv\n"
        "    prompt: 'What is special about {{city}} in {{country}}? Then compute 40 + 2.'\n"
        "    assert: [{icontains: answer}, {number: 42}]\n")
    return folder / "bench.yaml"


def python_items(n: int):
    """Fallback when the suite loader is absent: the same cases, templated here."""
    from openpick.evals.assertions import parse_assertion

    tpl = "What is special about {{city}} in {{country}}? Then compute 40 + 2."
    asserts = [parse_assertion({"icontains": "answer"}), parse_assertion({"number": 42})]
    items = []
    for i in range(n):
        text = tpl.replace("{{city}}", f"City{i}").replace("{{country}}", f"Country{i}")
        items.append({"case_id": f"row{i}", "variant": "default", "tags": [],
                      "messages": [{"role": "system", "content": "You are terse."},
                                   {"role": "user", "content": text}],
                      "max_tokens": 16, "temperature": 0.0, "assertions": asserts})
    return items


class _ListSuite:
    def __init__(self, items):
        self.name, self._items, self.path = "harness-bench", items, None

    def items(self):
        return self._items


def load_cases(folder: Path, n: int):
    """(suite, how it was built). Templating time is part of the measured run."""
    try:
        from openpick.evals.suite import load_suite
    except ImportError:
        return _ListSuite(python_items(n)), "python"
    return load_suite(make_suite(folder, n)), "suite-loader"


# -- the runner --------------------------------------------------------------------------
def run_harness(port: int, n: int, concurrency: int, folder: Path) -> dict:
    from openpick.evals.runner import RunOptions, compare, load_items

    t0 = time.perf_counter()
    suite, how = load_cases(folder, n)
    _, items, _ = load_items(suite)
    t1 = time.perf_counter()
    spec = f"openai:http://127.0.0.1:{port}/v1#mock"
    info, results = compare(suite, [spec], RunOptions(use_cache=False, concurrency=concurrency))
    t2 = time.perf_counter()
    assert info.status == "finished", info.status
    errors = [r.error for r in results if r.error]
    assert len(results) == n and not errors, (len(results), errors[:3])
    return {"wall_s": t2 - t0, "load_s": t1 - t0, "run_s": t2 - t1, "cases": len(items),
            "passed": sum(1 for r in results if r.passed), "suite_built_by": how,
            "bodies": [_body(it) for it in items]}


def _body(item) -> bytes:
    req = item.request(seed=0)
    body = {"model": "mock", "max_tokens": req.max_tokens, "temperature": req.temperature,
            "top_p": req.top_p, "stream": True, "stream_options": {"include_usage": True},
            "seed": req.seed, "messages": [m.model_dump() for m in req.messages]}
    return json.dumps(body).encode()


# -- the minimal client ------------------------------------------------------------------
async def _minimal(port: int, bodies: list[bytes], concurrency: int) -> int:
    it = iter(bodies)
    done = 0

    async def conn():
        nonlocal done
        r, w = await asyncio.open_connection("127.0.0.1", port)
        for body in it:
            w.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                    b"content-type: application/json\r\naccept: text/event-stream\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await r.readuntil(b"\r\n\r\n")
            i = head.lower().find(b"content-length:")
            length = int(head[i + 15:head.find(b"\r\n", i)])
            await r.readexactly(length)
            done += 1
        w.close()

    await asyncio.gather(*(conn() for _ in range(concurrency)))
    return done


async def _minimal_httpx(port: int, bodies: list[bytes], concurrency: int) -> int:
    """The same requests through httpx.AsyncClient (the HTTP library the engine uses),
    streaming the answer line by line, nothing else."""
    import httpx

    it = iter(bodies)
    done = 0
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        async def conn():
            nonlocal done
            for body in it:
                async with client.stream("POST", url, content=body, headers=headers) as r:
                    async for _ in r.aiter_lines():
                        pass
                done += 1
        await asyncio.gather(*(conn() for _ in range(concurrency)))
    return done


def run_minimal_httpx(port: int, bodies: list[bytes], concurrency: int) -> dict:
    t0 = time.perf_counter()
    done = asyncio.run(_minimal_httpx(port, bodies, concurrency))
    t1 = time.perf_counter()
    assert done == len(bodies)
    return {"wall_s": t1 - t0, "cases": done}


def run_no_http(n: int, folder: Path) -> dict:
    """The runner on the in-process fake engine: templating, grading and storage only."""
    from openpick.evals.runner import RunOptions, compare

    t0 = time.perf_counter()
    suite, _ = load_cases(folder, n)
    info, results = compare(suite, ["fake:The answer is 42."], RunOptions(use_cache=False))
    t1 = time.perf_counter()
    assert info.status == "finished" and len(results) == n
    return {"wall_s": t1 - t0, "cases": n}


def run_minimal(port: int, bodies: list[bytes], concurrency: int) -> dict:
    t0 = time.perf_counter()
    done = asyncio.run(_minimal(port, bodies, concurrency))
    t1 = time.perf_counter()
    assert done == len(bodies)
    return {"wall_s": t1 - t0, "cases": done}


def machine() -> dict:
    cpu = cpu_model()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "sqlite": __import__("sqlite3").sqlite_version}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="openpick-bench-") as tmp:
        os.environ["OPENPICK_HOME"] = tmp  # a fresh store: nothing cached, nothing to resume
        server, port = start_server()
        try:
            # Warm both paths (imports, connections) on a few cases first.
            run_minimal(port, [b"{}"] * 50, args.concurrency)
            harness = run_harness(port, args.cases, args.concurrency, Path(tmp))
            bodies = harness.pop("bodies")
            minimal = run_minimal(port, bodies, args.concurrency)
            minimal_httpx = run_minimal_httpx(port, bodies, args.concurrency)
        finally:
            server.kill()
        no_http = run_no_http(args.cases, Path(tmp))
    out = {
        "benchmark": "harness_throughput",
        "cases": args.cases,
        "concurrency": args.concurrency,
        "runner": {**harness, "cases_per_s": round(args.cases / harness["wall_s"], 1)},
        "minimal_client": {**minimal, "cases_per_s": round(args.cases / minimal["wall_s"], 1)},
        "minimal_httpx_client": {**minimal_httpx,
                                 "cases_per_s": round(args.cases / minimal_httpx["wall_s"], 1)},
        "runner_without_http": {**no_http, "cases_per_s": round(args.cases / no_http["wall_s"], 1)},
        "ratio_runner_to_minimal": round(harness["wall_s"] / minimal["wall_s"], 2),
        "ratio_runner_to_minimal_httpx": round(harness["wall_s"] / minimal_httpx["wall_s"], 2),
        "targets": {"cases_per_s": 1000, "ratio": 1.2},
        "machine": machine(),
    }
    out["meets"] = {"cases_per_s": out["runner"]["cases_per_s"] >= 1000,
                    "ratio": out["ratio_runner_to_minimal"] <= 1.2}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    sys.exit(main() and 0)
