"""`openpick tune BASE --data train.jsonl --name NAME [--suite SUITE]`: fine-tune, register,
and (with --suite) measure the tuned model against its base.

Progress (loss, eval loss, tokens/s, ETA) goes to stderr; `--json` prints one JSON event a
line on stdout instead, ending with the manifest (and the verdict). Ctrl-C saves a
checkpoint and stops; rerunning the same command resumes.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from openpick.cli.main import app
from openpick.cli.output import err_console
from openpick.errors import InvalidInput


class TrainProgress:
    """A bar over steps with the latest loss, eval loss and speed (stderr)."""

    def __init__(self):
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                            TextColumn("eta"), TimeRemainingColumn(), console=err_console)
        self.task = None
        self.eval_loss = None

    def __call__(self, ev: dict) -> None:
        kind = ev.get("event")
        if kind == "start":
            note = "resumed from step %d" % ev["step"] if ev["resumed"] else "from scratch"
            held = " (held out from --data: no --eval-data given)" if ev["held_out"] else ""
            err_console.print(f"training on {ev['train_rows']} rows, eval loss on "
                              f"{ev['eval_rows']}{held}; {ev['trainable_params']:,} trainable "
                              f"parameters on {ev['device']} ({ev['threads']} threads), {note}")
            if ev.get("truncated_rows"):
                err_console.print(f"[yellow]{ev['truncated_rows']} rows cut to --seq-len[/]")
            self.bar.start()
            self.task = self.bar.add_task("tune", total=ev["total_steps"], completed=ev["step"],
                                          info="")
        elif kind == "step" and self.task is not None:
            if ev.get("eval_loss") is not None:
                self.eval_loss = ev["eval_loss"]
            ev_text = f" · eval {self.eval_loss:.3f}" if self.eval_loss is not None else ""
            self.bar.update(self.task, completed=ev["step"],
                            info=f"loss {ev['loss']:.3f}{ev_text} · {ev['tokens_per_s']:.0f} tok/s")
        elif kind in ("done", "stopped", "error"):
            self.bar.stop()
        elif kind == "already_done":
            err_console.print(f"{ev['name']} is already trained by this same command; "
                              "using it (--force retrains)")

    def close(self) -> None:
        self.bar.stop()


def _json_event(ev: dict) -> None:
    if ev.get("event") == "done":
        ev = {k: v for k, v in ev.items() if k != "curve"}  # the manifest carries it
    sys.stdout.write(json.dumps(ev, default=str) + "\n")
    sys.stdout.flush()


@app.command("tune")
def tune_cmd(
    base: str = typer.Argument(..., help="base model: an HF folder, a .gguf file, or an "
                               "embedded name (smollm2-135m)"),
    data: str | None = typer.Option(None, "--data", "-d", help="training rows: JSONL or CSV "
                                    "(messages, or prompt/completion)"),
    name: str | None = typer.Option(None, "--name", "-n", help="name of the tuned model"),
    eval_data: str | None = typer.Option(None, "--eval-data", help="eval rows (default: a "
                                         "seeded share of --data is held out)"),
    example: str | None = typer.Option(None, "--example", help="a bundled example: its data, "
                                       "suite, name and settings (see README)"),
    suite: str | None = typer.Option(None, "--suite", "-s", help="then compare base and tuned "
                                     "model on this suite (and refuse rows it contains)"),
    method: str = typer.Option("lora", "--method", help="lora or full"),
    rank: int | None = typer.Option(None, "--rank", min=1, help="LoRA rank [16]"),
    alpha: float | None = typer.Option(None, "--alpha", help="LoRA alpha [32]"),
    target_modules: str | None = typer.Option(None, "--target-modules", help="comma-separated "
                                              "module names [all-linear]"),
    lr: float | None = typer.Option(None, "--lr", help="learning rate [1e-3 LoRA, 5e-5 full]"),
    epochs: float | None = typer.Option(None, "--epochs", help="passes over the data [3]"),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="stop after N steps"),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="rows a step [8]"),
    seq_len: int | None = typer.Option(None, "--seq-len", min=8, help="tokens a row [256]"),
    seed: int | None = typer.Option(None, "--seed", help="seed of init, split and order [0]"),
    checkpoint_every: int | None = typer.Option(None, "--checkpoint-every", min=1,
                                                help="steps between checkpoints [25]"),
    eval_every: int | None = typer.Option(None, "--eval-every", min=1, help="steps between "
                                          "eval losses [50]"),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch CPU threads"),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda"),
    force: bool = typer.Option(False, "--force", help="replace a tuned model of this name"),
    restart: bool = typer.Option(False, "--restart", help="discard checkpoints; start over"),
    export: str | None = typer.Option(None, "--export", help="gguf: also merge the adapter "
                                      "and write a GGUF for llama-cpp, model NAME-gguf"),
    export_quant: str = typer.Option("f16", "--export-quant", help="f16 or q8_0"),
    as_json: bool = typer.Option(False, "--json", help="JSON events on stdout"),
) -> None:
    """Fine-tune BASE on your data (LoRA by default); the result is a local model NAME."""
    from openpick.evals.suite import load_suite
    from openpick.tune import examples, make_config, measure, tune
    from openpick.tune.job import check_data

    if export is not None and export != "gguf":
        raise InvalidInput(f"--export {export!r}: the one export format is gguf")
    if export_quant not in ("f16", "q8_0"):
        raise InvalidInput(f"--export-quant {export_quant!r}: use f16 or q8_0")
    preset = examples.load(example) if example else {}
    data = data or preset.get("data")
    name = name or preset.get("name")
    suite = suite or preset.get("suite")
    if not data or not name:
        raise InvalidInput("give --data FILE and --name NAME (or --example NAME)")
    settings = {**preset.get("settings", {}), **{k: v for k, v in dict(
        method=method if method != "lora" else None, rank=rank, alpha=alpha, lr=lr,
        epochs=epochs, max_steps=max_steps, batch_size=batch_size, seq_len=seq_len, seed=seed,
        checkpoint_every=checkpoint_every, eval_every=eval_every, threads=threads,
        device=device,
        target_modules=[t.strip() for t in target_modules.split(",") if t.strip()]
        if target_modules else None).items() if v is not None}}
    if method not in ("lora", "full"):
        raise InvalidInput(f"--method {method!r}: use lora or full")
    config = make_config(base, data, name, eval_data=eval_data, **settings)
    loaded = load_suite(suite) if suite else None
    counts = check_data(config, loaded)
    if counts["held_out"] and not as_json:
        err_console.print(f"no --eval-data: holding out {counts['eval_rows']} of "
                          f"{counts['train_rows'] + counts['eval_rows']} rows (seed "
                          f"{config.seed}) for the eval loss")
    show = _json_event if as_json else TrainProgress()
    try:
        manifest = tune(config, on_event=show, force=force, restart=restart)
    finally:
        if isinstance(show, TrainProgress):
            show.close()
    if not as_json:
        r = manifest["result"]
        err_console.print(f"saved {name}: {r['steps']} steps, eval loss "
                          f"{_num(r['final_eval_loss'])}, {_num(r['tokens_per_s'], '.0f')} "
                          f"tok/s; use it as `-m {name}`")
    exported = None
    if export:
        from openpick.tune.export import export_gguf

        exported = export_gguf(name, export_quant)
        if not as_json:
            err_console.print(f"exported {exported['name']} ({export_quant} GGUF, llama-cpp "
                              f"engine); use it as `-m {exported['name']}`")
    verdict = None
    if loaded is not None:
        from openpick.cli.compare import RichProgress, print_report

        measured = measure(manifest, loaded, progress=None if as_json else RichProgress())
        verdict = measured.to_dict()
        if not as_json:
            from openpick.store.runs import RunStore

            store = RunStore()
            print_report(store.get(measured.run_id), store.results(measured.run_id))
            err_console.print(measured.verdict())
    if as_json:  # one JSON object a line, like the events before it
        _json_event({"event": "result", "manifest": manifest, "measured": verdict,
                     "exported": exported})


def _num(x, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)
