"""A tuned model is a model spec (engines/spec.py reads its manifest) and a catalog record
under its base."""

from __future__ import annotations

import json

from openpick.catalog.catalog import all_records
from openpick.catalog.lineage import Lineage
from openpick.engines.spec import parse_spec
from openpick.tune.config import tuned_dir
from openpick.tune.record import save_record


def _manifest(name="my-router"):
    return {
        "format": 1, "name": name, "created_at": "2026-12-02T10:00:00Z",
        "record_id": f"local/{name}", "method": "lora",
        "base": {"spec": "smollm2-135m", "folder": "/x", "gguf_file": "m.gguf",
                 "embedded": "smollm2-135m", "sha256": "ab", "record_id":
                 "HuggingFaceTB/SmolLM2-135M-Instruct"},
        "data": {"train": {"path": "/d/train.jsonl", "sha256": "cd" * 32}, "train_rows": 9,
                 "eval_rows": 1},
        "model": {"engine": "transformers", "target": "/x/m.gguf", "embedded": "smollm2-135m",
                  "options": {"adapter": "adapter", "adapter_sha256": "ef" * 32}},
    }


def _write(manifest):
    folder = tuned_dir(manifest["name"])
    folder.mkdir(parents=True)
    (folder / "tune.json").write_text(json.dumps(manifest))
    return folder


def test_a_tuned_name_resolves_to_the_transformers_engine_with_its_adapter():
    folder = _write(_manifest())
    spec = parse_spec("my-router")
    assert spec.source == "tuned" and spec.engine == "transformers"
    assert spec.embedded == "smollm2-135m"  # the base file is found again, not stored
    assert spec.options == {"adapter": str(folder / "adapter"), "adapter_sha256": "ef" * 32}
    assert spec.record_id == "local/my-router"


def test_an_unfinished_training_is_not_a_model():
    folder = tuned_dir("half")
    (folder / "checkpoints").mkdir(parents=True)
    from openpick.errors import NotFound

    try:
        parse_spec("half")
    except NotFound:
        pass
    else:
        raise AssertionError("a folder without tune.json resolved as a model")


def test_the_record_sits_under_its_base_in_the_lineage():
    m = _manifest()
    save_record(m)
    records = all_records()
    rec = next(r for r in records if r.id == "local/my-router")
    assert rec.base_model == ["HuggingFaceTB/SmolLM2-135M-Instruct"]
    assert rec.base_model_relation == "adapter" and rec.license == "Apache-2.0"
    tree = Lineage(records).descendants("HuggingFaceTB/SmolLM2-135M-Instruct").to_dict()
    assert {"id": "local/my-router", "relation": "adapter", "known": True,
            "children": []} in tree["children"]
