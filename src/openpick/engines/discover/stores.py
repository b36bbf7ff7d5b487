"""Where other tools keep the models they downloaded, and how to walk each store.

Walking a store only lists folders and reads small JSON files (Ollama manifests, Hugging
Face refs): no model file is opened here, so resolving a name stays cheap. The layouts:

- Ollama (`$OLLAMA_MODELS`, default ~/.ollama/models; /usr/share/ollama/.ollama/models for
  the Linux service): `manifests/<host>/<namespace>/<model>/<tag>` is an OCI-style JSON
  manifest whose `application/vnd.ollama.image.model` layer names the GGUF blob
  `blobs/sha256-<hex>` (older versions wrote `sha256:<hex>`).
- LM Studio (`$LMSTUDIO_HOME/models`, the folder named in ~/.lmstudio-home-pointer,
  ~/.lmstudio/models, or the older ~/.cache/lm-studio/models): `<publisher>/<repo>/<file>.gguf`.
- Hugging Face hub cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else ~/.cache/huggingface/hub):
  `models--<org>--<name>/snapshots/<commit>/...`, the commit named by `refs/main`, files
  symlinked into `blobs/`.
- llama.cpp (`$LLAMA_CACHE`, else ~/.cache/llama.cpp): `-hf` downloads as flat files
  `<org>_<repo>_<file>.gguf` beside `manifest=<org>=<repo>=<tag>.json`; newer builds keep
  the Hugging Face layout above inside the same folder.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_REGISTRY = "registry.ollama.ai"
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


class Found(BaseModel):
    """One model file (or model folder) found in a store."""

    name: str  # what `-m` takes
    store: str  # ollama | lmstudio | hf | llama.cpp | scan | ollama-server
    engine: str  # llama-cpp | transformers | openai
    target: str  # a file or folder path; for a server, URL#model
    format: str  # gguf | safetensors | server
    size_bytes: int | None = None
    parts: int = 1  # files of a split GGUF
    repo: str | None = None  # the id the store knows it by: HF repo id, Ollama model name
    quantization: str | None = None
    record_id: str | None = None

    @property
    def spec(self) -> str:
        return f"{self.engine}:{self.target}"


Warn = list[str]


# ---------------------------------------------------------------- roots


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _xdg_cache() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else _home() / ".cache"


def ollama_roots() -> list[Path]:
    if os.environ.get("OLLAMA_MODELS"):
        return [Path(os.environ["OLLAMA_MODELS"]).expanduser()]
    return [_home() / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]


def lmstudio_roots() -> list[Path]:
    if os.environ.get("LMSTUDIO_HOME"):
        return [Path(os.environ["LMSTUDIO_HOME"]).expanduser() / "models"]
    roots = []
    pointer = _home() / ".lmstudio-home-pointer"  # LM Studio writes its home folder here
    try:
        text = pointer.read_text(encoding="utf-8").strip()
        if text:
            roots.append(Path(text).expanduser() / "models")
    except (OSError, UnicodeDecodeError):
        pass
    roots += [_home() / ".lmstudio" / "models", _xdg_cache() / "lm-studio" / "models"]
    return list(dict.fromkeys(roots))


def hf_hub_root() -> Path:
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    hf_home = os.environ.get("HF_HOME")
    return (Path(hf_home).expanduser() if hf_home else _xdg_cache() / "huggingface") / "hub"


def llama_cache_root() -> Path:
    if os.environ.get("LLAMA_CACHE"):
        return Path(os.environ["LLAMA_CACHE"]).expanduser()
    if sys.platform == "darwin":
        return _home() / "Library" / "Caches" / "llama.cpp"
    return _xdg_cache() / "llama.cpp"


# ---------------------------------------------------------------- helpers


def _listdir(path: Path, warn: Warn) -> list[Path]:
    """Sorted entries of a folder; an unreadable folder is one warning, not an error."""
    try:
        return sorted(path.iterdir())
    except FileNotFoundError:
        return []
    except OSError as e:
        warn.append(f"{path}: skipped, cannot list it ({e.strerror or e})")
        return []


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _model_files(paths: list[Path], warn: Warn) -> Iterator[tuple[Path, int, int]]:
    """(file, total size, parts) for the GGUF models among `paths`: vision projectors
    (mmproj) are not models, and a split model is its first shard."""
    for p in paths:
        name = p.name.lower()
        if not name.endswith(".gguf") or name.startswith("mmproj") or "-mmproj" in name:
            continue
        shard = _SHARD.search(p.name)
        if shard and shard.group(1) != "00001":
            continue
        try:
            if not p.is_file():
                if p.is_symlink():
                    warn.append(f"{p}: skipped, a link to a missing file (interrupted download?)")
                continue
            size, parts = p.stat().st_size, 1
            if shard:
                siblings = [p.with_name(_SHARD.sub(f"-{i:05d}-of-{shard.group(2)}.gguf", p.name))
                            for i in range(1, int(shard.group(2)) + 1)]
                present = [s for s in siblings if s.is_file()]
                if len(present) < len(siblings):
                    warn.append(f"{p}: skipped, {len(present)} of {len(siblings)} parts present")
                    continue
                size, parts = sum(s.stat().st_size for s in present), len(siblings)
        except OSError as e:
            warn.append(f"{p}: skipped ({e.strerror or e})")
            continue
        yield p, size, parts


def _stem(path: Path) -> str:
    """File name without `.gguf` (and without the shard suffix of a split model)."""
    return _SHARD.sub("", path.name) if _SHARD.search(path.name) else path.name[: -len(".gguf")]


def _safetensors_folder(folder: Path) -> int | None:
    """Total weight size when `folder` holds a transformers model (config.json + safetensors)."""
    try:
        if not (folder / "config.json").is_file():
            return None
        sizes = [p.stat().st_size for p in folder.glob("*.safetensors") if p.is_file()]
    except OSError:
        return None
    return sum(sizes) if sizes else None


# ---------------------------------------------------------------- Ollama


def ollama_name(host: str, namespace: str, model: str, tag: str) -> str:
    """The name `ollama list` shows: `llama3.2:3b`, `user/model:tag`, `hf.co/org/repo:tag`."""
    if host == OLLAMA_REGISTRY:
        return f"{model}:{tag}" if namespace == "library" else f"{namespace}/{model}:{tag}"
    return f"{host}/{namespace}/{model}:{tag}"


def _ollama_blob(root: Path, digest: object) -> Path | None:
    if not isinstance(digest, str) or not re.fullmatch(r"sha256[:-][0-9a-f]{64}", digest):
        return None
    for name in (digest.replace(":", "-"), digest.replace("-", ":")):
        if (root / "blobs" / name).is_file():
            return root / "blobs" / name
    return None


def _ollama_manifest(path: Path, root: Path, name: str, warn: Warn) -> Found | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) else f"not JSON: {str(e).splitlines()[0][:80]}"
        warn.append(f"{path}: skipped Ollama manifest ({why})")
        return None
    layers = data.get("layers") if isinstance(data, dict) else None
    model = next((layer for layer in layers or [] if isinstance(layer, dict)
                  and layer.get("mediaType") == OLLAMA_MODEL_LAYER), None)
    if model is None:
        warn.append(f"{path}: skipped Ollama manifest (no {OLLAMA_MODEL_LAYER} layer)")
        return None
    blob = _ollama_blob(root, model.get("digest"))
    if blob is None:
        warn.append(f"{path}: skipped, its model blob {str(model.get('digest'))[:80]} is missing")
        return None
    quant = None
    config = data.get("config")
    if isinstance(config, dict) and (cblob := _ollama_blob(root, config.get("digest"))):
        try:  # the small config blob states the quantization: {"file_type": "Q4_K_M", ...}
            quant = json.loads(cblob.read_text(encoding="utf-8")).get("file_type") or None
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            pass
    return Found(name=f"ollama/{name}", store="ollama", engine="llama-cpp", target=str(blob),
                 format="gguf", size_bytes=blob.stat().st_size, repo=name,
                 quantization=quant if isinstance(quant, str) else None)


def walk_ollama(root: Path, warn: Warn) -> Iterator[Found]:
    for host in _listdir(root / "manifests", warn):
        for namespace in _listdir(host, warn) if _is_dir(host) else []:
            for model in _listdir(namespace, warn) if _is_dir(namespace) else []:
                for tag in _listdir(model, warn) if _is_dir(model) else []:
                    if tag.is_file():
                        name = ollama_name(host.name, namespace.name, model.name, tag.name)
                        if found := _ollama_manifest(tag, root, name, warn):
                            yield found


# ---------------------------------------------------------------- LM Studio


def walk_lmstudio(root: Path, warn: Warn) -> Iterator[Found]:
    for publisher in _listdir(root, warn):
        for repo in _listdir(publisher, warn) if _is_dir(publisher) else []:
            if not _is_dir(repo):
                continue
            for f, size, parts in _model_files(_listdir(repo, warn), warn):
                rid = f"{publisher.name}/{repo.name}"
                yield Found(name=f"lmstudio/{rid}/{_stem(f)}", store="lmstudio", engine="llama-cpp",
                            target=str(f), format="gguf", size_bytes=size, parts=parts, repo=rid)


# ---------------------------------------------------------------- Hugging Face hub cache


def _snapshot(repo_dir: Path, warn: Warn) -> Path | None:
    """The snapshot `refs/main` names, else the newest one."""
    try:
        commit = (repo_dir / "refs" / "main").read_text(encoding="utf-8").strip()
        if commit and _is_dir(repo_dir / "snapshots" / commit):
            return repo_dir / "snapshots" / commit
    except (OSError, UnicodeDecodeError):
        pass
    snaps = [s for s in _listdir(repo_dir / "snapshots", warn) if _is_dir(s)]
    return max(snaps, key=lambda s: s.stat().st_mtime, default=None)


def walk_hf(root: Path, warn: Warn, prefix: str = "hf", store: str = "hf") -> Iterator[Found]:
    for repo_dir in _listdir(root, warn):
        kind, _, rest = repo_dir.name.partition("--")
        org, _, name = rest.partition("--")
        if kind != "models" or not org or not name or not _is_dir(repo_dir):
            continue
        rid = f"{org}/{name}"
        snap = _snapshot(repo_dir, warn)
        if snap is None:
            continue
        size = _safetensors_folder(snap)
        if size is not None:
            yield Found(name=f"{prefix}/{rid}", store=store, engine="transformers",
                        target=str(snap), format="safetensors", size_bytes=size, repo=rid)
        files = []
        for dirpath, dirnames, filenames in os.walk(snap, onerror=lambda e: warn.append(
                f"{e.filename}: skipped, cannot list it ({e.strerror})")):
            dirnames.sort()
            files += [Path(dirpath) / f for f in sorted(filenames)]
        for f, fsize, parts in _model_files(files, warn):
            rel = f.relative_to(snap)
            yield Found(name=f"{prefix}/{rid}/{(rel.parent / _stem(f)).as_posix()}",
                        store=store, engine="llama-cpp", target=str(f), format="gguf",
                        size_bytes=fsize, parts=parts, repo=rid)


# ---------------------------------------------------------------- llama.cpp cache


def _llama_manifests(entries: list[Path]) -> dict[str, str]:
    """Cached file name → HF repo id, from `manifest=<org>=<repo>=<tag>.json` files."""
    out: dict[str, str] = {}
    for m in entries:
        parts = m.name.removesuffix(".json").split("=")
        if not m.name.endswith(".json") or len(parts) != 4 or parts[0] != "manifest":
            continue
        org, repo = parts[1], parts[2]
        try:
            data = json.loads(m.read_text(encoding="utf-8"))
            rfile = data["ggufFile"]["rfilename"]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            continue  # without it the file is still listed, under its own name
        if isinstance(rfile, str):
            out[f"{org}_{repo}_{rfile.replace('/', '_')}"] = f"{org}/{repo}"
    return out


def walk_llama_cache(root: Path, warn: Warn) -> Iterator[Found]:
    entries = _listdir(root, warn)
    repos = _llama_manifests(entries)
    for f, size, parts in _model_files([e for e in entries if not _is_dir(e)], warn):
        yield Found(name=f"llama.cpp/{_stem(f)}", store="llama.cpp", engine="llama-cpp",
                    target=str(f), format="gguf", size_bytes=size, parts=parts,
                    repo=repos.get(f.name))
    yield from walk_hf(root, warn, prefix="llama.cpp", store="llama.cpp")


# ---------------------------------------------------------------- any folder


def walk_folder(root: Path, warn: Warn) -> Iterator[Found]:
    """GGUF files and transformers folders anywhere under `root` (links to folders are
    not followed, so a loop cannot trap the walk)."""
    label = root.resolve().name or "root"
    if not _is_dir(root):
        warn.append(f"{root}: skipped, not a folder")
        return
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: warn.append(
            f"{e.filename}: skipped, cannot list it ({e.strerror})")):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        rel = here.relative_to(root)
        size = _safetensors_folder(here)
        if size is not None:
            name = f"scan/{label}" + ("" if rel == Path(".") else f"/{rel.as_posix()}")
            yield Found(name=name, store="scan", engine="transformers", target=str(here.resolve()),
                        format="safetensors", size_bytes=size)
        for f, fsize, parts in _model_files([here / n for n in sorted(filenames)], warn):
            stem = (rel / _stem(f)).as_posix()
            yield Found(name=f"scan/{label}/{stem}", store="scan", engine="llama-cpp",
                        target=str(f.resolve()), format="gguf", size_bytes=fsize, parts=parts)
