"""The models a user already has on disk, found without loading them.

Stores: Ollama, LM Studio, the Hugging Face hub cache, llama.cpp's cache, and folders
given with `--scan` (remembered, so their models keep their names). Each model gets a
name that `-m` takes, in a namespace of its store, so none shadows a spec:

    ollama/<model>:<tag>            ollama/llama3.2:3b → llama-cpp:<its GGUF blob>
    lmstudio/<publisher>/<repo>/<file>
    hf/<org>/<name>                 a safetensors snapshot → transformers:<snapshot>
    hf/<org>/<repo>/<file>          a GGUF file in a snapshot → llama-cpp:<file>
    llama.cpp/<file>                (llama.cpp/<org>/<repo>/<file> in its hub layout)
    scan/<folder name>/<path>       under a scanned folder

(`<file>` drops `.gguf`; a split model is named once, by its first part.) A running
Ollama's models are listed, when asked, under the specs that reach it: `ollama:NAME`.

`lookup(name)` walks only the store a name's prefix names, reading directories and small
JSON files, never a model file or the network. `discover()` also reads each GGUF header
(cached by the catalog's GGUF importer, handed in as `CatalogFacts`: see describe.py) for
quantization and catalog record, and keeps those per name in `<cache dir>/discovered.json`
so a later `lookup` can hand them on.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from openpick.engines.discover import stores
from openpick.engines.discover.describe import CatalogFacts, describe
from openpick.engines.discover.stores import Found, Warn
from openpick.paths import cache_dir

__all__ = ["CatalogFacts", "Found", "discover", "find", "lookup", "known_names",
           "register_catalog_facts", "PREFIXES"]

_CACHE_FILE = "discovered.json"
_MAX_SCAN_DIRS = 20

# prefix → (the store's roots, the walker for one root)
_STORES: dict[str, tuple[Callable[[], list[Path]], Callable[[Path, Warn], Iterator[Found]]]] = {
    "ollama": (stores.ollama_roots, stores.walk_ollama),
    "lmstudio": (stores.lmstudio_roots, stores.walk_lmstudio),
    "hf": (lambda: [stores.hf_hub_root()], stores.walk_hf),
    "llama.cpp": (lambda: [stores.llama_cache_root()], stores.walk_llama_cache),
    "scan": (lambda: scan_dirs(), stores.walk_folder),
}
PREFIXES = tuple(f"{p}/" for p in _STORES)
_facts_provider: Callable[[], CatalogFacts] | None = None


def register_catalog_facts(provider: Callable[[], CatalogFacts]) -> None:
    """Set what `discover` describes models with (the CLI registers the catalog's)."""
    global _facts_provider
    _facts_provider = provider


# ---------------------------------------------------------------- remembered state


def _cache_path() -> Path:
    return cache_dir() / _CACHE_FILE


def _load_state() -> dict:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # missing or damaged: nothing remembered


def _save_state(state: dict) -> None:
    path = _cache_path()
    try:  # temp file + rename: a reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".discovered-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(state))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the remembered facts


def scan_dirs() -> list[Path]:
    dirs = _load_state().get("scan_dirs")
    return [Path(d) for d in dirs if isinstance(d, str)] if isinstance(dirs, list) else []


def _remember_scans(folders: Iterable[Path], state: dict) -> None:
    new = [str(Path(f).expanduser().resolve()) for f in folders]
    old = [str(d) for d in scan_dirs()]
    state["scan_dirs"] = list(dict.fromkeys(new + old))[:_MAX_SCAN_DIRS]


# ---------------------------------------------------------------- finding


def _walk(prefix: str, warn: Warn, roots: list[Path] | None = None) -> Iterator[Found]:
    default_roots, walker = _STORES[prefix]
    for root in default_roots() if roots is None else roots:
        try:
            yield from walker(root, warn)
        except OSError as e:  # a store that vanishes or locks up mid-walk
            warn.append(f"{root}: skipped the rest of this store ({e.strerror or e})")


def find(scan: Iterable[Path | str] = (), warn: Warn | None = None) -> list[Found]:
    """Every model in every store (and under `scan`), named, without reading model files.
    A name found twice (one Ollama model under two roots) keeps its first place."""
    warn = warn if warn is not None else []
    extra = [Path(s).expanduser() for s in scan]
    out: dict[str, Found] = {}
    for prefix in _STORES:
        roots = None
        if prefix == "scan":
            roots = list(dict.fromkeys([*(p.resolve() for p in extra), *scan_dirs()]))
        for found in _walk(prefix, warn, roots):
            out.setdefault(found.name, found)
    return list(out.values())


def discover(scan: Iterable[Path | str] = (), ollama_url: str | None = None,
             warn: Warn | None = None, remember: bool = True,
             facts: CatalogFacts | None = None) -> list[Found]:
    """`find`, then each model described (quantization, catalog record) with `facts` or
    the registered ones; a running Ollama is asked for its models only with `ollama_url`
    or `OLLAMA_HOST` set. Bad entries are skipped with one line each in `warn`.
    `remember` keeps the scanned folders (and the facts found) for `lookup`."""
    warn = warn if warn is not None else []
    scan = list(scan)
    for folder in scan:
        if not Path(folder).expanduser().is_dir():
            warn.append(f"--scan {folder}: not a folder")
    scan = [f for f in scan if Path(f).expanduser().is_dir()]
    found = find(scan, warn)
    if facts is None and _facts_provider is not None:
        facts = _facts_provider()
    described = [d for f in found if (d := describe(f, facts, warn)) is not None]
    url = ollama_url or os.environ.get("OLLAMA_HOST")
    if url:
        from openpick.engines.discover.ollama_api import server_models

        records = {d.repo: d.record_id for d in described if d.store == "ollama"}
        described += [s.model_copy(update={"record_id": records.get(s.repo)})
                      for s in server_models(url, warn)]
    if remember:
        state = _load_state()
        _remember_scans(scan, state)
        state["models"] = {d.name: {"target": d.target, "record_id": d.record_id,
                                    "quantization": d.quantization} for d in described}
        _save_state(state)
    return described


def _prefix(name: str) -> str | None:
    return next((p[:-1] for p in PREFIXES if name.startswith(p)), None)


def _store_models(name: str, warn: Warn) -> list[Found]:
    prefix = _prefix(name)
    if prefix is None:
        return []
    roots = None
    if prefix == "scan":  # only the remembered folders this name can come from
        label = name.split("/")[1] if name.count("/") >= 1 else ""
        roots = [d for d in scan_dirs() if d.name == label]
    return list(_walk(prefix, warn, roots))


def lookup(name: str) -> Found | None:
    """The discovered model called `name`, or None. Cheap: names without a store prefix
    return at once, and only that store is walked."""
    if _prefix(name) is None:
        return None
    match = next((f for f in _store_models(name, []) if f.name == name), None)
    if match is None:
        return None
    known = _load_state().get("models", {}).get(name)
    if isinstance(known, dict) and known.get("target") == match.target:
        match = match.model_copy(update={k: known.get(k) for k in ("record_id", "quantization")
                                         if isinstance(known.get(k), str)})
    return match


def known_names(name: str) -> list[str]:
    """Names in the store `name`'s prefix points at (for 'did you mean')."""
    return [f.name for f in _store_models(name, [])]
