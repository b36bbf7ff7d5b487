"""Checkpoints: everything a killed training needs to go on as if it had never stopped.

A checkpoint is a folder `step-NNNNNN/` holding the trainable weights (safetensors), the
optimizer and scheduler state, the RNG state (torch's CPU generator, and CUDA's when used)
and `state.json` (step, loss curve, the job's fingerprint). It is written into a temporary
folder, flushed, then renamed into place: a rename is atomic, so a folder named `step-*`
is always complete, and `kill -9` at any moment leaves the previous one intact. The data
order needs no state of its own: epoch e visits rows in a permutation seeded by (seed, e),
so the step number says where in the data the run is.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

KEEP = 2  # the newest checkpoints kept; older ones are removed after each save


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(folder: Path, step: int, *, weights: dict, optimizer: dict, scheduler: dict,
         state: dict) -> Path:
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:06d}"
    tmp = folder / f".tmp-step-{step:06d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().contiguous().cpu() for k, v in weights.items()},
              str(tmp / "weights.safetensors"))
    torch.save(optimizer, tmp / "optimizer.pt")
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({**state, "step": step, "scheduler": scheduler}),
                                    encoding="utf-8")
    for f in tmp.iterdir():
        _fsync(f)
    if final.exists():  # the same step saved again (a resumed run stopped at once)
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync(folder)
    prune(folder)
    return final


def prune(folder: Path) -> None:
    for old in checkpoints(folder)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in folder.glob(".tmp-step-*"):  # left by a kill during a save
        shutil.rmtree(stale, ignore_errors=True)


def checkpoints(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step-"))


def latest(folder: Path) -> Path | None:
    found = checkpoints(folder)
    return found[-1] if found else None


def load(path: Path) -> dict:
    """{"weights", "optimizer", "rng", "state"} of one checkpoint folder."""
    import torch
    from safetensors.torch import load_file

    return {"weights": load_file(str(path / "weights.safetensors")),
            "optimizer": torch.load(path / "optimizer.pt", weights_only=True),
            "rng": torch.load(path / "rng.pt", weights_only=True),
            "state": json.loads((path / "state.json").read_text(encoding="utf-8"))}


def restore_rng(rng: dict) -> None:
    import torch

    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
