"""A small fault-injecting OpenAI-compatible server on 127.0.0.1.

The first path segment picks the behaviour: http://127.0.0.1:PORT/<scenario>/v1. Each
scenario counts its requests, so tests can check how often the client retried.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def sse(obj) -> bytes:
    return f"data: {json.dumps(obj) if not isinstance(obj, str) else obj}\n\n".encode()


def chunk(text=None, finish=None, kind="chat"):
    choice = {"index": 0, "finish_reason": finish}
    if kind == "chat":
        choice["delta"] = {"content": text} if text is not None else {}
    else:
        choice["text"] = text or ""
    return {"id": "x", "object": "chat.completion.chunk", "choices": [choice]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def _scenario(self) -> str:
        return self.path.strip("/").split("/")[0]

    def _send_json(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _ok_stream(self, kind):
        self._start_stream()
        for piece in ["Hello", ",", " world"]:
            self.wfile.write(sse(chunk(piece, kind=kind)))
        self.wfile.write(sse(chunk(finish="stop", kind=kind)))
        self.wfile.write(sse({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}))
        self.wfile.write(sse("[DONE]"))

    def do_GET(self):
        s = self._scenario()
        self.server.counts[s] += 1
        if self.path.endswith("/models"):
            ids = ["only-model"] if s != "two-models" else ["a", "b"]
            self._send_json(200, {"object": "list", "data": [{"id": i} for i in ids]})
        else:
            self._send_json(404, {"error": {"message": "no such route"}})

    def do_POST(self):
        s = self._scenario()
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        server = self.server
        with server.lock:
            server.counts[s] += 1
            n = server.counts[s]
            server.bodies.append(body)
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            self._behave(s, n, body)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _behave(self, s, n, body):
        kind = "chat" if self.path.endswith("/chat/completions") else "text"
        if s == "ok":
            if body.get("stream"):
                self._ok_stream(kind)
            else:
                self._send_json(200, {"choices": [{"index": 0, "finish_reason": "length",
                                                   "message": {"content": "whole answer"}}],
                                      "usage": {"prompt_tokens": 5, "completion_tokens": 2}})
        elif s == "429-then-ok":
            if n == 1:
                self._send_json(429, {"error": {"message": "slow down"}}, [("Retry-After", "0")])
            else:
                self._ok_stream(kind)
        elif s == "503-503-then-ok":
            if n <= 2:
                self._send_json(503, {"error": {"message": "overloaded"}})
            else:
                self._ok_stream(kind)
        elif s == "always-500":
            self._send_json(500, {"error": {"message": "internal trouble"}})
        elif s == "400":
            self._send_json(400, {"error": {"message": "max_tokens is too large"}})
        elif s == "401":
            self._send_json(401, {"error": {"message": "invalid api key"}})
        elif s == "malformed":
            self._start_stream()
            self.wfile.write(sse(chunk("Hi", kind=kind)))
            self.wfile.write(b"data: {not json\n\n")
        elif s == "malformed-body":
            body = b"<html>oops</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif s == "drop-before-then-ok":
            if n == 1:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self._ok_stream(kind)
        elif s == "drop-mid":
            self._start_stream()
            self.wfile.write(sse(chunk("Partial", kind=kind)))
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif s == "no-done":
            self._start_stream()
            self.wfile.write(sse(chunk("Cut", kind=kind)))
        elif s == "hang":
            self._start_stream()
            self.wfile.write(b": keep waiting\n\n")
            self.wfile.flush()
            self.server.stop.wait(5)
        elif s == "error-event":
            self._start_stream()
            self.wfile.write(sse({"error": {"message": "model crashed"}}))
        elif s == "slow-ok":
            self.server.stop.wait(0.05)  # keeps requests overlapping for the concurrency test
            self._ok_stream(kind)
        else:
            self._send_json(404, {"error": {"message": f"unknown scenario {s}"}})


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.counts: Counter = Counter()
        self.bodies: list = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.stop = threading.Event()

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{scenario}/v1"


@pytest.fixture
def fault_server():
    server = FaultServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- replicas: servers that die and come back ----------------------------------------------
class ReplicaHandler(Handler):
    """The fault scenarios plus `headers-then-drop` (a stream that dies before any text);
    tracks its connection so the server can cut it when killed."""

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass  # the connection was cut by kill()
        finally:
            with self.server.lock:
                self.server.connections.discard(self.connection)

    def _behave(self, s, n, body):
        if s == "replica":
            # Slow, then the whole answer in one write: a kill cuts a request either before
            # its first token (it moves to another replica) or after its [DONE].
            self.server.stop.wait(0.05)
            kind = "chat" if self.path.endswith("/chat/completions") else "text"
            self._start_stream()
            self.wfile.write(b"".join([*(sse(chunk(p, kind=kind)) for p in ["Hello", ",", " world"]),
                                       sse(chunk(finish="stop", kind=kind)), sse("[DONE]")]))
        elif s == "headers-then-drop":
            self._start_stream()
            self.wfile.write(b": starting\n\n")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            super()._behave(s, n, body)


class ReplicaServer(FaultServer):
    """A FaultServer on a chosen port (0: any free one) that can be killed, cutting its open
    connections as a crashed replica would, and started again on the same port."""

    def __init__(self, port: int = 0):
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", port), ReplicaHandler)
        self.counts = Counter()
        self.bodies = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.stop = threading.Event()
        self.connections: set[socket.socket] = set()
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True)
        self.killed = False
        self.thread.start()

    def handle_error(self, request, client_address):
        pass  # writes to a killed connection fail; that is the point

    def served(self, scenario: str = "replica") -> int:
        with self.lock:
            return self.counts[scenario]

    def kill(self) -> None:
        if self.killed:
            return
        self.killed = True
        self.shutdown()
        self.server_close()
        with self.lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.stop.set()  # only now: requests waiting there must not answer first
        self.thread.join(timeout=10)


@pytest.fixture
def replica_server():
    """`start(port=0)` → a running ReplicaServer; every one started is killed at the end."""
    started: list[ReplicaServer] = []

    def start(port: int = 0) -> ReplicaServer:
        server = ReplicaServer(port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def closed_ports():
    """`get()` → a local port with nothing listening, a different one each call."""
    held: list[socket.socket] = []

    def get() -> int:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))  # kept bound (not listening) so the next call differs
        held.append(s)
        return s.getsockname()[1]

    yield get
    for s in held:
        s.close()
