"""What a tuning job is (TuneConfig) and where a tuned model lives.

    <data dir>/tuned/<name>/
      tune.json           the manifest, written last (atomically): its presence means done.
                          Base identity, training config, data sha256, loss curve, and the
                          `model` entry engines/spec.py turns into a model spec.
      adapter/            LoRA: adapter_model.safetensors + adapter_config.json (peft)
      model/              full fine-tune: a transformers folder (safetensors + tokenizer)
      job.json            the job the worker runs (the resolved config)
      train.log           the worker's stderr
      checkpoints/step-000040/   while training; removed once the model is saved

The defaults suit a ~135M model on a laptop CPU: LoRA rank 16 on every linear layer, short
sequences, small batches, a learning rate that converges in a few hundred steps.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from openpick.engines.config import NAME_RE
from openpick.errors import InvalidInput
from openpick.paths import data_dir

MANIFEST = "tune.json"
FORMAT = 1


class BaseIdentity(BaseModel):
    """The model a tuning started from, resolved: what the worker loads."""

    model_config = ConfigDict(extra="forbid")
    spec: str                         # as the user typed it
    folder: str                       # a transformers folder, or the folder of the GGUF
    gguf_file: str | None = None      # loaded through transformers' gguf_file= (dequantized)
    embedded: str | None = None       # an embedded model's name (its path is found again)
    sha256: str | None = None         # of the GGUF file (None for a folder)
    record_id: str | None = None      # its catalog record, when known

    def path(self) -> Path:
        return Path(self.folder) / self.gguf_file if self.gguf_file else Path(self.folder)


class TuneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    base: BaseIdentity
    data: str
    data_sha256: str
    eval_data: str | None = None
    eval_data_sha256: str | None = None
    eval_share: float = Field(0.1, gt=0, lt=1)   # held out when no eval_data
    method: Literal["lora", "full"] = "lora"
    rank: int = Field(16, ge=1)
    alpha: float = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["all-linear"])
    lr: float | None = Field(None, gt=0)          # None: 1e-3 for LoRA, 5e-5 for full
    epochs: float = Field(3, gt=0)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    seq_len: int = Field(256, ge=8)
    warmup_share: float = Field(0.05, ge=0, lt=1)
    seed: int = 0
    checkpoint_every: int = Field(25, ge=1)
    eval_every: int = Field(50, ge=1)
    threads: int | None = Field(None, ge=1)       # torch threads; None: torch's default
    device: str = "auto"                          # auto (cuda when there is one), cpu, cuda

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (1e-3 if self.method == "lora" else 5e-5)

    def fingerprint(self) -> str:
        """What makes two runs the same training (a checkpoint of another is not resumed).
        How often to checkpoint or evaluate changes no weight, so it is left out; so are
        the threads and device (reported, not part of the identity)."""
        keep = self.model_dump(mode="json", exclude={"checkpoint_every", "eval_every",
                                                     "threads", "device", "data",
                                                     "eval_data"})
        keep["base"].pop("spec")
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()


def tuned_root() -> Path:
    return data_dir() / "tuned"


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidInput(f"--name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


def tuned_dir(name: str) -> Path:
    return tuned_root() / check_name(name)


def read_manifest(name: str) -> dict | None:
    """A finished tuned model's manifest, or None."""
    path = tuned_dir(name) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InvalidInput(f"cannot read the tuned model's manifest: {e}", path=str(path)) from e


def list_tuned() -> list[dict]:
    root = tuned_root()
    if not root.is_dir():
        return []
    return [m for d in sorted(root.iterdir()) if d.is_dir() and NAME_RE.match(d.name)
            and (m := read_manifest(d.name)) is not None]
