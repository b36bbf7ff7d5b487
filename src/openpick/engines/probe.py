"""Does llama.cpp's fast CPU path work on this machine? Probed once, remembered.

llama.cpp puts weights in "extra buffer types" when the CPU has a kernel for them (AMX on
Intel Xeon Sapphire Rapids and later, repacked layouts for AVX2/NEON). On some of those
machines the first `llama_decode` segfaults. So, once per machine and llama-cpp-python
version, a throwaway worker process loads the embedded SmolLM2 the default way and decodes
a few tokens. If it dies, openpick loads models without extra buffer types from then on,
says so once on stderr and remembers it in the user cache dir; `-o extra_buffers=true|false`
overrides, and OPENPICK_EXTRA_BUFFERS=1|0 overrides for every model.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from openpick.errors import OpenpickError
from openpick.paths import cache_dir

FILENAME = "llama-probe.json"
_lock = threading.Lock()
_memo: dict[str, bool] = {}


def machine_key() -> str:
    """CPU model and feature flags + llama-cpp-python version: what decides the outcome."""
    cpu = platform.processor() or platform.machine()
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu in ("", platform.machine()):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith(("flags", "Features")):
                flags = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        llama = version("llama-cpp-python")
    except PackageNotFoundError:
        llama = "none"
    digest = hashlib.sha256(flags.encode()).hexdigest()[:12]
    return f"{platform.machine()}|{cpu}|flags:{digest}|llama-cpp-python {llama}"


def cache_path() -> Path:
    return cache_dir() / FILENAME


def _read() -> dict:
    try:
        data = json.loads(cache_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(data: dict) -> None:
    path = cache_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def probe_once() -> tuple[bool, str]:
    """(extra buffers work, what happened): a tiny decode in a throwaway worker."""
    from openpick.engines.embedded import EMBEDDED
    from openpick.engines.llama_cpp import LlamaCppEngine
    from openpick.engines.process import WorkerCrashed, WorkerEngine
    from openpick.engines.base import Request

    model = EMBEDDED["smollm2-135m"]
    try:
        path = model.path()
    except OpenpickError as e:
        raise OpenpickError(f"cannot probe llama.cpp without SmolLM2 ({e})") from e
    opts = {"extra_buffers": True, "parallel": 2, "n_ctx": 256, "timeout_s": 120}
    try:
        engine = WorkerEngine(LlamaCppEngine, str(path), opts, display_name="probe")
        try:
            text = engine.complete(Request.chat("Say hi.", max_tokens=4)).text
        finally:
            engine.close()
    except WorkerCrashed as e:
        return False, str(e)
    return True, f"decoded {text!r}"


def extra_buffers_default() -> bool:
    """Whether llama.cpp's extra buffer types are safe here (probing on first use)."""
    env = os.environ.get("OPENPICK_EXTRA_BUFFERS")
    if env in ("0", "1"):
        return env == "1"
    key = machine_key()
    with _lock:
        if key in _memo:
            return _memo[key]
        known = _read().get(key)
        if isinstance(known, dict) and isinstance(known.get("extra_buffers"), bool):
            _memo[key] = known["extra_buffers"]
            return _memo[key]
        try:
            ok, detail = probe_once()
        except OpenpickError:
            return True  # nothing to probe with: llama.cpp's default, not remembered
        data = _read()
        data[key] = {"extra_buffers": ok, "detail": detail[:300]}
        _write(data)
        _memo[key] = ok
        if not ok:
            sys.stderr.write(
                "openpick: llama.cpp's extra CPU buffer types (AMX / repacked weights) crash on "
                "this machine, so models load without them (slower, correct). Remembered in "
                f"{cache_path()}; -o extra_buffers=true overrides.\n")
        return ok
