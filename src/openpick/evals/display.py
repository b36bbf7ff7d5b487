"""How a run's numbers read: the same in the terminal, the HTML report, the web UI and the
recommendations (report/ and recommend/ both use these, so they live below both)."""

from __future__ import annotations

import math

MOF_NAMES = {1: "Class I", 2: "Class II", 3: "Class III"}


def pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f}%"


def interval(low: float, high: float) -> str:
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def money(usd: float | None) -> str:
    """USD with the precision a small number needs: $12, $1.20, $0.0031."""
    if usd is None:
        return "–"
    if usd == 0:
        return "$0"
    if usd >= 100:
        return f"${usd:,.0f}"
    if usd >= 0.01:
        return f"${usd:.2f}"
    digits = 1 - math.floor(math.log10(usd))   # two significant digits, never "5e-05"
    return f"${usd:.{digits}f}"


def seconds(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s"


def rate(tok_s: float | None) -> str:
    return "–" if tok_s is None else f"{tok_s:.0f}" if tok_s >= 10 else f"{tok_s:.1f}"


def mof(cls: int | None) -> str:
    """MOF class name; None means the model is not in the catalog (unknown), 0 below Class III."""
    if cls is None:
        return "MOF ?"
    return f"MOF {MOF_NAMES.get(cls, 'none')}"


def bytes_(n: int | None) -> str:
    from openpick.catalog.memory import human_bytes

    return "–" if n is None else human_bytes(n)
