"""The Model Openness Framework class of a release, computed as the Model Openness Tool does.

Where the rules come from (lfai/model_openness_tool, web/modules/mof/):

* `config/install/mof.settings.yml`: the 17 components, their content type, class and
  whether they are required (bundled as openpick/catalog/data/mof/mof.settings.yml and
  read by openpick.catalog.importers.mof, which also needs them to read release files).
* `src/ModelEvaluator.php`, `evaluate()` / `evaluateComponents()`: for each class from III
  down to I, the required components of that class and every class above it are checked;
  a component not listed in the release is *missing*; a listed one gets its license from
  `resolveLicense()` (the component's own license; else the release license for its
  content type; else the distribution license; else none). A license that is open counts
  the component as *included* (and, if the license is not listed for the component's
  content type, the component is remembered as "not type-appropriate", a warning only);
  otherwise it is *unlicensed* when no license resolved, *invalid* when one did.
  Optional components are checked the same way but only count as "optional".
* `ModelEvaluator.php`, `handleTechnicalReportOmission()`: when the technical report is
  not included in class III but the research paper has a status in class I, the
  technical report is dropped from every "missing" list and the research paper is added
  to classes II and III with its class-I status.
* `ModelEvaluator.php`, `getProgress()`: walking from class III down to the asked class,
  the number of included components is compared with the running total of required
  components; if a class above the asked one falls short, progress is 0. Otherwise
  progress = included / total × 100, where for class I the total is one less when the
  research paper is included and the technical report is not; capped at 100.
  `getClassification()` keeps the lowest class whose progress is exactly 100; badges show
  `round(progress)` (PHP rounding: halves away from zero).
* `src/LicenseHandler.php`, `isOpenSourceLicense()` / `isOpenData()` /
  `isTypeAppropriate()`: see openpick.catalog.licenses (the one license table).
* `src/ModelUpdater.php`, `processComponentLicenses()`: a component listed in a release
  file is present; its `license` is kept exactly as written (no trimming: "MIT " is not
  open for the tool); "unlicensed" is stored as an empty license, which
  `resolveLicense()` turns into "no license" without falling back to the release ones.
* `ModelEvaluator.php`, `resolveLicense()`: the fallbacks test with PHP's `?:` and
  `empty()`, so "" and "0" count as no license at every level (`php_empty`).

This module is our own implementation of those rules over a `ModelRecord`.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from openpick.catalog.importers.mof import MofComponent, by_name, components
from openpick.catalog.schema import ModelRecord
from openpick.catalog import licenses

__all__ = ["MofComponent", "MofResult", "by_name", "components", "evaluate", "resolve_license"]

Status = Literal["included", "missing", "invalid", "unlicensed"]
CLASS_LABELS = {
    0: "Unclassified",
    1: "Class I - Open Science Model",
    2: "Class II - Open Tooling Model",
    3: "Class III - Open Model",
}
TECHNICAL_REPORT = "Technical report"
RESEARCH_PAPER = "Research paper"


def component_names() -> list[str]:
    return [c.name for c in components()]


def required_for(mof_class: int) -> list[MofComponent]:
    """Required components of exactly this class (not cumulative)."""
    return [c for c in components() if c.mof_class == mof_class and c.required]


def optional_for(mof_class: int) -> list[MofComponent]:
    return [c for c in components() if c.mof_class == mof_class and not c.required]


class ComponentStatus(BaseModel):
    name: str
    content_type: str
    mof_class: int
    required: bool
    present: bool
    license: str | None = Field(default=None, description="resolved license; None when none resolved")
    license_source: str | None = Field(default=None, description="component | release:<type> | distribution")
    status: Status
    type_appropriate: bool | None = None
    link: str | None = None


class ClassEvaluation(BaseModel):
    mof_class: int
    label: str
    progress: float
    progress_rounded: int
    met: bool
    included: list[str]
    missing: list[str]
    invalid: list[str]
    unlicensed: list[str]
    optional_included: list[str]


class LiftStep(BaseModel):
    component: str
    action: Literal["add", "relicense", "license"]
    current_license: str | None = None
    alternative: str | None = None
    text: str


class MofResult(BaseModel):
    mof_class: int = Field(ge=0, le=3)
    class_label: str
    progress: dict[str, float] = Field(description="class ('1','2','3') → percent")
    progress_rounded: dict[str, int]
    classes: dict[str, ClassEvaluation]
    components: list[ComponentStatus]
    not_type_appropriate: list[str]
    warnings: list[str]
    research_paper_stands_in: bool
    next_class: int | None
    to_next_class: list[LiftStep]


def php_round(x: float) -> int:
    """PHP's round(): halves go away from zero (Python's round() goes to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def resolve_license(record: ModelRecord, comp: MofComponent) -> tuple[str | None, str | None]:
    """(license, where it came from), following the tool's resolveLicense()."""
    own = record.components.get(comp.name)
    if own is not None and own.license is not None:
        # A stated license wins, even when it is empty (then: unlicensed, no fallback).
        return (None if licenses.php_empty(own.license) else own.license), "component"
    typed = getattr(record.release_licenses, comp.content_type, None)
    if not licenses.php_empty(typed):
        return typed, f"release:{comp.content_type}"
    if not licenses.php_empty(record.release_licenses.distribution):
        return record.release_licenses.distribution, "distribution"
    return None, None


