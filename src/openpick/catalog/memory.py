"""Will it fit? A memory estimate for running a model at a quantization and context.

estimate = weights + KV cache + runtime overhead

- weights: parameters × bits-per-weight / 8 (llama.cpp's effective bits for k-quants,
  which include their scales);
- KV cache: 2 (K and V) × layers × kv_width × context × 2 bytes (f16 cache). Records
  carry no layer/width facts, so we infer a Llama-shaped network from the parameter
  count (params ≈ 12·L·d², with L ≈ d/128, which matches Llama-2-7B: d=4096, L=32) and
  divide the KV width by the grouping that `gqa`/`mqa` features announce.
- overhead: compute buffers and the runtime, a flat 0.3 GB plus 5 % of the weights.

It is an estimate for filtering ("fits in 8 GB"), not an allocation plan; it errs large.
"""

from __future__ import annotations

import re

from openpick.errors import InvalidInput

# Effective bits per weight (llama.cpp quantize's table, rounded up).
BITS_PER_WEIGHT: dict[str, float] = {
    "F32": 32.0, "F16": 16.0, "BF16": 16.0, "Q8_0": 8.5, "Q6_K": 6.56,
    "Q5_K_M": 5.69, "Q5_K_S": 5.54, "Q5_0": 5.5, "Q5_1": 6.0,
    "Q4_K_M": 4.85, "Q4_K_S": 4.58, "Q4_0": 4.5, "Q4_1": 5.0,
    "Q3_K_M": 3.91, "Q3_K_S": 3.5, "Q2_K": 3.35, "IQ4_XS": 4.25,
}
GQA_GROUP = 4   # typical query heads per KV head (Llama-2-70B, Mistral: 8/32 → 4)
MQA_GROUP = 32  # one KV head for all query heads
OVERHEAD_BYTES = 0.3e9
OVERHEAD_FRACTION = 0.05

_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgt]i?b?|b)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 1024, "m": 1e6, "mb": 1e6, "mib": 1024**2,
          "g": 1e9, "gb": 1e9, "gib": 1024**3, "t": 1e12, "tb": 1e12, "tib": 1024**4}


def parse_bytes(text: str) -> float:
    """'8GB' → 8e9, '16GiB' → 17179869184, '512MB' → 5.12e8."""
    m = _SIZE.match(text)
    unit = (m.group(2) or "").lower() if m else ""
    if not m or unit not in _UNITS:
        raise InvalidInput(f"cannot read memory size {text!r}; use e.g. 8GB, 16GiB or 512MB")
    return float(m.group(1)) * _UNITS[unit]


def bits_per_weight(quant: str) -> float:
    q = quant.upper()
    if q not in BITS_PER_WEIGHT:
        known = ", ".join(BITS_PER_WEIGHT)
        raise InvalidInput(f"unknown quantization {quant!r}; known: {known}")
    return BITS_PER_WEIGHT[q]


def kv_bytes_per_token(parameters: int | None, features: list[str] | tuple[str, ...] = ()) -> float:
    """f16 K+V bytes per context token for a Llama-shaped model of this size."""
    if not parameters:
        return 0.0
    d = (parameters * 128 / 12) ** (1 / 3)
    layers = max(1.0, d / 128)
    width = d
    feats = {f.lower() for f in features}
    if "mqa" in feats:
        width /= MQA_GROUP
    elif "gqa" in feats:
        width /= GQA_GROUP
    return 2 * layers * width * 2


def estimate_bytes(parameters: int | None, features=(), quant: str = "Q4_K_M",
                   context: int = 4096) -> float | None:
    """Estimated bytes to run the model; None when the parameter count is unknown.

    For a mixture of experts every expert must be resident, so total (not active)
    parameters count toward the weights.
    """
    if not parameters:
        return None
    weights = parameters * bits_per_weight(quant) / 8
    kv = kv_bytes_per_token(parameters, features) * context
    return weights + kv + OVERHEAD_BYTES + OVERHEAD_FRACTION * weights


def human_bytes(n: float | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def human_params(n: int | None) -> str:
    if not n:
        return "?"
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            v = n / size
            return f"{v:.0f}{unit}" if v >= 100 or v == int(v) else f"{v:.3g}{unit}"
    return str(n)


_PARAM = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmbt])?\s*$", re.I)
_PMUL = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def parse_param_count(text: str) -> int:
    m = _PARAM.match(text)
    if not m:
        raise InvalidInput(f"cannot read parameter count {text!r}; use e.g. 135M, 7B, 1.5B")
    return int(float(m.group(1)) * _PMUL[(m.group(2) or "").lower()])


def parse_param_range(text: str) -> tuple[int | None, int | None]:
    """'1B-8B', '1B..8B', '..8B', '7B..', '<=8B', '>=1B' → (low, high); '7B' → ±15 %."""
    t = text.strip()
    for op, side in (("<=", "hi"), ("<", "hi"), (">=", "lo"), (">", "lo")):
        if t.startswith(op):
            v = parse_param_count(t[len(op):])
            return (None, v) if side == "hi" else (v, None)
    for sep in ("..", "-"):
        if sep in t:
            lo, hi = t.split(sep, 1)
            return (parse_param_count(lo) if lo.strip() else None,
                    parse_param_count(hi) if hi.strip() else None)
    v = parse_param_count(t)
    return int(v * 0.85), int(v * 1.15)
