"""Does llama.cpp's default CPU path work on this machine? Probed once, remembered.

(Being written: `extra_buffers_default()` is the contract the llama-cpp engine uses.)
"""

from __future__ import annotations


def extra_buffers_default() -> bool:
    """Whether llama.cpp's extra buffer types (AMX / repacked weight layouts) are safe here."""
    return True