def _is_present(record: ModelRecord, comp: MofComponent) -> bool:
    c = record.components.get(comp.name)
    return c is not None and c.present


def component_statuses(record: ModelRecord) -> dict[str, ComponentStatus]:
    """Each of the 17 components: present?, resolved license, included/missing/..."""
    out: dict[str, ComponentStatus] = {}
    for comp in components():
        present = _is_present(record, comp)
        own = record.components.get(comp.name)
        link = own.link if own else None
        if not present:
            out[comp.name] = ComponentStatus(
                name=comp.name, content_type=comp.content_type, mof_class=comp.mof_class,
                required=comp.required, present=False, status="missing", link=link,
            )
            continue
        lic, source = resolve_license(record, comp)
        status: Status = licenses.mot_status(lic)
        appropriate = licenses.is_type_appropriate(lic, comp.content_type) if status == "included" else None
        out[comp.name] = ComponentStatus(
            name=comp.name, content_type=comp.content_type, mof_class=comp.mof_class,
            required=comp.required, present=True, license=lic, license_source=source,
            status=status, type_appropriate=appropriate, link=link,
        )
    return out


def _evaluate_lists(statuses: dict[str, ComponentStatus]) -> tuple[dict[int, dict[str, list[str]]], bool]:
    """Per class (3, 2, 1): included / missing / invalid / unlicensed / optional, cumulative."""
    evaluation: dict[int, dict[str, list[str]]] = {}
    required: list[MofComponent] = []
    optional: list[MofComponent] = []
    for cls in (3, 2, 1):
        required += required_for(cls)
        optional += optional_for(cls)
        lists: dict[str, list[str]] = {k: [] for k in ("included", "missing", "invalid", "unlicensed", "optional")}
        for comp in required:
            st = statuses[comp.name]
            lists[st.status].append(comp.name)
        for comp in optional:
            st = statuses[comp.name]
            if st.status == "missing":
                continue
            lists["optional" if st.status == "included" else st.status].append(comp.name)
        evaluation[cls] = lists
    stands_in = _technical_report_omission(evaluation)
    return evaluation, stands_in


def _status_in(lists: dict[str, list[str]], name: str) -> str | None:
    for key in ("included", "invalid", "unlicensed"):
        if name in lists[key]:
            return key
    return None


def _technical_report_omission(evaluation: dict[int, dict[str, list[str]]]) -> bool:
    """A research paper may stand in for the technical report (tool's rule, see module doc)."""
    if TECHNICAL_REPORT in evaluation[3]["included"]:
        return False
    paper = _status_in(evaluation[1], RESEARCH_PAPER)
    if paper is None:
        return False
    for cls in (1, 2, 3):
        if TECHNICAL_REPORT in evaluation[cls]["missing"]:
            evaluation[cls]["missing"].remove(TECHNICAL_REPORT)
    for cls in (2, 3):
        evaluation[cls][paper].append(RESEARCH_PAPER)
    return paper == "included"


