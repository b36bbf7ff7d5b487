"""One openness report per model: MOF class, the five criteria, OSAID, index score, license."""

from __future__ import annotations

from pydantic import BaseModel, Field

from openpick.catalog.schema import ModelRecord
from openpick.openness.criteria import Criterion, assess_criteria
from openpick.openness.licenses import LicenseInfo, license_info
from openpick.openness.mof import ClassEvaluation, ComponentStatus, LiftStep, evaluate
from openpick.openness.osai_index import OsaiScore, osai_score
from openpick.openness.osaid import OsaidResult, check_osaid


class OpennessReport(BaseModel):
    id: str
    name: str
    mof_class: int = Field(ge=0, le=3)
    mof_class_label: str
    mof_progress: dict[str, float] = Field(description="'1','2','3' → percent, as the MOT computes it")
    mof_progress_rounded: dict[str, int] = Field(description="as the MOT badges show it (PHP round)")
    mof_classes: dict[str, ClassEvaluation]
    components: list[ComponentStatus]
    warnings: list[str]
    research_paper_stands_in: bool
    next_class: int | None
    to_next_class: list[LiftStep]
    criteria: list[Criterion]
    osaid: OsaidResult
    osai_index: OsaiScore
    license: LicenseInfo
    component_licenses: list[LicenseInfo]


def assess(record: ModelRecord) -> OpennessReport:
    """Everything openpick knows about how open `record` is."""
    mof = evaluate(record)
    lic = license_info(record.license)
    if record.license_original:
        lic = lic.model_copy(update={"original": record.license_original})
    seen = sorted({c.license for c in mof.components if c.license})
    return OpennessReport(
        id=record.id,
        name=record.name,
        mof_class=mof.mof_class,
        mof_class_label=mof.class_label,
        mof_progress=mof.progress,
        mof_progress_rounded=mof.progress_rounded,
        mof_classes=mof.classes,
        components=mof.components,
        warnings=mof.warnings,
        research_paper_stands_in=mof.research_paper_stands_in,
        next_class=mof.next_class,
        to_next_class=mof.to_next_class,
        criteria=assess_criteria(record),
        osaid=check_osaid(record),
        osai_index=osai_score(record),
        license=lic,
        component_licenses=[license_info(x) for x in seen],
    )
