"""Model specs: what a user types after `-m`.

Resolution order: a name from openpick.toml, a model made by `openpick tune` (its
manifest under `<data dir>/tuned/NAME/`), an embedded model name, a model found in
another tool's store (`ollama/llama3.2:3b`, `hf/org/name`...: engines/discover; only names
with a store prefix walk that one store), then a URL-like spec
`ENGINE:TARGET` (`llama-cpp:model.gguf`, `hf:path/to/dir`, `openai:http://host:8000/v1#model`,
or a preset such as `ollama:llama3.2`), then a bare path (a .gguf file or a model folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from openpick.engines import config, registry
from openpick.engines.base import Engine
from openpick.engines.embedded import EMBEDDED
from openpick.errors import InvalidInput, NotFound
from openpick.paths import data_dir

# OpenAI-compatible servers people run locally, at their default addresses.
PRESETS = {
    "ollama": "http://localhost:11434/v1",
    "vllm": "http://localhost:8000/v1",
    "lmstudio": "http://localhost:1234/v1",
    "llama-server": "http://localhost:8080/v1",
    "tgi": "http://localhost:8080/v1",
}


class ModelSpec(BaseModel):
    name: str
    engine: str
    target: str | None = None  # None for embedded models until their file is resolved
    embedded: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    record_id: str | None = None
    price: config.Price | None = None
    source: Literal["config", "tuned", "embedded", "discovered", "spec", "path"] = "spec"

    def resolve_target(self) -> str:
        if self.embedded:
            return str(EMBEDDED[self.embedded].path())
        assert self.target is not None
        return self.target


def parse_spec(text: str) -> ModelSpec:
    text = text.strip()
    if not text:
        raise InvalidInput("empty model name")
    configured = config.load_models()
    if text in configured:
        e = configured[text]
        return ModelSpec(name=text, engine=registry.canonical(e.engine), target=e.target(),
                         options=e.options, record_id=e.record, price=e.price, source="config")
    if tuned := _tuned(text):
        return tuned
    if text in EMBEDDED:
        m = EMBEDDED[text]
        return ModelSpec(name=text, engine=m.engine, embedded=text, record_id=m.record_id,
                         source="embedded")
    from openpick.engines import discover

    if found := discover.lookup(text):
        return ModelSpec(name=text, engine=found.engine, target=found.target,
                         record_id=found.record_id, source="discovered")
    head, sep, rest = text.partition(":")
    if sep and head in PRESETS:
        return ModelSpec(name=text, engine="openai", target=f"{PRESETS[head]}#{rest}")
    if sep and registry.is_engine(head) and not rest.startswith("//"):
        return ModelSpec(name=text, engine=registry.canonical(head), target=rest)
    path = _expand_user(text)
    if path.suffix == ".gguf" and path.exists():
        return ModelSpec(name=text, engine="llama-cpp", target=str(path), source="path")
    if path.is_dir() and (path / "config.json").exists():
        return ModelSpec(name=text, engine="transformers", target=str(path), source="path")
    known = list(configured) + list(EMBEDDED) + discover.known_names(text)
    from difflib import get_close_matches

    hint = get_close_matches(text, known, n=3, cutoff=0.5)
    more = f"did you mean {', '.join(hint)}? " if hint else ""
    raise NotFound(f"unknown model {text!r}; {more}see `openpick models local`, or give "
                   f"ENGINE:TARGET (engines: {', '.join(registry.engine_names())})")


def _tuned(name: str) -> ModelSpec | None:
    """A model `openpick tune` made: its manifest's `model` entry (paths in it are relative
    to the model's folder). The manifest is plain JSON, so engines need not import tune."""
    if not config.NAME_RE.match(name):
        return None
    folder = data_dir() / "tuned" / name
    try:
        manifest = json.loads((folder / "tune.json").read_text(encoding="utf-8"))
        m = manifest["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a tuned model, or one still training
    options = dict(m.get("options") or {})
    if options.get("adapter"):
        options["adapter"] = str(folder / options["adapter"])
    return ModelSpec(name=name, engine=m["engine"], embedded=m.get("embedded"),
                     target=None if m.get("embedded") else str(folder / m["target"]),
                     options=options, record_id=manifest.get("record_id"), source="tuned")


def _expand_user(text: str) -> Path:
    """`~/x` → the home folder's x; `~nosuchuser/x` (or a name with a NUL) stays as it is
    (expanduser raises)."""
    try:
        return Path(text).expanduser()
    except (RuntimeError, ValueError):
        return Path(text)


def _option_value(key: str, value: str) -> Any:
    if not value:
        return ""
    try:
        return yaml.safe_load(value)
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # ValueError: 2024-13-45
        why = (getattr(e, "problem", None) or str(e)).splitlines()[0].split(";")[0]
        raise InvalidInput(f"option {key!r}: cannot read {value[:40]!r} as a YAML value ({why}); "
                           "quote text, as in KEY='\"...\"'") from e


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`-o n_ctx=8192 -o n_gpu_layers=-1` → typed dict (values read as YAML scalars)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"option {pair!r}: expected KEY=VALUE")
        out[key.strip()] = _option_value(key.strip(), value)
    return out


def load_engine(spec: str | ModelSpec, options: dict[str, Any] | None = None) -> Engine:
    """Open a model by spec; `options` override the configured ones."""
    if isinstance(spec, str):
        spec = parse_spec(spec)
    from openpick.engines.process import wrap

    cls = registry.get_engine_class(spec.engine)
    opts = {**spec.options, **(options or {})}
    # Native engines run in a worker process unless -o isolate=false (engines/process.py).
    return wrap(cls, spec.resolve_target(), opts, display_name=spec.name,
                record_id=spec.record_id)
