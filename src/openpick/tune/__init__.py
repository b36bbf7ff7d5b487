"""Fine-tune an open model on your own data and measure it against its base.

    from openpick.tune import make_config, tune, measure
    config = make_config("smollm2-135m", "train.jsonl", "my-router", max_steps=200)
    manifest = tune(config)                 # trains in a worker process; resumable
    print(measure(manifest, "suite.yaml").verdict())

The tuned model is then a local model named `my-router` in every command (engines/spec.py
reads its manifest), and a catalog record `local/my-router` under its base.
"""

from openpick.tune.config import TuneConfig, list_tuned, read_manifest, tuned_dir
from openpick.tune.job import make_config, resolve_base, tune
from openpick.tune.measure import measure

__all__ = ["TuneConfig", "list_tuned", "make_config", "measure", "read_manifest",
           "resolve_base", "tune", "tuned_dir"]
