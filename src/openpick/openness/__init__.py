"""How open a model really is: MOF class (as the Model Openness Tool computes it), the five
course criteria, the OSI Open Source AI Definition check, the Open Source AI Index score
and what its license allows.

Importing this package registers the MOF evaluator with the catalog index (which sits
below this layer and receives openness facts instead of importing them)."""

from __future__ import annotations

from openpick.catalog.index import register_openness_facts
from openpick.openness.licenses import LicenseInfo, is_open, license_info, normalize
from openpick.openness.mof import MofResult, evaluate, index_facts
from openpick.openness.report import OpennessReport, assess

register_openness_facts(index_facts)

__all__ = [
    "LicenseInfo",
    "MofResult",
    "OpennessReport",
    "assess",
    "evaluate",
    "index_facts",
    "is_open",
    "license_info",
    "normalize",
]
