"""Tune, then measure: the tuned model and its base on a suite, with compare's paired test.

The base runs through the same engine as the tuned model (transformers, on the same
dequantized weights), so the adapter is the only difference between the two columns; an
embedded base through llama.cpp would add its quantized kernels to the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpick.evals.runner import Progress, RunOptions, compare
from openpick.evals.summary import Pairwise, group_results, paired


def base_spec(manifest: dict) -> str:
    base = manifest["base"]
    path = f"{base['folder']}/{base['gguf_file']}" if base.get("gguf_file") else base["folder"]
    return f"transformers:{path}"


@dataclass
class Measured:
    run_id: str
    base: str
    tuned: str
    base_passed: int
    tuned_passed: int
    n: int
    pair: Pairwise | None

    def verdict(self) -> str:
        p = self.pair
        if p is None:
            return "no case was answered by both models"
        where = (f"{self.tuned}: {self.tuned_passed}/{self.n} passed, its base "
                 f"{self.base_passed}/{self.n}; {p.b_only} cases only {self.tuned} passes, "
                 f"{p.a_only} only the base ({p.test}, p = {p.p:.3g})")
        if p.better == self.tuned:
            return f"{self.tuned} is better than its base on this suite. {where}"
        if p.better is not None:
            return f"{self.tuned} is worse than its base on this suite. {where}"
        return f"no significant difference from its base on this suite. {where}"

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "base": self.base, "tuned": self.tuned,
                "base_passed": self.base_passed, "tuned_passed": self.tuned_passed,
                "n": self.n, "pairwise": self.pair.model_dump() if self.pair else None,
                "verdict": self.verdict()}


def measure(manifest: dict, suite, *, progress: Progress | None = None,
            options: RunOptions | None = None) -> Measured:
    """Run base and tuned model on `suite` (a Suite, path or bundled name) and pair them."""
    base, tuned = base_spec(manifest), manifest["name"]
    run, results = compare(suite, [base, tuned], options or RunOptions(), progress=progress)
    groups = group_results(results)
    variant = next((v for (m, v) in groups if m == tuned), "")
    a, b = groups.get((base, variant), {}), groups.get((tuned, variant), {})
    pair = paired(base, tuned, a, b)

    def passed(cases) -> int:
        return sum(1 for rs in cases.values() if all(r.passed for r in rs))
    return Measured(run.id, base, tuned, passed(a), passed(b), len(set(a) & set(b)), pair)
