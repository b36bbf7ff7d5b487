"""`tune()`: from a base model and a data file to a registered local model.

1. Resolve BASE to a local model transformers can load (an HF folder, a GGUF file, an
   embedded model), check the data (and the suite's leak check) before anything loads.
2. Write the job, run it in the worker (tune/supervise.py), which resumes from the last
   checkpoint of the same job when there is one.
3. Write the manifest (the model spec `NAME` resolves through it in every command) and the
   catalog record (`local/NAME`, base_model: its base, relation adapter or finetune).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from openpick.engines import hashing
from openpick.engines.embedded import EMBEDDED
from openpick.engines.spec import parse_spec
from openpick.errors import InvalidInput
from openpick.tune import checkpoint
from openpick.tune.config import (
    FORMAT, MANIFEST, BaseIdentity, TuneConfig, check_name, read_manifest, tuned_dir,
)
from openpick.tune.dataset import (
    file_sha256, leak_check, load_examples, split, suite_prompt_keys,
)
from openpick.tune.supervise import run_worker

RECORD_ORG = "local"


def resolve_base(text: str) -> BaseIdentity:
    """BASE as something the worker can load with transformers."""
    spec = parse_spec(text)
    if spec.source == "tuned":
        raise InvalidInput(f"{text!r} is itself a tuned model; tune its base instead")
    if spec.embedded:
        path = EMBEDDED[spec.embedded].path()
    elif spec.engine in ("llama-cpp", "transformers") and spec.target:
        path = Path(spec.target).expanduser()
    else:
        raise InvalidInput(f"BASE {text!r} is not a local model: give an HF folder "
                           "(safetensors), a .gguf file or an embedded model name")
    if path.is_file() and path.suffix == ".gguf":
        return BaseIdentity(spec=text, folder=str(path.parent.resolve()), gguf_file=path.name,
                            embedded=spec.embedded, sha256=hashing.file_sha256(path),
                            record_id=spec.record_id)
    if path.is_dir() and (path / "config.json").is_file():
        if not any(path.glob("*.safetensors")):
            raise InvalidInput("no *.safetensors weights in the base folder", path=str(path))
        return BaseIdentity(spec=text, folder=str(path.resolve()), record_id=spec.record_id)
    raise InvalidInput(f"BASE {text!r}: expected a .gguf file or a model folder with "
                       "config.json", path=str(path))


def check_data(config: TuneConfig, suite=None) -> dict:
    """Read every row now (bad rows fail before training); the leak check against `suite`
    (a loaded Suite). Returns counts for the caller to show."""
    rows = load_examples(config.data)
    if config.eval_data:
        train, held, held_out = rows, load_examples(config.eval_data), False
    else:
        train, held = split(rows, config.eval_share, config.seed)
        held_out = True
    if suite is not None:
        keys = suite_prompt_keys(suite.items())
        leak_check(train, keys, config.data)
        if config.eval_data:
            leak_check(held, keys, config.eval_data)
    return {"train_rows": len(train), "eval_rows": len(held), "held_out": held_out}


def make_config(base: str, data: str | Path, name: str, *, eval_data: str | Path | None = None,
                **options) -> TuneConfig:
    check_name(name)
    if name in EMBEDDED:
        raise InvalidInput(f"--name {name!r} is an embedded model's name; choose another")
    data = Path(data).resolve()
    if not data.is_file():
        raise InvalidInput("no such data file", path=str(data))
    evald = Path(eval_data).resolve() if eval_data else None
    if evald is not None and not evald.is_file():
        raise InvalidInput("no such eval data file", path=str(evald))
    return TuneConfig(name=name, base=resolve_base(base), data=str(data),
                      data_sha256=file_sha256(data), eval_data=str(evald) if evald else None,
                      eval_data_sha256=file_sha256(evald) if evald else None,
                      **{k: v for k, v in options.items() if v is not None})


def prepare_folder(config: TuneConfig, *, force: bool = False, restart: bool = False) -> Path:
    """The model's folder, ready for this job: a finished model of another job needs
    --force; checkpoints of another job need --restart (or --force)."""
    folder = tuned_dir(config.name)
    done = read_manifest(config.name)
    if done is not None and not force and done.get("fingerprint") != config.fingerprint():
        raise InvalidInput(f"a tuned model named {config.name!r} already exists (from other "
                           "data or settings); pass --force to replace it, or pick a new --name")
    if force or restart:
        shutil.rmtree(folder, ignore_errors=True)
    latest = checkpoint.latest(folder / "checkpoints")
    if latest is not None:
        state = json.loads((latest / "state.json").read_text(encoding="utf-8"))
        if state.get("fingerprint") != config.fingerprint():
            raise InvalidInput(f"an unfinished training of {config.name!r} with other data or "
                               "settings has checkpoints; rerun that command to resume it, or "
                               "pass --restart to discard them")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def tune(config: TuneConfig, *, on_event: Callable[[dict], None] = lambda e: None,
         force: bool = False, restart: bool = False) -> dict:
    """Train (or resume) and register the model; returns its manifest. A model already
    trained by the same job is returned as it is (rerunning the command is safe)."""
    folder = prepare_folder(config, force=force, restart=restart)
    done = read_manifest(config.name)
    if done is not None:
        on_event({"event": "already_done", "name": config.name})
        return done
    job_path = folder / "job.json"
    job_path.write_text(config.model_dump_json(indent=2), encoding="utf-8")
    result = run_worker(job_path, on_event)
    manifest = write_manifest(config, folder, result)
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    from openpick.tune.record import save_record

    save_record(manifest)
    return manifest


def write_manifest(config: TuneConfig, folder: Path, result: dict) -> dict:
    from openpick import __version__
    from openpick.catalog.catalog import write_atomic
    from openpick.store.db import now

    base = config.base
    if result["kind"] == "adapter":
        adapter = folder / "adapter" / "adapter_model.safetensors"
        model = {"engine": "transformers", "target": str(base.path()), "embedded": base.embedded,
                 "options": {"adapter": "adapter", "adapter_sha256": file_sha256(adapter)}}
    else:
        model = {"engine": "transformers", "target": "model", "options": {}}
    manifest = {
        "format": FORMAT, "name": config.name, "created_at": now(),
        "openpick_version": __version__, "record_id": f"{RECORD_ORG}/{config.name}",
        "fingerprint": config.fingerprint(), "base": base.model_dump(),
        "method": config.method, "config": config.model_dump(mode="json"),
        "data": {"train": {"path": config.data, "sha256": config.data_sha256},
                 "eval": ({"path": config.eval_data, "sha256": config.eval_data_sha256}
                          if config.eval_data else {"held_out_share": config.eval_share}),
                 "train_rows": result["train_rows"], "eval_rows": result["eval_rows"]},
        "result": {k: result.get(k) for k in ("steps", "resumed_from", "train_seconds", "tokens",
                                              "tokens_per_s", "final_eval_loss", "device")},
        "loss_curve": result["curve"], "model": model,
    }
    write_atomic(folder / MANIFEST, json.dumps(manifest, indent=2))
    return manifest
