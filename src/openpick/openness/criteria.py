"""The five openness criteria of the course text, each met / partial / not met with evidence.

Derivation rule (from the record's MOF components, then its Open Source AI Index grades):

1. Each criterion names the MOF components that would satisfy it:

   ============================  ===========================================================
   training data                 Datasets (partial: only a Data card)
   full model weights            Model parameters (Final)
   evaluation code               Evaluation code
   fine-tuning code              Training code (partial: only Data preprocessing code)
   training metrics /            Model parameters (Intermediate)
   intermediate weights          (partial: only Model metadata, i.e. configs/optimizer states)
   ============================  ===========================================================

2. A main component that is published under an open license (the MOF's test, with its
   license fallbacks) makes the criterion **met**; published but unlicensed or under a
   non-open license makes it **partial** (you can see it, not freely reuse it); a
   "partial" component above, when the main one is absent, also gives **partial**.
3. Index grades can only raise the result: open → met, partial → partial
   (datasources_* for training data, weights_* for weights, trainingcode for
   fine-tuning code). The evidence link is the component's link, else the grade's link.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from openpick.catalog.schema import ModelRecord
from openpick.openness.mof import ComponentStatus, component_statuses

Result = Literal["met", "partial", "not_met"]
_RANK = {"not_met": 0, "partial": 1, "met": 2}

# key, title, main component, partial-only component, index parameters
CRITERIA: list[tuple[str, str, str, str | None, tuple[str, ...]]] = [
    ("training_data", "Training data", "Datasets", "Data card", ("datasources_basemodel", "datasources_endmodel")),
    ("model_weights", "Full model weights", "Model parameters (Final)", None, ("weights_basemodel", "weights_endmodel")),
    ("evaluation_code", "Evaluation code", "Evaluation code", None, ()),
    ("finetuning_code", "Fine-tuning code", "Training code", "Data preprocessing code", ("trainingcode",)),
    (
        "training_metrics",
        "Training metrics / intermediate weights",
        "Model parameters (Intermediate)",
        "Model metadata",
        (),
    ),
]


class Criterion(BaseModel):
    key: str
    title: str
    result: Result
    evidence: str | None = None
    reason: str


def _from_component(main: ComponentStatus, partial: ComponentStatus | None) -> tuple[Result, str, str | None]:
    if main.status == "included":
        return "met", f"{main.name} published under an open license ({main.license})", main.link
    if main.present:
        lic = main.license or "no license"
        return "partial", f"{main.name} published, but under {lic}, which is not open", main.link
    if partial is not None and partial.present:
        return "partial", f"only the {partial.name} is published, not the {main.name}", partial.link
    return "not_met", f"{main.name} not published", None


def assess_criteria(record: ModelRecord) -> list[Criterion]:
    statuses = component_statuses(record)
    out: list[Criterion] = []
    for key, title, main, partial, params in CRITERIA:
        result, reason, evidence = _from_component(statuses[main], statuses[partial] if partial else None)
        for param in params:
            grade = record.osai.get(param)
            if grade is None:
                continue
            graded: Result = {"open": "met", "partial": "partial", "closed": "not_met"}[grade.grade]
            if _RANK[graded] > _RANK[result]:
                result = graded
                reason = f"Open Source AI Index grades {param} as {grade.grade}"
                evidence = grade.link or evidence
        out.append(Criterion(key=key, title=title, result=result, evidence=evidence, reason=reason))
    return out
