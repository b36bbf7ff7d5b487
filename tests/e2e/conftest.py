"""End-to-end fixtures on the real embedded models (installed by `make test`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from openpick.engines import llama_server as reference_server
from openpick.engines.embedded import EMBEDDED


def embedded_path(name: str) -> Path:
    model = EMBEDDED[name]
    if model.status() != "ready":
        pytest.skip(f"{name} is not installed: {model.pip}")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python missing: pip install 'openpick[llama]'")
    return model.path()


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    return embedded_path("smollm2-135m")


@pytest.fixture(scope="session")
def smollm2(smollm2_path):
    from openpick.engines.llama_cpp import LlamaCppEngine

    engine = LlamaCppEngine(str(smollm2_path), {"n_ctx": 2048}, display_name="smollm2-135m")
    yield engine
    engine.close()


def run_cli(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """The real `openpick` command in a subprocess (environment, OPENPICK_HOME included)."""
    return subprocess.run(
        [sys.executable, "-c", "from openpick.cli.main import main; main()", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ}, **kw,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def require_embedded():
    """`require_embedded(name)` → the model's path, or a skip that names the pip command."""
    return embedded_path


@pytest.fixture(scope="session")
def llama_server(smollm2_path, tmp_path_factory):
    """llama_cpp.server serving SmolLM2 on 127.0.0.1 as model `smollm2`; yields its /v1 URL."""
    pytest.importorskip("uvicorn", reason="llama_cpp.server needs: pip install 'llama-cpp-python[server]'")
    pytest.importorskip("sse_starlette", reason="llama_cpp.server needs: pip install 'llama-cpp-python[server]'")
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            reference_server.command(
                "--model", str(smollm2_path), "--model_alias", "smollm2", "--host",
                "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1",
                "--verbose", "false"),
            stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start in 90s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
