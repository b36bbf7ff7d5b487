"""Fuzz what a user types or writes to pick a model: openpick.toml (engines/config.load_models,
read by every command that takes -m), model specs (engines/spec.parse_spec, the text after
-m) and -o KEY=VALUE options (engines/spec.parse_options)."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from fuzzkit import fuzz_settings, mutated, parse_or_reject
from openpick.engines import config
from openpick.engines.config import ModelEntry, load_models
from openpick.engines.spec import ModelSpec, parse_options, parse_spec

pytestmark = pytest.mark.fuzz

# Real openpick.toml files: the shapes config.py documents, each engine, replicas, prices.
CORPUS = [s.encode() for s in (
    '[models.my-llama]\nengine = "llama-cpp"\npath = "/models/llama-3.2-1b.Q4_K_M.gguf"\n'
    'record = "meta-llama/Llama-3.2-1B-Instruct"\noptions = { n_ctx = 8192 }\n'
    'price = { usd_per_1m_input = 0.0, usd_per_1m_output = 0.0 }\n',
    '[models.office-vllm]\nengine = "openai"\nurl = "http://10.0.0.5:8000/v1"\n'
    'model = "Qwen/Qwen2.5-7B-Instruct"\n\n[models.echo]\nengine = "fake"\npath = "echo"\n',
    '# replicas\n[models.pair]\nengine = "openai"\n'
    'urls = ["http://10.0.0.5:8000/v1", "http://10.0.0.6:8000/v1"]\nmodel = "m"\n'
    '[models.pair.options]\ntimeout = 30\nretries = 2\n',
    '[models."hf-local"]\nengine = "transformers"\npath = "~/models/smol"\n'
    '[models."hf-local".price]\nusd_per_1m_input = 1.5\nusd_per_1m_output = 2e0\n',
)]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """The current directory, whose openpick.toml the fuzz inputs are written to."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / config.FILENAME


def load_and_resolve(path: Path, data: bytes, parser: str) -> None:
    path.write_bytes(data)
    models = parse_or_reject(parser, load_models, names=(str(path),))
    if isinstance(models, dict):
        for name, entry in models.items():
            assert isinstance(entry, ModelEntry)
            # Every configured name resolves to a spec; an error must be a clean one.
            spec = parse_or_reject(parser + "+spec", lambda n=name: parse_spec(n))
            assert isinstance(spec, ModelSpec) or "\n" not in str(spec)


def test_corpus_loads(project):
    for data in CORPUS:
        project.write_bytes(data)
        assert load_models(), data


@fuzz_settings(0.5)
@given(data=mutated(CORPUS))
def test_mutated_config(project, data):
    load_and_resolve(project, data, "openpick.toml/mutated")


# Values TOML can hold, nested a little.
_TOML_SCALARS = (st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats()
                 | st.text(max_size=20) | st.dates() | st.datetimes() | st.times())
toml_values = st.recursive(
    _TOML_SCALARS, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_URL = st.sampled_from(["http://h:1/v1", "https://x/v1", "ftp://x", "http://a,b", "", "h:1"])
_ENTRY = {
    "engine": st.sampled_from(["fake", "openai", "llama-cpp", "transformers", "nope", ""]),
    "path": st.text(max_size=20), "url": _URL, "urls": st.lists(_URL, max_size=3),
    "model": st.text(max_size=10), "record": st.text(max_size=10),
    "options": st.dictionaries(st.text(max_size=8), toml_values, max_size=3),
    "price": st.fixed_dictionaries({}, optional={
        "usd_per_1m_input": st.floats() | st.integers(), "usd_per_1m_output": st.floats(),
        "currency": st.text(max_size=3)}),
}


@st.composite
def config_files(draw) -> bytes:
    def field(v):
        return st.one_of(v, v, v, toml_values)

    entries = st.fixed_dictionaries({}, optional={k: field(v) for k, v in _ENTRY.items()})
    models = st.dictionaries(st.text(max_size=12), st.one_of(entries, entries, toml_values),
                             max_size=3)
    doc = {"models": draw(st.one_of(models, models, models, toml_values))}
    doc |= draw(st.dictionaries(st.text(max_size=8), toml_values, max_size=2))
    return tomli_w.dumps(doc).encode()


@fuzz_settings(0.5)
@given(data=config_files())
def test_generated_config(project, data):
    load_and_resolve(project, data, "openpick.toml/generated")


HARD = [b"\xff\xfe", b"models = 1\n", b'models = "x"\n', b"models = [1, 2]\n",
        b"[models]\nx = 1\n", b"[[models]]\nengine = 'fake'\n", b"[models.x]\nengine = 1\n",
        b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", b"[models.x]\npath = '\0'\n",
        b'[models.x]\nengine = "fake"\npath = "x"\n[models.x.options]\n' + b"k = 1\n" * 2,
        b'[models."~nosuchuser/x"]\nengine = "fake"\npath = "x"\n']


@pytest.mark.parametrize("data", HARD, ids=range(len(HARD)))
def test_hard_config(project, data):
    load_and_resolve(project, data, "openpick.toml/hard")


_SPEC_TEXT = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(["fake", "openai", "llama-cpp", "hf", "ollama", "vllm", "nope",
                               "~", "~nosuchuser", "", "/"]),
              st.sampled_from([":", "::", "/", ""]), st.text(max_size=20)).map("".join))


@fuzz_settings()
@given(text=_SPEC_TEXT)
def test_model_specs(project, text):
    result = parse_or_reject("model-spec", lambda: parse_spec(text))
    assert isinstance(result, ModelSpec) or "\n" not in str(result)


@fuzz_settings()
@given(pairs=st.lists(st.text(max_size=20) | st.tuples(
    st.text(max_size=8), st.sampled_from(["=", "=="]),
    st.text(max_size=12) | st.sampled_from(["[", "{a: ", "2024-13-45", "9" * 5000, "*a", "!!x 1",
                                            "&a [*a]", "'", '"\\x"', ": :", "- -"])
).map("".join), max_size=4))
def test_options(pairs):
    result = parse_or_reject("-o options", lambda: parse_options(pairs))
    assert isinstance(result, dict) or "option" in str(result)

