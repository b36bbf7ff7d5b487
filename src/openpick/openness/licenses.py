"""License facts for the openness layer: re-exports of the one license table, which lives
in the catalog layer (openpick.catalog.licenses) so the importers can use it too."""

from __future__ import annotations

from openpick.catalog.licenses import (
    OPEN_DATA_LICENSES,
    OPEN_MODEL_LICENSES,
    UNLICENSED,
    LicenseInfo,
    content_types,
    is_fsf_libre,
    is_open,
    is_open_data,
    is_osi_approved,
    is_type_appropriate,
    license_info,
    mot_status,
    normalize,
    normalize_license,
    php_empty,
    spdx_entry,
)

__all__ = [
    "OPEN_DATA_LICENSES",
    "OPEN_MODEL_LICENSES",
    "UNLICENSED",
    "LicenseInfo",
    "content_types",
    "is_fsf_libre",
    "is_open",
    "is_open_data",
    "is_osi_approved",
    "is_type_appropriate",
    "license_info",
    "mot_status",
    "normalize",
    "normalize_license",
    "php_empty",
    "spdx_entry",
]
