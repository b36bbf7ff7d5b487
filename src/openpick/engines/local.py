"""Every model a user can run by name: the embedded ones, those in openpick.toml and,
when asked, those other tools downloaded (engines/discover)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from openpick.engines import config
from openpick.engines.embedded import EMBEDDED


class LocalModel(BaseModel):
    name: str
    engine: str
    source: str  # embedded | config | ollama | lmstudio | hf | llama.cpp | scan | ollama-server
    status: str  # ready | missing | remote
    target: str | None = None
    spec: str | None = None  # ENGINE:TARGET, for discovered models
    quantization: str | None = None
    record_id: str | None = None
    license: str | None = None
    install: str | None = None  # the pip command when missing
    size_bytes: int | None = None
    price: config.Price | None = None
    replicas: int | None = None  # endpoints serving the model (config `urls`)


def local_models(discover: bool = False, scan: list[Path] | None = None,
                 ollama_url: str | None = None,
                 warnings: list[str] | None = None) -> list[LocalModel]:
    """Embedded and configured models; with `discover`, also the models found in other
    tools' stores and under `scan` (bad entries add a line to `warnings`)."""
    out = []
    for m in EMBEDDED.values():
        status = m.status()
        out.append(LocalModel(name=m.name, engine=m.engine, source="embedded", status=status,
                              record_id=m.record_id, license=m.license,
                              install=m.pip if status == "missing" else None,
                              size_bytes=m.size()))
    for name, e in config.load_models().items():
        if e.url or e.urls:
            status = "remote"
        else:
            status = "ready" if Path(e.path).expanduser().exists() else "missing"
        size = Path(e.path).stat().st_size if status == "ready" and Path(e.path).is_file() else None
        out.append(LocalModel(name=name, engine=e.engine, source="config", status=status,
                              target=e.target(), record_id=e.record, price=e.price,
                              size_bytes=size, replicas=len(e.urls) if e.urls else None))
    if discover:
        out += _discovered(scan or [], ollama_url, warnings)
    return out


def _discovered(scan: list[Path], ollama_url: str | None,
                warnings: list[str] | None) -> list[LocalModel]:
    from openpick.engines.discover import discover as find_models

    return [LocalModel(name=f.name, engine=f.engine, source=f.store,
                       status="remote" if f.format == "server" else "ready",
                       target=f.target, spec=f.spec, quantization=f.quantization,
                       record_id=f.record_id, size_bytes=f.size_bytes)
            for f in find_models(scan, ollama_url=ollama_url, warn=warnings)]