def _progress(evaluation: dict[int, dict[str, list[str]]], cls: int) -> float:
    total = 0
    included = 0
    i = 3
    while i >= cls:
        total += len(required_for(i))
        included = len(evaluation[i]["included"])
        if included < total:
            break
        i -= 1
    if i > cls:  # a class above this one is not met
        return 0.0
    if (
        cls == 1
        and _status_in(evaluation[1], TECHNICAL_REPORT) != "included"
        and _status_in(evaluation[1], RESEARCH_PAPER) == "included"
    ):
        total -= 1
    return min(included / total * 100, 100.0)


def _lift_steps(target: int, evaluation, statuses: dict[str, ComponentStatus]) -> list[LiftStep]:
    """What must change for `target` to be met: every required component not included."""
    paper_ok = _status_in(evaluation[1], RESEARCH_PAPER) == "included"
    steps: list[LiftStep] = []
    for cls in (3, 2, 1):
        if cls < target:
            break
        for comp in required_for(cls):
            st = statuses[comp.name]
            if st.status == "included":
                continue
            if comp.name == TECHNICAL_REPORT and (paper_ok or target == 1):
                continue  # the research paper stands (or, for class I, will stand) in for it
            alternative = None
            if comp.name == TECHNICAL_REPORT:
                paper = statuses[RESEARCH_PAPER]
                alternative = (
                    f"or relicense the Research paper ({paper.license or 'unlicensed'}) under an open license"
                    if paper.present
                    else "or publish a Research paper under an open license"
                )
            steps.append(_step(st, alternative))
    return steps


def _step(st: ComponentStatus, alternative: str | None) -> LiftStep:
    kind = {"document": "an open documentation", "data": "an open data", "code": "an open source"}[st.content_type]
    if st.status == "missing":
        action, text = "add", f"publish the {st.name} under {kind} license"
    elif st.status == "unlicensed":
        action, text = "license", f"put the published {st.name} under {kind} license (it has none)"
    else:
        action, text = "relicense", f"relicense the {st.name} from {st.license} to {kind} license"
    if alternative:
        text += f" ({alternative})"
    return LiftStep(component=st.name, action=action, current_license=st.license, alternative=alternative, text=text)


def evaluate(record: ModelRecord) -> MofResult:
    statuses = component_statuses(record)
    evaluation, stands_in = _evaluate_lists(statuses)
    progress = {cls: _progress(evaluation, cls) for cls in (3, 2, 1)}
    mof_class = 0
    for cls in (3, 2, 1):
        if progress[cls] == 100.0:
            mof_class = cls
    classes = {
        str(cls): ClassEvaluation(
            mof_class=cls,
            label=CLASS_LABELS[cls],
            progress=progress[cls],
            progress_rounded=php_round(progress[cls]),
            met=progress[cls] == 100.0,
            included=evaluation[cls]["included"],
            missing=evaluation[cls]["missing"],
            invalid=evaluation[cls]["invalid"],
            unlicensed=evaluation[cls]["unlicensed"],
            optional_included=evaluation[cls]["optional"],
        )
        for cls in (3, 2, 1)
    }
    not_appropriate = [s.name for s in statuses.values() if s.status == "included" and s.type_appropriate is False]
    warnings = [
        f"{n} ({statuses[n].content_type}) is under {statuses[n].license}, an open license that the MOF "
        f"does not list for {statuses[n].content_type}; a type-appropriate open license is recommended"
        for n in not_appropriate
    ]
    next_class = 3 if mof_class == 0 else (mof_class - 1 if mof_class > 1 else None)
    return MofResult(
        mof_class=mof_class,
        class_label=CLASS_LABELS[mof_class],
        progress={str(c): progress[c] for c in (1, 2, 3)},
        progress_rounded={str(c): php_round(progress[c]) for c in (1, 2, 3)},
        classes=classes,
        components=list(statuses.values()),
        not_type_appropriate=not_appropriate,
        warnings=warnings,
        research_paper_stands_in=stands_in,
        next_class=next_class,
        to_next_class=_lift_steps(next_class, evaluation, statuses) if next_class else [],
    )


def index_facts(record: ModelRecord) -> tuple[int, dict[str, float]]:
    """(MOF class, progress per class) for the catalog index, which receives these facts
    from this layer instead of importing it (openpick.openness registers this function)."""
    result = evaluate(record)
    return result.mof_class, result.progress
