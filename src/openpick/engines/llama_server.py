"""llama-cpp-python's own server (`llama_cpp.server`) with openpick's CPU probe applied.

`python -m openpick.engines.llama_server --model M.gguf ...` takes llama_cpp.server's own
arguments. llama_cpp.server has no switch for llama.cpp's extra buffer types, so where the
probe found them crashing (engines/probe.py) this loads models without them, as openpick's
engine does. The benchmarks and tests use it as the reference server on every CPU.
"""

from __future__ import annotations

import runpy
import sys


def main() -> None:
    import llama_cpp.llama_cpp as c

    from openpick.engines.probe import extra_buffers_default

    if not extra_buffers_default():
        default = c.llama_model_default_params

        def params():
            p = default()
            p.use_extra_bufts = False
            return p

        c.llama_model_default_params = params  # llama.Llama looks it up at load time
    sys.argv[0] = "llama_cpp.server"
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "openpick.engines.llama_server", *args]


if __name__ == "__main__":
    main()
