"""The OSI Open Source AI Definition 1.0 check.

OSAID 1.0 asks for the preferred form to modify the system, made available under
OSI-approved terms: (1) data information, (2) code, (3) parameters. We test each from
the record's MOF components, resolving licenses the MOF way (component, then release
license for its content type, then distribution):

* data information: a Data card or the Datasets published under an open license (MOF
  openness: documentation and data licenses such as CC-BY count, since OSI approves
  software licenses only);
* code: Training code, Data preprocessing code and Inference code, each under an
  OSI-approved license;
* parameters: Model parameters (Final) under an OSI-approved license.

The result passes only when all three do; every failing part says why.
"""

from __future__ import annotations

from pydantic import BaseModel

from openpick.catalog.schema import ModelRecord
from openpick.openness import licenses
from openpick.openness.mof import ComponentStatus, component_statuses

CODE_COMPONENTS = ("Training code", "Data preprocessing code", "Inference code")


class OsaidPart(BaseModel):
    key: str
    passes: bool
    reasons: list[str]


class OsaidResult(BaseModel):
    passes: bool
    parts: list[OsaidPart]
    reasons: list[str]


def _osi(st: ComponentStatus) -> str | None:
    """None when the component meets the OSI-approved bar, else why not."""
    if not st.present:
        return f"{st.name} is not published"
    if not st.license:
        return f"{st.name} has no license"
    if not licenses.is_osi_approved(st.license):
        return f"{st.name} is under {st.license}, which is not OSI-approved"
    return None


def check_osaid(record: ModelRecord) -> OsaidResult:
    s = component_statuses(record)
    data_ok = any(s[n].status == "included" for n in ("Data card", "Datasets"))
    data_reasons = [] if data_ok else [
        "neither a Data card nor the Datasets are published under an open license"
    ]
    code_reasons = [r for n in CODE_COMPONENTS if (r := _osi(s[n]))]
    param_reasons = [r for r in [_osi(s["Model parameters (Final)"])] if r]
    parts = [
        OsaidPart(key="data_information", passes=data_ok, reasons=data_reasons),
        OsaidPart(key="code", passes=not code_reasons, reasons=code_reasons),
        OsaidPart(key="parameters", passes=not param_reasons, reasons=param_reasons),
    ]
    reasons = [r for p in parts for r in p.reasons]
    return OsaidResult(passes=not reasons, parts=parts, reasons=reasons)
