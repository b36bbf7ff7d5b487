"""Checkpoints: complete or absent (temp folder + rename), the newest kept, state restored."""

from __future__ import annotations

import torch

from openpick.tune import checkpoint


def _save(folder, step, value):
    w = {"lora.weight": torch.full((2, 3), float(value))}
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=0.1).state_dict()
    return checkpoint.save(folder, step, weights=w, optimizer=opt,
                           scheduler={"last_epoch": step}, state={"fingerprint": "f",
                                                                  "curve": [{"step": step}]})


def test_save_load_roundtrip_restores_rng(tmp_path):
    torch.manual_seed(3)
    path = _save(tmp_path, 7, 1.5)
    expected = torch.rand(4)  # what comes next after the save
    torch.rand(100)           # move the generator on
    ck = checkpoint.load(path)
    checkpoint.restore_rng(ck["rng"])
    assert torch.equal(torch.rand(4), expected)
    assert torch.equal(ck["weights"]["lora.weight"], torch.full((2, 3), 1.5))
    assert ck["state"]["step"] == 7 and ck["state"]["scheduler"] == {"last_epoch": 7}
    assert ck["state"]["curve"] == [{"step": 7}]


def test_only_complete_folders_count_and_old_ones_are_pruned(tmp_path):
    for step in (1, 2, 3):
        _save(tmp_path, step, step)
    (tmp_path / ".tmp-step-000004-99").mkdir()  # a save killed half-way
    assert checkpoint.latest(tmp_path).name == "step-000003"
    _save(tmp_path, 4, 4)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["step-000003", "step-000004"]  # KEEP = 2, no temp folder left
