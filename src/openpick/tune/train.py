"""The training loop (run inside the tune worker process, tune/worker.py).

A plain PyTorch loop over transformers + peft rather than a Trainer: it is short, and it
gives exact control over what a checkpoint holds and in which order random numbers are
drawn, which is what makes a resumed run equal to one that never stopped, and the same
command give the same adapter bytes (CPU, `torch.use_deterministic_algorithms`).

- Model: AutoModelForCausalLM in float32 (a GGUF base through `gguf_file=`, dequantized);
  LoRA through peft (`all-linear` by default), or every weight for a full fine-tune.
- Batches: rows padded on the right; the loss is the mean cross-entropy over the assistant
  tokens of the batch. Only those positions go through the output layer (for a 135M model
  with a 49k vocabulary that layer is a fifth of the work at every position).
- AdamW, a linear warmup then linear decay, gradients clipped at norm 1.
- Data order: epoch e is a permutation seeded by (seed, e); step s is batch s mod
  steps-per-epoch of epoch s div steps-per-epoch.
"""

from __future__ import annotations

import io
import math
import random
import threading
import time
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

from openpick.errors import InvalidInput, missing_extra
from openpick.tune import checkpoint
from openpick.tune.config import TuneConfig
from openpick.tune.dataset import Example, file_sha256, load_examples, split
from openpick.tune.encode import Encoded, Encoder, encode_all

Emit = Callable[[dict], None]


def examples_for(job: TuneConfig) -> tuple[list[Example], list[Example], bool]:
    """(train, eval, held_out): the job's rows, with the eval rows split off when no eval
    file was given."""
    rows = load_examples(job.data)
    if job.eval_data:
        return rows, load_examples(job.eval_data), False
    train, held = split(rows, job.eval_share, job.seed)
    return train, held, True


def load_base(job: TuneConfig, device: str):
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise missing_extra("transformers and torch", "tune") from None
    hf_logging.disable_progress_bar()
    kw = {"gguf_file": job.base.gguf_file} if job.base.gguf_file else {"use_safetensors": True}
    with redirect_stderr(io.StringIO()):  # GGUF dequantizing draws a raw tqdm bar
        tok = AutoTokenizer.from_pretrained(job.base.folder, **kw)
        model = AutoModelForCausalLM.from_pretrained(job.base.folder, dtype=torch.float32, **kw)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model.to(device), tok


def wrap_lora(model, job: TuneConfig):
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise missing_extra("peft", "tune") from None
    targets = job.target_modules
    cfg = LoraConfig(r=job.rank, lora_alpha=job.alpha, lora_dropout=job.dropout,
                     target_modules=targets[0] if targets == ["all-linear"] else targets,
                     task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, cfg)
    except ValueError as e:  # a target module name the model does not have
        raise InvalidInput(f"--target-modules: {str(e).splitlines()[0][:200]}") from e


