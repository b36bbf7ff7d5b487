import pytest

from openpick.engines import config, load_engine, parse_spec
from openpick.engines.config import ModelEntry, Price
from openpick.engines.fake import FakeEngine
from openpick.engines.spec import parse_options
from openpick.errors import InvalidInput, NotFound


def test_embedded_names():
    s = parse_spec("smollm2-135m")
    assert (s.engine, s.embedded, s.record_id, s.source) == (
        "llama-cpp", "smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct", "embedded")


@pytest.mark.parametrize("text,engine,target", [
    ("llama-cpp:models/x.gguf", "llama-cpp", "models/x.gguf"),
    ("hf:path/to/dir", "transformers", "path/to/dir"),
    ("openai:http://127.0.0.1:8000/v1#qwen", "openai", "http://127.0.0.1:8000/v1#qwen"),
    ("ollama:llama3.2", "openai", "http://localhost:11434/v1#llama3.2"),
    ("vllm:Qwen/Qwen2.5-7B", "openai", "http://localhost:8000/v1#Qwen/Qwen2.5-7B"),
    ("fake:Paris", "fake", "Paris"),
])
def test_url_like_specs(text, engine, target):
    s = parse_spec(text)
    assert (s.engine, s.target) == (engine, target)


def test_bare_paths(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert parse_spec(str(gguf)).engine == "llama-cpp"
    (tmp_path / "hfdir").mkdir()
    (tmp_path / "hfdir" / "config.json").write_text("{}")
    assert parse_spec(str(tmp_path / "hfdir")).engine == "transformers"


def test_unknown_name_suggests():
    with pytest.raises(NotFound, match="did you mean smollm2-135m"):
        parse_spec("smollm2-135")


def test_config_names_and_project_override(tmp_path, monkeypatch):
    config.add_model("mine", ModelEntry(engine="fake", path="user answer",
                                       price=Price(usd_per_1m_input=0.1, usd_per_1m_output=0.2)))
    assert parse_spec("mine").target == "user answer"
    assert parse_spec("mine").price.usd_per_1m_output == 0.2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "openpick.toml").write_text('[models.mine]\nengine = "fake"\npath = "project answer"\n')
    spec = parse_spec("mine")
    assert (spec.target, spec.source) == ("project answer", "config")
    with load_engine("mine") as engine:
        assert isinstance(engine, FakeEngine) and engine.display_name == "mine"


def test_config_errors_name_file_and_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "openpick.toml").write_text('[models.x]\nengine = "fake"\npath = \n')
    with pytest.raises(InvalidInput, match=r"openpick.toml:3: TOML error"):
        parse_spec("x")
    (tmp_path / "openpick.toml").write_text('[models.x]\nengine = "fake"\n')
    with pytest.raises(InvalidInput, match="models.x: .*give path"):
        parse_spec("x")


def test_add_model_keeps_other_entries_and_rejects_bad_names():
    config.add_model("a", ModelEntry(engine="openai", url="http://h:1/v1", model="m"))
    config.add_model("b", ModelEntry(engine="llama-cpp", path="/x.gguf", options={"n_ctx": 512}))
    models = config.load_models()
    assert models["a"].target() == "http://h:1/v1#m"
    assert models["b"].options == {"n_ctx": 512}
    with pytest.raises(InvalidInput):
        config.add_model("bad name", ModelEntry(engine="fake", path="x"))


def test_parse_options_types():
    assert parse_options(["n_ctx=8192", "x=1.5", "flag=true", "s=abc"]) == {
        "n_ctx": 8192, "x": 1.5, "flag": True, "s": "abc"}
    with pytest.raises(InvalidInput):
        parse_options(["novalue"])
