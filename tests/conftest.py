"""Every test runs with OPENPICK_HOME in a temporary folder: no user state, no network."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def openpick_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("openpick-home")
    monkeypatch.setenv("OPENPICK_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    # `models local` reads the stores other tools keep (engines/discover): point each at an
    # empty folder, so no test reads a developer's own caches.
    stores = home / "stores"
    for var, sub in (("OLLAMA_MODELS", "ollama"), ("HF_HUB_CACHE", "hf-hub"),
                     ("LLAMA_CACHE", "llama.cpp"), ("LMSTUDIO_HOME", "lmstudio")):
        monkeypatch.setenv(var, str(stores / sub))
    for var in ("OLLAMA_HOST", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session", autouse=True)
def llama_extra_buffers(tmp_path_factory):
    """Probe llama.cpp's extra buffer types once per test session (engines/probe.py) and hand
    the answer to every test and CLI subprocess, instead of one probe per fresh home.
    tests/e2e/test_probe.py runs the probe itself, without this shortcut."""
    import importlib.util
    import os

    from openpick.engines.embedded import EMBEDDED

    if (importlib.util.find_spec("llama_cpp") is None
            or EMBEDDED["smollm2-135m"].status() != "ready"
            or "OPENPICK_EXTRA_BUFFERS" in os.environ):
        yield
        return
    from openpick.engines import probe

    home = tmp_path_factory.mktemp("probe-home")
    old = os.environ.get("OPENPICK_HOME")
    os.environ["OPENPICK_HOME"] = str(home)
    try:
        ok = probe.extra_buffers_default()
    finally:
        if old is None:
            os.environ.pop("OPENPICK_HOME", None)
        else:
            os.environ["OPENPICK_HOME"] = old
    os.environ["OPENPICK_EXTRA_BUFFERS"] = "1" if ok else "0"
    yield
    os.environ.pop("OPENPICK_EXTRA_BUFFERS", None)