class Trainer:
    def __init__(self, job: TuneConfig, folder: Path, emit: Emit, stop: threading.Event):
        self.job, self.folder, self.emit, self.stop = job, folder, emit, stop
        self.ckpt_dir = folder / "checkpoints"

    # -- setup ------------------------------------------------------------------------------
    def _setup(self) -> None:
        import torch

        job = self.job
        if job.threads:
            torch.set_num_threads(job.threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.manual_seed(job.seed)
        random.seed(job.seed)
        self.device = job.device if job.device != "auto" else (
            "cuda" if torch.cuda.is_available() else "cpu")
        if file_sha256(Path(job.data)) != job.data_sha256:
            raise InvalidInput("the data file changed since the job started; rerun the "
                               "command", path=job.data)
        train, held, self.held_out = examples_for(job)
        self.model, self.tok = load_base(job, self.device)
        encoder = Encoder(self.tok, job.seq_len)
        self.train = encode_all(encoder, train, "training")
        self.eval = encode_all(encoder, held, "eval")
        self.truncated = sum(e.truncated for e in self.train + self.eval)
        if job.method == "lora":
            self.model = wrap_lora(self.model, job)
        self.params = {n: p for n, p in self.model.named_parameters() if p.requires_grad}
        self.optimizer = torch.optim.AdamW(list(self.params.values()), lr=job.learning_rate(),
                                           weight_decay=0.0)
        self.steps_per_epoch = math.ceil(len(self.train) / job.batch_size)
        self.total = job.max_steps or max(1, math.ceil(job.epochs * self.steps_per_epoch))
        warmup = int(self.total * job.warmup_share)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup
            else max(0.0, (self.total - s) / max(1, self.total - warmup)))
        self.inner = self.model.get_base_model() if job.method == "lora" else self.model

    def _resume(self) -> int:
        """Load the newest checkpoint of this same job; the step to start from."""
        path = checkpoint.latest(self.ckpt_dir)
        self.curve: list[dict] = []
        if path is None:
            return 0
        ck = checkpoint.load(path)
        if ck["state"].get("fingerprint") != self.job.fingerprint():
            raise InvalidInput(f"{path} belongs to a different training; rerun with --restart "
                               "to discard it")
        with _no_grad():
            for name, value in ck["weights"].items():
                self.params[name].copy_(value)
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["state"]["scheduler"])
        self.curve = ck["state"]["curve"]
        checkpoint.restore_rng(ck["rng"])
        return int(ck["state"]["step"])

    # -- batches ----------------------------------------------------------------------------
    def _rows(self, step: int) -> list[Encoded]:
        epoch, index = divmod(step, self.steps_per_epoch)
        order = list(range(len(self.train)))
        random.Random(self.job.seed * 1_000_003 + epoch).shuffle(order)
        bs = self.job.batch_size
        return [self.train[i] for i in order[index * bs:(index + 1) * bs]]

    def _tensors(self, rows: list[Encoded]):
        import torch

        width = max(len(r.ids) for r in rows)
        pad = self.tok.pad_token_id
        ids = torch.tensor([r.ids + [pad] * (width - len(r.ids)) for r in rows])
        mask = torch.tensor([[1] * len(r.ids) + [0] * (width - len(r.ids)) for r in rows])
        train = torch.tensor([r.train + [False] * (width - len(r.ids)) for r in rows])
        return ids.to(self.device), mask.to(self.device), train.to(self.device)

    def _loss_sum(self, rows: list[Encoded]):
        """(summed cross-entropy over target tokens, target count, tokens processed)."""
        import torch.nn.functional as F

        ids, mask, train = self._tensors(rows)
        target = train[:, 1:]  # position t predicts token t + 1
        cfg = self.inner.config
        if getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "logit_scale", None):
            logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1][target]
        else:
            hidden = self.inner.get_decoder()(input_ids=ids, attention_mask=mask)[0]
            logits = self.inner.get_output_embeddings()(hidden[:, :-1][target])
        loss = F.cross_entropy(logits.float(), ids[:, 1:][target], reduction="sum")
        return loss, int(target.sum()), int(mask.sum())

    def _eval_loss(self) -> float | None:
        if not self.eval:
            return None
        import torch

        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(self.eval), self.job.batch_size):
                loss, n, _ = self._loss_sum(self.eval[i:i + self.job.batch_size])
                total, count = total + float(loss), count + n
        self.model.train()
        return total / max(1, count)

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> dict:
        import torch

        self._setup()
        start = self._resume()
        job = self.job
        self.emit({"event": "start", "step": start, "total_steps": self.total,
                   "resumed": start > 0, "train_rows": len(self.train),
                   "eval_rows": len(self.eval), "held_out": self.held_out,
                   "truncated_rows": self.truncated, "device": self.device,
                   "threads": torch.get_num_threads(),
                   "trainable_params": sum(p.numel() for p in self.params.values())})
        self.model.train()
        t0, tokens = time.perf_counter(), 0
        step = start
        while step < self.total:
            loss, n, seen = self._loss_sum(self._rows(step))
            (loss / max(1, n)).backward()
            torch.nn.utils.clip_grad_norm_(list(self.params.values()), 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens += seen
            point = {"step": step, "loss": loss.item() / max(1, n),
                     "lr": self.scheduler.get_last_lr()[0]}
            if step % job.eval_every == 0 or step == self.total:
                point["eval_loss"] = self._eval_loss()
            self.curve.append(point)
            elapsed = time.perf_counter() - t0
            self.emit({"event": "step", **point, "total_steps": self.total,
                       "tokens_per_s": tokens / elapsed, "step_s": elapsed / (step - start)})
            stopping = self.stop.is_set()
            if step % job.checkpoint_every == 0 or (stopping and step < self.total):
                self._checkpoint(step)
            if stopping and step < self.total:
                self.emit({"event": "stopped", "step": step})
                return {"stopped": True, "step": step}
        return self._finish(step, time.perf_counter() - t0, tokens, start)

    def _checkpoint(self, step: int) -> None:
        path = checkpoint.save(self.ckpt_dir, step, weights=self.params,
                               optimizer=self.optimizer.state_dict(),
                               scheduler=self.scheduler.state_dict(),
                               state={"fingerprint": self.job.fingerprint(), "curve": self.curve})
        self.emit({"event": "checkpoint", "step": step, "path": str(path)})

    def _finish(self, step: int, seconds: float, tokens: int, start: int) -> dict:
        """Save the adapter (or the whole model) atomically; the parent writes the manifest."""
        import shutil

        kind = "adapter" if self.job.method == "lora" else "model"
        final, tmp = self.folder / kind, self.folder / f".tmp-{kind}"
        shutil.rmtree(tmp, ignore_errors=True)
        self.model.save_pretrained(str(tmp), safe_serialization=True)
        if kind == "model":
            self.tok.save_pretrained(str(tmp))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        result = {"event": "done", "steps": step, "resumed_from": start, "kind": kind,
                  "path": str(final), "curve": self.curve, "train_seconds": seconds,
                  "tokens": tokens, "tokens_per_s": tokens / seconds if tokens else None,
                  "train_rows": len(self.train), "eval_rows": len(self.eval),
                  "held_out": self.held_out, "device": self.device,
                  "final_eval_loss": self.curve[-1].get("eval_loss") if self.curve else None}
        self.emit(result)
        return result


def _no_grad():
    import torch

    return torch.no_grad()
