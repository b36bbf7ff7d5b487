"""End-to-end fixtures on the real embedded models (installed by `make test`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
