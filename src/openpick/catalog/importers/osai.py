"""European Open Source AI Index entry (one YAML file per system) → ModelRecord.

Each openness parameter is graded open / partial / closed with an evidence link; the
grades land in `record.osai`. Data: https://osai-index.eu/ (CC-BY-4.0; Liesenfeld &
Dingemanse 2024, "Rethinking open source generative AI", FAccT '24).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from openpick.catalog.importers import UNKNOWN_LICENSE, hf_id_from_url, make_id, normalize_license
from openpick.catalog.loader import build_record, parse_yaml, read_text, scalar_text
from openpick.catalog.schema import ModelRecord, OsaiGrade
from openpick.errors import InvalidInput

log = logging.getLogger(__name__)

# The index's parameters (its _parameters.yml), in its order: availability,
# documentation, access.
PARAMETERS = (
    "datasources_basemodel", "datasources_endmodel", "weights_basemodel", "weights_endmodel",
    "trainingcode", "code", "hardware_architecture", "preprint", "paper", "modelcard",
    "datasheet", "licenses",
)
_GRADES = {"open", "partial", "closed"}
_PIPELINE = {"text": "text-generation", "code": "text-generation", "image": "text-to-image",
             "video": "text-to-video", "audio": "text-to-audio"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _first_link(link: object) -> str | None:
    if isinstance(link, list):
        link = next((x for x in link if isinstance(x, str) and x.strip()), None)
    return link.strip() if isinstance(link, str) and link.strip() else None


def _grades(data: dict, warnings: list[str]) -> dict[str, OsaiGrade]:
    grades = {}
    for ref in PARAMETERS:
        entry = data.get(ref)
        if entry is None:
            continue
        grade = (scalar_text(entry.get("class"), f"{ref}.class", warnings) or ""
                 if isinstance(entry, dict) else "").lower()
        if grade not in _GRADES:
            warnings.append(f"parameter {ref}: grade {grade or None!r} is not open/partial/closed; skipped")
            continue
        grades[ref] = OsaiGrade(grade=grade, link=_first_link(entry.get("link")))
    return grades


def parse_osai(path: Path, *, record_id: str | None = None, warnings: list[str] | None = None) -> ModelRecord:
    """Parse one index entry; InvalidInput names the file (and line for bad YAML)."""
    path = Path(path)
    warnings = warnings if warnings is not None else []
    data = parse_yaml(read_text(path), path)
    if not isinstance(data, dict) or not isinstance(data.get("system"), dict):
        raise InvalidInput("not an Open Source AI Index entry: no 'system:' mapping", path=str(path))
    system = data["system"]
    org = data.get("org") if isinstance(data.get("org"), dict) else {}
    sys_name = scalar_text(system.get("name"), "system.name", warnings) or ""
    org_name = scalar_text(org.get("name"), "org.name", warnings) or ""
    if not sys_name:
        raise InvalidInput("system.name is missing", path=str(path))

    link = _first_link(system.get("link"))
    rid = record_id or hf_id_from_url(link) or make_id(org_name or "unknown", sys_name)
    raw_license = scalar_text(system.get("endmodellicense", system.get("endmodel license")),
                              "system.endmodellicense", warnings)
    license_ = normalize_license(raw_license)
    if license_ == UNKNOWN_LICENSE:
        warnings.append("the entry states no end-model license")

    links = {}
    if link:
        links["huggingface" if hf_id_from_url(link) else "homepage"] = link
    if _first_link(org.get("link")):
        links["developer"] = _first_link(org.get("link"))
    grades = _grades(data, warnings)

    base_link = grades.get("weights_basemodel").link if "weights_basemodel" in grades else None
    base = hf_id_from_url(base_link)
    bases = [base] if base and base != rid else []
    date = scalar_text(system.get("releasedate"), "system.releasedate", warnings) or ""
    kind = (scalar_text(system.get("type"), "system.type", warnings) or "").lower()

    record = {
        "id": rid,
        "name": sys_name,
        "developer": org_name or rid.split("/")[0],
        "base_model": bases,
        "base_model_relation": "finetune" if bases else None,
        "pipeline_tag": _PIPELINE.get(kind),
        "domains": ["code"] if kind == "code" else [],
        "license": license_,
        "license_original": raw_license,
        "release_date": date if _DATE.match(date) else None,
        "links": links,
        "osai": grades,
        "sources": [f"osai:{path.name}"],
    }
    for w in warnings:
        log.debug("%s: %s", path, w)
    return build_record(record, path)
