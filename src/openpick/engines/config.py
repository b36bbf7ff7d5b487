"""User-defined models in openpick.toml.

The user file lives in the config dir; an `openpick.toml` in the current directory (a
project's own) overrides it model by model.

    [models.my-llama]
    engine = "llama-cpp"
    path = "/models/llama-3.2-1b.Q4_K_M.gguf"
    record = "meta-llama/Llama-3.2-1B-Instruct"   # optional catalog link
    options = { n_ctx = 8192 }
    price = { usd_per_1m_input = 0.0, usd_per_1m_output = 0.0 }

    [models.office-vllm]
    engine = "openai"
    url = "http://10.0.0.5:8000/v1"
    model = "Qwen/Qwen2.5-7B-Instruct"

    [models.office-vllm-pair]          # replicas of one model: requests are spread, and
    engine = "openai"                  # routed around a replica that is down
    urls = ["http://10.0.0.5:8000/v1", "http://10.0.0.6:8000/v1"]
    model = "Qwen/Qwen2.5-7B-Instruct"
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from openpick.errors import InvalidInput
from openpick.paths import config_dir

FILENAME = "openpick.toml"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usd_per_1m_input: float = Field(ge=0)
    usd_per_1m_output: float = Field(ge=0)


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: str
    path: str | None = None
    url: str | None = None
    urls: list[str] | None = None  # replicas of one model (openai engine)
    model: str | None = None
    record: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    price: Price | None = None

    @field_validator("urls")
    @classmethod
    def _replica_urls(cls, urls: list[str] | None) -> list[str] | None:
        if urls is None:
            return None
        if not urls:
            raise ValueError("give at least one server URL")
        for i, u in enumerate(urls):
            if not u.startswith(("http://", "https://")) or "," in u or "#" in u:
                raise ValueError(f"item {i + 1} ({u!r}) is not an http(s) URL like "
                                 "http://host:8000/v1")
        if len({u.rstrip("/") for u in urls}) < len(urls):
            raise ValueError("a URL is listed twice")
        return urls

    @model_validator(mode="after")
    def _has_target(self) -> ModelEntry:
        if self.url and self.urls:
            raise ValueError("give url (one server) or urls (replicas), not both")
        if self.urls and self.engine != "openai":
            raise ValueError(f"urls (replicas) needs engine \"openai\", not {self.engine!r}")
        if not (self.path or self.url or self.urls):
            raise ValueError("give path (a file or folder), url (a server) or urls (replicas)")
        return self

    def target(self) -> str:
        url = ",".join(self.urls) if self.urls else self.url
        if url:
            return f"{url}#{self.model}" if self.model else url
        return str(self.path)


def user_config_path() -> Path:
    return config_dir() / FILENAME


def project_config_path() -> Path:
    return Path.cwd() / FILENAME


def _key(part: str) -> str:
    """One part of a dotted key path in an error; odd names (newlines, dots) are quoted."""
    return part if NAME_RE.match(part) else repr(part)


def _read(path: Path) -> dict[str, ModelEntry]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise InvalidInput(f"TOML error: {e}", path=str(path),
                           line=int(m.group(1)) if m else None) from e
    except UnicodeDecodeError as e:
        raise InvalidInput("not a UTF-8 text file", path=str(path)) from e
    except OSError as e:
        raise InvalidInput(f"cannot read: {e.strerror}", path=str(path)) from e
    except RecursionError as e:  # tomllib recurses into nested arrays and inline tables
        raise InvalidInput("TOML error: nested too deeply", path=str(path)) from e
    models = data.get("models") or {}
    if not isinstance(models, dict):
        raise InvalidInput("models: expected a table of [models.NAME] sections, got a "
                           f"{type(models).__name__}", path=str(path))
    out: dict[str, ModelEntry] = {}
    for name, raw in models.items():
        try:
            out[name] = ModelEntry.model_validate(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(_key(str(k)) for k in ("models", name, *first["loc"]))
            raise InvalidInput(f"{where}: {first['msg']}", path=str(path)) from e
    return out


def load_models() -> dict[str, ModelEntry]:
    """User models, with the project's openpick.toml overriding by name."""
    models = _read(user_config_path())
    project = project_config_path()
    if project.resolve() != user_config_path().resolve():
        models.update(_read(project))
    return models


def add_model(name: str, entry: ModelEntry, *, project: bool = False) -> Path:
    """Store (or replace) one model in openpick.toml, keeping the file's other content."""
    if not NAME_RE.match(name):
        raise InvalidInput(f"model name {name!r}: use letters, digits, '.', '_' and '-'")
    path = project_config_path() if project else user_config_path()
    data: dict[str, Any] = {}
    if path.is_file():
        _read(path)  # refuse to rewrite a file we cannot parse
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    data.setdefault("models", {})[name] = entry.model_dump(exclude_none=True,
                                                           exclude_defaults=True) | {
        "engine": entry.engine}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".openpick-", suffix=".toml")
    try:
        with os.fdopen(fd, "wb") as f:
            tomli_w.dump(data, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
