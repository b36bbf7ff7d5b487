"""Machine facts every benchmark prints beside its numbers (shared by the bench scripts)."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def llama_cpp_version() -> str | None:
    try:
        import llama_cpp
    except ImportError:
        return None
    return llama_cpp.__version__


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def facts() -> dict:
    """CPU, cores, load, llama-cpp-python and commit: what every result file records."""
    import os

    return {"cpu": cpu_model(), "cpus": os.cpu_count(), "loadavg": os.getloadavg(),
            "llama_cpp_python": llama_cpp_version(), "commit": git_commit()}


def write_json(out: dict, path: str) -> None:
    import json

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
