"""`openpick suite convert`: writes the native suite a promptfoo config becomes."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from openpick.cli.main import app
from openpick.evals.suite import items_hash, load_suite

FIX = Path(__file__).parents[1] / "fixtures" / "promptfoo"


def invoke(*args):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_convert_writes_a_suite_with_the_same_items(tmp_path):
    src = FIX / "handwritten" / "promptfooconfig.yaml"
    out = tmp_path / "sub-folder-free.yaml"
    r = invoke("suite", "convert", str(src), "-o", str(out))
    assert r.exit_code == 0, r.output
    assert f"wrote {out}" in r.stdout and "18 cases × 1 prompt, 7 models" in r.stdout
    assert "note: provider anthropic:messages:claude-3-haiku" in r.stderr
    native, original = load_suite(out), load_suite(src)
    assert native.case_ids == original.case_ids and native.models == original.models
    assert items_hash(native.items()) == items_hash(original.items())
    text = out.read_text()
    assert "providers" not in text.split("x-promptfoo")[0]   # a native document
    assert "def check(output, context):" in text             # python checks inlined


def test_convert_refuses_to_overwrite_without_force(tmp_path):
    src = FIX / "getting-started" / "promptfooconfig.yaml"
    out = tmp_path / "suite.yaml"
    out.write_text("keep me")
    r = CliRunner().invoke(app, ["suite", "convert", str(src), "-o", str(out)])
    assert r.exit_code != 0 and "--force" in str(r.exception or r.output)
    assert out.read_text() == "keep me"
    assert invoke("suite", "convert", str(src), "-o", str(out), "--force").exit_code == 0
    assert len(load_suite(out)) == 4


def test_convert_of_an_unsupported_config_writes_nothing(tmp_path):
    out = tmp_path / "suite.yaml"
    r = CliRunner().invoke(app, ["suite", "convert", str(FIX / "llama-cpp/promptfooconfig.yaml"),
                                 "-o", str(out)])
    assert r.exit_code != 0 and "answer-relevance" in str(r.exception)
    assert not out.exists()


def test_convert_rejects_a_native_suite(tmp_path):
    src = tmp_path / "native.yaml"
    src.write_text("cases:\n  - prompt: hi\n")
    r = CliRunner().invoke(app, ["suite", "convert", str(src), "-o", str(tmp_path / "o.yaml")])
    assert r.exit_code != 0 and "not a promptfoo config" in str(r.exception)
