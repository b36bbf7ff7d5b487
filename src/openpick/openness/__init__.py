"""How open a model really is: MOF class (as the Model Openness Tool computes it), the five
course criteria, the OSI Open Source AI Definition check, the Open Source AI Index score
and what its license allows."""

from __future__ import annotations

from openpick.openness.licenses import LicenseInfo, is_open, license_info, normalize
from openpick.openness.mof import MofResult, evaluate
from openpick.openness.report import OpennessReport, assess

__all__ = [
    "LicenseInfo",
    "MofResult",
    "OpennessReport",
    "assess",
    "evaluate",
    "is_open",
    "license_info",
    "normalize",
]
