"""Engines register through the `openpick.engines` entry-point group, built-ins included."""

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from openpick.engines import registry
from openpick.engines.fake import FakeEngine
from openpick.errors import NotFound

PLUGIN = Path(__file__).parents[1] / "fixtures" / "engine_plugin"


def test_builtins_are_entry_points():
    names = {ep.name for ep in entry_points(group=registry.GROUP)}
    assert {"llama-cpp", "transformers", "openai", "fake"} <= names, (
        "reinstall with `pip install -e .` so the entry points are registered")
    assert registry.get_engine_class("fake") is FakeEngine
    assert registry.get_engine_class("hf").name == "transformers"


def test_unknown_engine_lists_installed():
    with pytest.raises(NotFound, match="installed engines: .*llama-cpp"):
        registry.get_engine_class("nope")


def test_importing_engines_does_not_import_runtimes():
    code = ("import sys, openpick.engines, openpick.engines.registry as r;"
            "[r.get_engine_class(n) for n in ('llama-cpp', 'openai', 'transformers', 'fake')];"
            "bad = [m for m in ('llama_cpp', 'torch', 'transformers') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_third_party_engine_package(tmp_path):
    """Install a real package with an `openpick.engines` entry point and use it by name."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(PLUGIN)],
        check=True, timeout=120, capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", "from openpick.cli.main import main; main()", "ask", "-m", "toy:olleh", "-o", "shout=true",
         "hi"], env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "HELLO"
    assert "toy" in out.stderr
