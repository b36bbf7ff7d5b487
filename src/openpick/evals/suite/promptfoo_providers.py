"""promptfoo providers as openpick model specs (engines/spec.py).

promptfoo names a provider `KIND:[MODE:]MODEL` with a `config`; the ones that speak the
OpenAI API to a server openpick can reach become `openai:BASE_URL#MODEL` or a preset
(`ollama:llama3.2`). Their generation settings become the suite's `defaults` where every
provider agrees, since openpick samples every model in a run the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openpick.evals.suite.yamllines import line_of

OPENAI = "https://api.openai.com/v1"
LOCALAI = "http://localhost:8080/v1"
# promptfoo config keys → openpick Sampling fields
SAMPLING = {"temperature": "temperature", "max_tokens": "max_tokens", "maxTokens": "max_tokens",
            "num_predict": "max_tokens", "n_predict": "max_tokens", "top_p": "top_p",
            "topP": "top_p", "seed": "seed", "stop": "stop"}
# promptfoo's local servers that openpick has a preset for (spec.PRESETS)
PRESET_KINDS = {"ollama": "ollama", "llama": "llama-server", "llama.cpp": "llama-server",
                "vllm": "vllm", "lmstudio": "lmstudio"}


def spec_of(pid: str, config: Mapping | None) -> str | None:
    """The openpick spec for a promptfoo provider id and config, or None."""
    config = config or {}
    kind, _, rest = pid.partition(":")
    if pid == "echo":
        return "fake:echo"
    if kind == "openai" and rest:
        mode, _, model = rest.partition(":")
        if mode in ("embedding", "embeddings", "image", "realtime", "assistant", "transcription"):
            return None
        model = model if mode in ("chat", "completion", "responses") and model else rest
        base = config.get("apiBaseUrl") or (f"https://{config['apiHost']}/v1"
                                             if config.get("apiHost") else OPENAI)
        return f"openai:{str(base).rstrip('/')}#{model}"
    if kind == "localai" and rest:
        mode, _, model = rest.partition(":")
        model = model if mode in ("chat", "completion") and model else rest
        if mode == "embeddings":
            return None
        return f"openai:{str(config.get('apiBaseUrl') or LOCALAI).rstrip('/')}#{model}"
    if kind in ("llama", "llama.cpp") and not rest:  # a llama.cpp server at baseUrl
        base = str(config.get("baseUrl") or "http://localhost:8080").rstrip("/")
        return f"openai:{base.removesuffix('/v1')}/v1#default"
    if kind in PRESET_KINDS and rest:
        mode, _, model = rest.partition(":")
        if mode in ("embeddings", "embedding"):
            return None
        model = model if mode in ("chat", "completion") and model else rest
        return f"{PRESET_KINDS[kind]}:{model}"
    if kind in ("http", "https") or pid.startswith(("http://", "https://")):
        url = config.get("url") or (pid if pid.startswith("http") else None)
        body = config.get("body") if isinstance(config.get("body"), Mapping) else {}
        if isinstance(url, str) and url.rstrip("/").endswith("/chat/completions") \
                and body.get("model") and "messages" in body:
            return f"openai:{url.rstrip('/').removesuffix('/chat/completions')}#{body['model']}"
    return None


def sampling_of(config: Mapping | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, field in SAMPLING.items():
        if config and key in config:
            out[field] = config[key]
    body = config.get("body") if config and isinstance(config.get("body"), Mapping) else {}
    for key in ("temperature", "max_tokens", "top_p", "seed", "stop"):
        if key in body:
            out[key] = body[key]
    return out


class ProviderMap:
    """The config's providers, read once; `conv` is the Converter (errors and notes)."""

    def __init__(self, conv):
        self.conv = conv
        self.labels: dict[str, str] = {}   # provider label → spec (for grading providers)

    def entries(self, raw: Any, doc: Any, key: str) -> list[tuple[str, Mapping, Any]]:
        """(id, config, the entry) for each provider as written."""
        if raw is None:
            return []
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            self.conv.fail(f"{key} must be a list of providers", doc, key)
        out = []
        for p in raw:
            if isinstance(p, str):
                if p.startswith("file://"):
                    self.conv.fail(f"providers from files ({p}) are not supported; list them "
                                   "inline", doc, key)
                out.append((p, {}, p))
            elif isinstance(p, Mapping) and isinstance(p.get("id"), str):
                out.append((p["id"], p.get("config") or {}, p))
            elif isinstance(p, Mapping) and len(p) == 1:   # {openai:gpt-4: {config: ...}}
                (pid, opts), = p.items()
                opts = opts if isinstance(opts, Mapping) else {}
                out.append((str(pid), opts.get("config") or {}, p))
            else:
                self.conv.fail("each provider is an id or {id, config}",
                               line=getattr(p, "line", None) or line_of(doc, key))
        return out

    def models(self, raw: Any, doc: Any, key: str) -> tuple[list[str], dict[str, Any]]:
        models, settings = [], []
        for pid, config, entry in self.entries(raw, doc, key):
            spec = spec_of(pid, config)
            if spec is None:
                self.conv.note(f"provider {pid} has no openpick equivalent and is left out; "
                               "give models with -m")
                continue
            if isinstance(entry, Mapping) and entry.get("label"):
                self.labels[str(entry["label"])] = spec
            if isinstance(entry, Mapping) and entry.get("prompts"):
                self.conv.note(f"provider {pid}: its own prompt list is ignored (every model "
                               "runs every prompt)")
            if spec not in models:
                models.append(spec)
            settings.append(sampling_of(config))
        return models, self._agreed(settings)

    def _agreed(self, settings: list[dict[str, Any]]) -> dict[str, Any]:
        if not settings:
            return {}
        out = {}
        for field in sorted({f for s in settings for f in s}):
            values = [s[field] for s in settings if field in s]   # those that set it
            if all(v == values[0] for v in values):
                out[field] = values[0]
            else:
                self.conv.note(f"providers set {field} differently ({values}); openpick "
                               "samples every model alike, so it is left at the default")
        return out

    def judge_spec(self, provider: Any) -> str | None:
        """A grading provider (a string id, a label or {id, config}) as a judge model."""
        if isinstance(provider, str):
            spec = self.labels.get(provider) or spec_of(provider, {})
        elif isinstance(provider, Mapping) and isinstance(provider.get("id"), str):
            spec = spec_of(provider["id"], provider.get("config") or {})
        else:
            spec = None
        if spec is None and provider is not None:
            self.conv.note(f"grading provider {provider!r} has no openpick equivalent; "
                           "llm-rubric uses `compare --judge MODEL`")
        return spec

    def judge(self, options: Any, owner: Any) -> str | None:
        if isinstance(options, Mapping) and options.get("provider") is not None:
            return self.judge_spec(options["provider"])
        return None
