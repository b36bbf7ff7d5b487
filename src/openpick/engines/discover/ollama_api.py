"""A running Ollama's own list of models (`GET /api/tags`), only when asked for.

Each model it serves is listed under the spec that runs it through Ollama's
OpenAI-compatible API: `ollama:NAME` at the default address, `openai:URL/v1#NAME` elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from openpick.engines.discover.stores import Found, Warn

DEFAULT_BASE = "http://localhost:11434"
TIMEOUT_S = 2.0


def ollama_base(url: str) -> str:
    """`OLLAMA_HOST` forms (`0.0.0.0`, `host:port`, `http://host:port/`) → `http://host:port`."""
    text = url.strip().rstrip("/")
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    host = parts.hostname or "localhost"
    if host in ("0.0.0.0", "::"):  # a listen-everywhere address: talk to it locally
        host = "localhost"
    host = f"[{host}]" if ":" in host else host
    port = parts.port or (443 if parts.scheme == "https" else 11434)
    path = parts.path.removesuffix("/v1").rstrip("/")
    return f"{parts.scheme}://{host}:{port}{path}"


def server_models(url: str, warn: Warn, timeout: float = TIMEOUT_S) -> list[Found]:
    import httpx

    try:
        base = ollama_base(url)
    except ValueError as e:  # a port that is not a number
        warn.append(f"ollama at {url!r}: not a URL ({e})")
        return []
    try:
        resp = httpx.get(f"{base}/api/tags", timeout=timeout)
        resp.raise_for_status()
        models = resp.json().get("models")
    except httpx.HTTPStatusError as e:
        warn.append(f"ollama at {base}: /api/tags answered HTTP {e.response.status_code}")
        return []
    except httpx.HTTPError as e:
        warn.append(f"ollama at {base}: cannot list models ({type(e).__name__}: {str(e)[:120]})")
        return []
    except (ValueError, AttributeError):
        warn.append(f"ollama at {base}: /api/tags did not answer the JSON Ollama sends")
        return []
    out = []
    for m in models if isinstance(models, list) else []:
        name = m.get("name") or m.get("model") if isinstance(m, dict) else None
        if not isinstance(name, str) or not name:
            continue
        details = m.get("details") if isinstance(m.get("details"), dict) else {}
        quant, size = details.get("quantization_level"), m.get("size")
        spec = f"ollama:{name}" if base == DEFAULT_BASE else f"openai:{base}/v1#{name}"
        out.append(Found(name=spec, store="ollama-server", engine="openai",
                         target=f"{base}/v1#{name}", format="server", repo=name,
                         size_bytes=size if isinstance(size, int) else None,
                         quantization=quant if isinstance(quant, str) and quant else None))
    return out
