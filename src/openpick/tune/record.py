"""A tuned model's catalog record: `local/NAME`, whose base_model is its base.

Saved with the imported records (catalog/catalog.py), so `openpick lineage BASE` shows it
under its base, and its openness card says what is open: the training code (openpick's,
Apache-2.0), the data (yours: present, its license is yours to state), the weights (local;
an adapter inherits the base's license).
"""

from __future__ import annotations

from pathlib import Path

from openpick.catalog.catalog import get_record, save_imported
from openpick.catalog.schema import Artifact, Component, ModelRecord
from openpick.errors import NotFound

OPENPICK_LINK = "https://pypi.org/project/openpick/"


def _base_record(record_id: str | None) -> ModelRecord | None:
    if not record_id:
        return None
    try:
        return get_record(record_id)
    except NotFound:
        return None


def build_record(manifest: dict) -> ModelRecord:
    base = manifest["base"]
    rec = _base_record(base.get("record_id"))
    adapter = manifest["method"] == "lora"
    license_ = rec.license if rec else "NOASSERTION"
    from openpick.tune.config import tuned_dir

    export = manifest.get("export")  # a merged GGUF (tune/export.py)
    kind = "adapter" if adapter else "model"
    what = ("LoRA adapter" if adapter else
            f"{export['of']}, merged and exported to GGUF ({export['quant']})," if export
            else "Full fine-tune")
    weights_path = str(tuned_dir(manifest["name"]) / ("model.gguf" if export else kind))
    data = manifest["data"]
    return ModelRecord(
        id=manifest["record_id"], name=manifest["name"], developer="local (openpick tune)",
        family=rec.family if rec else None,
        description=(f"{what} of "
                     f"{base.get('record_id') or base['spec']} made with openpick tune on "
                     f"{Path(data['train']['path']).name} ({data['train_rows']} rows, sha256 "
                     f"{data['train']['sha256'][:12]}…)"),
        base_model=[base["record_id"]] if base.get("record_id") else [],
        base_model_relation="adapter" if adapter else "finetune",
        tasks=rec.tasks if rec else [], languages=rec.languages if rec else [],
        license=license_, parameters=rec.parameters if rec else None,
        architecture=rec.architecture if rec else None,
        context_length=rec.context_length if rec else None,
        release_date=manifest["created_at"][:10],
        components={
            "Training code": Component(license="Apache-2.0", link=OPENPICK_LINK),
            "Datasets": Component(present=True, link=data["train"]["path"]),
            "Model parameters (Final)": Component(present=True, license=license_,
                                                  link=weights_path),
        },
        artifacts=[Artifact(kind="gguf", path=weights_path, quantization=export["quant"],
                            sha256=export["sha256"]) if export else
                   Artifact(kind="safetensors", path=weights_path,
                            sha256=manifest["model"]["options"].get("adapter_sha256"))],
        tags=["tuned", "local"], sources=["openpick-tune"])


def save_record(manifest: dict) -> Path:
    return save_imported(build_record(manifest))
