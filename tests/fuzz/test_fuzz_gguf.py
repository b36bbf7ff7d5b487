"""Fuzz GGUF headers: the importer (parse_gguf, what `openpick catalog import model.gguf`
runs) and the engines' check before loading (llama_cpp.check_gguf). Inputs: mutated real
GGUF files (the committed tiny-llama.gguf and variants written by make_tiny.py), and headers
built byte by byte with wrong magic and versions, absurd tensor/kv/array counts, string
lengths beyond the end of the file, unknown and wrong value types, lying tensor shapes."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzkit import fuzz_settings, mutated, parse_or_reject
from openpick.catalog.importers.gguf import parse_gguf
from openpick.catalog.schema import ModelRecord
from openpick.engines.llama_cpp import check_gguf
from openpick.errors import OpenpickError
from openpick.paths import cache_dir

pytestmark = pytest.mark.fuzz

FIXTURES = Path(__file__).parents[1] / "fixtures" / "gguf"
sys.path.insert(0, str(FIXTURES))
from make_tiny import write_tiny_gguf  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[bytes]:
    out = tmp_path_factory.mktemp("gguf-corpus")
    variants = [write_tiny_gguf(out / "moe.gguf", experts=4, file_type=0),
                write_tiny_gguf(out / "bare.gguf", name=None, organization=None, license=None,
                                chat_template=None, base_model_repo=None)]
    return [(FIXTURES / "tiny-llama.gguf").read_bytes()] + [p.read_bytes() for p in variants]


def parse(tmp_path: Path, data: bytes, parser: str):
    path = tmp_path / "model.gguf"
    path.write_bytes(data)
    # A fresh header cache each time: the cache is written on every accepted file.
    (cache_dir() / "gguf-headers.json").unlink(missing_ok=True)
    result = parse_or_reject(parser, lambda: parse_gguf(path), names=(str(path),))
    if isinstance(result, OpenpickError):
        # The importer turns the reader's exceptions into InvalidInput: a watchdog timeout
        # must not pass as one of them.
        assert "parser ran for more than" not in str(result), result
    else:
        assert isinstance(result, ModelRecord) and result.artifacts[0].kind == "gguf"
        assert parse_gguf(path) == result  # the cached summary gives the same record
    check = parse_or_reject("engines.check_gguf", lambda: check_gguf(path), names=(str(path),))
    assert check is None or isinstance(check, OpenpickError)
    return result


def test_corpus_is_real(corpus):
    assert all(c[:4] == b"GGUF" for c in corpus)


@fuzz_settings(0.5)
@given(st.data())
def test_mutated_files(tmp_path, corpus, data):
    parse(tmp_path, data.draw(mutated(corpus)), "gguf/mutated")


# ---------------------------------------------------------------- headers built byte by byte

U64 = 2**64 - 1
KEYS = ["general.architecture", "general.name", "general.organization", "general.basename",
        "general.license", "general.license.name", "general.file_type", "general.parameter_count",
        "general.base_model.count", "general.base_model.0.name",
        "general.base_model.0.organization", "general.base_model.0.repo_url",
        "general.source.url", "general.tags", "general.languages", "general.alignment",
        "llama.context_length", "llama.attention.head_count", "llama.attention.head_count_kv",
        "llama.expert_count", "llama.attention.sliding_window", "tokenizer.chat_template"]
# GGUF value types: (struct format, strategy for a value of that type)
SCALARS = {0: ("B", st.integers(0, 255)), 1: ("b", st.integers(-128, 127)),
           2: ("H", st.integers(0, 2**16 - 1)), 3: ("h", st.integers(-2**15, 2**15 - 1)),
           4: ("I", st.integers(0, 2**32 - 1)), 5: ("i", st.integers(-2**31, 2**31 - 1)),
           6: ("f", st.floats(width=32)), 7: ("?", st.booleans()),
           10: ("Q", st.integers(0, U64)), 11: ("q", st.integers(-2**63, 2**63 - 1)),
           12: ("d", st.floats())}
STRING, ARRAY = 8, 9


def count(true: int, top: int = U64) -> st.SearchStrategy[int]:
    """Mostly the true count or length, sometimes a lie: a little more, or absurdly more
    (up to `top`, the largest the field holds)."""
    lies = [n for n in (2**31, 2**32 - 1, 2**63, U64) if n <= top]
    return mostly(true, st.integers(true + 1, true + 8) | st.sampled_from(lies))


def mostly(good, bad: st.SearchStrategy) -> st.SearchStrategy:
    """`good` nine times in ten, else a value from `bad`."""
    return st.integers(0, 9).flatmap(lambda r: bad if r == 9 else st.just(good))


@st.composite
def gguf_string(draw) -> bytes:
    raw = draw(st.text(max_size=24).map(str.encode) | st.binary(max_size=12)
               | st.sampled_from([b"llama", b"https://huggingface.co/a/b", b"apache-2.0"]))
    return struct.pack("<Q", draw(count(len(raw)))) + raw


def value(vtype: int, depth: int = 0) -> st.SearchStrategy[bytes]:
    if vtype in SCALARS:
        fmt, values = SCALARS[vtype]
        return values.map(lambda v: struct.pack("<" + fmt, v))
    if vtype == STRING:
        return gguf_string()
    if vtype == ARRAY and depth < 2:
        return array(depth)
    return st.binary(max_size=16)  # an unknown type: whatever follows


@st.composite
def array(draw, depth: int) -> bytes:
    itype = draw(st.sampled_from([*SCALARS, STRING, STRING, ARRAY, 13, 2**32 - 1]))
    items = draw(st.lists(value(itype, depth + 1), max_size=5))
    return struct.pack("<IQ", itype, draw(count(len(items)))) + b"".join(items)


@st.composite
def kv(draw) -> bytes:
    key = draw(st.sampled_from(KEYS).map(str.encode) | st.binary(max_size=10))
    vtype = draw(st.sampled_from([*SCALARS, STRING, STRING, STRING, ARRAY, ARRAY, 13, 99]))
    return (struct.pack("<Q", draw(count(len(key)))) + key + struct.pack("<I", vtype)
            + draw(value(vtype)))


@st.composite
def tensor_info(draw, index: int) -> bytes:
    name = f"blk.{index}.weight".encode() if draw(st.booleans()) else b"dup.weight"
    dims = draw(st.lists(st.integers(0, 16) | st.sampled_from([2**32, 2**62, U64]),
                         max_size=4))
    ggml_type = draw(st.sampled_from([0, 1, 2, 8, 12, 24, 30, 39, 2**31]))
    offset = draw(st.sampled_from([0, 32, 64, 1 << 40, U64]))
    return (struct.pack("<Q", len(name)) + name + struct.pack("<I", draw(count(len(dims), 2**32 - 1)))
            + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ggml_type, offset))


@st.composite
def headers(draw) -> bytes:
    magic = draw(mostly(b"GGUF", st.sampled_from([b"GGUG", b"FUGG", b"ggjt", b"\0\0\0\0"])))
    version = draw(mostly(3, st.sampled_from([2, 1, 0, 4, 3 << 16, U64 >> 32])))
    kvs = draw(st.lists(kv(), max_size=8))
    tensors = [draw(tensor_info(i)) for i in range(draw(st.integers(0, 3)))]
    body = b"".join(kvs) + b"".join(tensors)
    pad = b"\0" * (-(24 + len(body)) % 32)
    data = draw(st.binary(max_size=64) | st.just(b"\0" * 512))
    blob = (magic + struct.pack("<IQQ", version, draw(count(len(tensors))), draw(count(len(kvs))))
            + body + pad + data)
    cut = draw(mostly(None, st.integers(0, len(blob))))  # now and then cut short anywhere
    return blob if cut is None else blob[:cut]


@fuzz_settings(0.5)
@given(data=headers())
def test_built_headers(tmp_path, data):
    parse(tmp_path, data, "gguf/built")


def _header(kvs: list[bytes], tensor_count: int = 0, kv_count: int | None = None) -> bytes:
    n = len(kvs) if kv_count is None else kv_count
    return b"GGUF" + struct.pack("<IQQ", 3, tensor_count, n) + b"".join(kvs)


def _kv(key: bytes, vtype: int, payload: bytes) -> bytes:
    return struct.pack("<Q", len(key)) + key + struct.pack("<I", vtype) + payload


def _s(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


HARD = {
    "huge-kv-count": _header([], kv_count=U64),
    "huge-tensor-count": _header([], tensor_count=2**63),
    "uint8-array-count-past-eof": _header([_kv(b"general.tags", ARRAY, struct.pack("<IQ", 0, 2**62))]),
    "string-array-count-past-eof": _header([_kv(b"general.tags", ARRAY, struct.pack("<IQ", STRING, 2**62))]),
    "string-length-past-eof": _header([_kv(b"general.name", STRING, struct.pack("<Q", 2**40) + b"x")]),
    "key-length-past-eof": b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, U64),
    "base-model-count-huge": _header([_kv(b"general.base_model.count", 10, struct.pack("<Q", 2**62))]),
    "base-model-count-as-string": _header([_kv(b"general.base_model.count", STRING, _s(b"many"))]),
    "name-as-int": _header([_kv(b"general.name", 4, struct.pack("<I", 7))]),
    "name-not-utf8": _header([_kv(b"general.name", STRING, _s(b"\xff\xfe"))]),
    "key-not-utf8": _header([_kv(b"\xff", STRING, _s(b"x"))]),
    "tags-not-utf8": _header([_kv(b"general.tags", ARRAY, struct.pack("<IQ", STRING, 1) + _s(b"\xff"))]),
    "expert-count-as-string": _header([_kv(b"general.architecture", STRING, _s(b"llama")),
                                       _kv(b"llama.expert_count", STRING, _s(b"4"))]),
    "context-negative": _header([_kv(b"general.architecture", STRING, _s(b"llama")),
                                 _kv(b"llama.context_length", 11, struct.pack("<q", -1))]),
    "file-type-as-array": _header([_kv(b"general.file_type", ARRAY, struct.pack("<IQ", 4, 1) + b"\0" * 4)]),
    "parameter-count-as-string": _header([_kv(b"general.parameter_count", STRING, _s(b"7B"))]),
    "base-model-org-as-int": _header([_kv(b"general.base_model.count", 4, struct.pack("<I", 1)),
                                      _kv(b"general.base_model.0.organization", 4, b"\1\0\0\0"),
                                      _kv(b"general.base_model.0.name", 4, b"\2\0\0\0")]),
    "nested-arrays": _header([_kv(b"general.tags", ARRAY, struct.pack("<IQ", ARRAY, 1) * 3000)]),
    "alignment-zero": _header([_kv(b"general.alignment", 4, struct.pack("<I", 0))]),
    "duplicate-key": _header([_kv(b"general.name", STRING, _s(b"a"))] * 2),
    "big-endian": b"GGUF" + struct.pack(">IQQ", 3, 0, 0),
    "only-magic": b"GGUF",
    "wrong-magic": b"GGML" + b"\0" * 64,
}


@pytest.mark.parametrize("data", list(HARD.values()), ids=list(HARD))
def test_hard_headers(tmp_path, data):
    parse(tmp_path, data, "gguf/hard")
