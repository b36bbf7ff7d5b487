"""The one license table: SPDX ids, names, categories, normalisation, and the Model Openness
Tool's openness rule. Importers normalise with it; the openness layer decides MOF openness
with it (its licenses module re-exports these names).

Two different questions live here and must not be mixed up:

* `is_open(name)` answers the Model Openness Tool's question, with the tool's exact
  semantics: the license *string as written* must be an SPDX id that is OSI-approved or
  FSF-libre in the tool's license list, or one of its open-data licenses, or OpenMDW-1.0.
  "Apache 2.0" (with a space) is therefore not open for the tool, and neither are we.
* `normalize(name)` / `license_info(id)` answer a developer's question: which license is
  this really (SPDX id or a named custom id), may I use it commercially, what does it
  restrict. The restriction texts are our own short summaries, not legal advice.

The tool's rules, from lfai/model_openness_tool (commit 8b5d30e), web/modules/mof/:

* `src/LicenseImporter.php`, `import()`: the tool's license entities are the entries of
  `licenses.json` (SPDX list), then of `mof-licenses.json`, matched by `licenseId`; a later
  entry overwrites `isOsiApproved`/`isFsfLibre` (missing = false) and the content types.
  Our data/licenses/licenses.json is that merge (checked equal for all 660 ids). One
  difference on purpose: `mof-licenses.json` lists CC0-1.0 and CC-PDDC twice (data, then
  document) and the tool's overwrite keeps only "document"; we keep both, as the list
  means. That only changes the "not type-appropriate" warning, never a class or progress.
* `src/LicenseHandler.php`, `isOpenSourceLicense()`: open = FSF-libre or OSI-approved (by
  exact license id, `in_array`) or in `OPEN_DATA_LICENSES` or in `OPEN_LICENSES`
  (OpenMDW-1.0). Nothing is trimmed, case-folded or normalised first, so custom names
  ("Llama 2 Community License", "MIT license", "Apache 2.0", "Component not included",
  "Pending evaluation", "License not specified", "Undisclosed", a URL) are not open.
  The content type plays no part: an open code license on a dataset still counts.
* `src/LicenseHandler.php`, `isTypeAppropriate()`: the license's content types (from
  `mof-licenses.json`) contain the component's type; a warning only.
* `src/ModelEvaluator.php`, `evaluateComponents()`: a listed component whose resolved
  license is open is *included*; with no license at all (the string "unlicensed" in a
  release file, an empty one, or nothing at component, release-type and distribution
  level) it is *unlicensed*; any other string is *invalid*. See `mot_status`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, Field

# Open-data license ids the Model Openness Tool treats as open in addition to OSI/FSF
# (LicenseHandler.php, constant OPEN_DATA_LICENSES; the tool's list spells the
# public-domain dedication "ODC-PDDL-1.0", not SPDX's "PDDL-1.0", and we keep its
# spelling so results match: PDDL-1.0 is listed for data but is not open for the tool).
OPEN_DATA_LICENSES: frozenset[str] = frozenset(
    [
        "CC0-1.0",
        "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-2.5-AU", "CC-BY-3.0", "CC-BY-3.0-AT",
        "CC-BY-3.0-AU", "CC-BY-3.0-DE", "CC-BY-3.0-IGO", "CC-BY-3.0-NL", "CC-BY-3.0-US",
        "CC-BY-4.0",
        "CC-BY-SA-1.0", "CC-BY-SA-2.0", "CC-BY-SA-2.0-UK", "CC-BY-SA-2.1-JP", "CC-BY-SA-2.5",
        "CC-BY-SA-3.0", "CC-BY-SA-3.0-AT", "CC-BY-SA-4.0",
        "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0",
        "ODC-PDDL-1.0", "ODC-By-1.0", "ODbL-1.0",
        "GFDL-1.3",
        "OGL-Canada-2.0", "OGL-UK-2.0", "OGL-UK-3.0",
    ]
)

# LicenseHandler.php, constant OPEN_LICENSES: the Linux Foundation's model license, open
# for every content type (mof-licenses.json lists it for code, data and documents).
OPEN_MODEL_LICENSES: frozenset[str] = frozenset(["OpenMDW-1.0"])

# The word a MOT release file writes for "no license" (ModelUpdater.php stores it as an
# empty license; ModelSerializer.php writes an empty one back as this word).
UNLICENSED = "unlicensed"

MotStatus = Literal["included", "unlicensed", "invalid"]


class LicenseInfo(BaseModel):
    """What a developer needs to know about one license."""

    id: str = Field(description="SPDX id, a named custom id (e.g. LLAMA-2-COMMUNITY), or the text as found")
    name: str
    original: str | None = Field(default=None, description="the string the source wrote")
    spdx: bool = Field(description="id is in the SPDX license list")
    osi_approved: bool = False
    fsf_libre: bool = False
    is_open_data: bool = False
    open: bool = Field(description="open by the Model Openness Tool's rule")
    commercial_use: bool | None = Field(description="None when the terms are unclear or unknown")
    restrictions: list[str] = Field(default_factory=list)
    url: str | None = None


@lru_cache(maxsize=1)
def _table() -> dict[str, dict]:
    path = resources.files("openpick.catalog") / "data" / "licenses" / "licenses.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {lic["licenseId"]: lic for lic in data["licenses"]}


@lru_cache(maxsize=1)
def _lower_index() -> dict[str, str]:
    return {k.lower(): k for k in _table()}


def spdx_entry(license_id: str) -> dict | None:
    return _table().get(license_id)


def is_osi_approved(name: str | None) -> bool:
    entry = _table().get(name or "")
    return bool(entry and entry["isOsiApproved"])


def is_fsf_libre(name: str | None) -> bool:
    entry = _table().get(name or "")
    return bool(entry and entry["isFsfLibre"])


def is_open_data(name: str | None) -> bool:
    return name in OPEN_DATA_LICENSES


def is_open(name: str | None) -> bool:
    """Open as the Model Openness Tool decides: exact id match, no normalization."""
    if not name:
        return False
    return is_fsf_libre(name) or is_open_data(name) or is_osi_approved(name) or name in OPEN_MODEL_LICENSES


def content_types(name: str | None) -> list[str]:
    """Content types (code/data/document) the MOF lists this license as suited for."""
    entry = _table().get(name or "")
    return list(entry["contentTypes"]) if entry else []


def is_type_appropriate(name: str | None, content_type: str) -> bool:
    return content_type in content_types(name)


def php_empty(value: object) -> bool:
    """PHP's `empty()` / falsiness for what a release file can hold: None, "", "0", 0, false,
    an empty list or mapping. The tool's license fallbacks test values this way."""
    return value is None or value is False or value == "" or value == "0" or value == 0 or value == [] or value == {}


def mot_status(license_: str | None) -> MotStatus:
    """The tool's verdict on one listed component whose license resolved to `license_`
    (None: none resolved). ModelEvaluator.php, evaluateComponents(): a missing license
    becomes "unlicensed"; open → included; exactly "unlicensed" → unlicensed; else invalid."""
    name = UNLICENSED if license_ is None else license_
    if is_open(name):
        return "included"
    return "unlicensed" if name == UNLICENSED else "invalid"


# ---------------------------------------------------------------------------------------
# Normalization: Hugging Face ids and free-text names → SPDX or named custom ids.

# Hugging Face `license:` ids that are not SPDX ids verbatim (case aside).
_HF_IDS: dict[str, str] = {
    "apache-2.0": "Apache-2.0",
    "mit": "MIT",
    "bsd": "BSD-3-Clause",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-3-clause-clear": "BSD-3-Clause-Clear",
    "gpl": "GPL-3.0-or-later",
    "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only",
    "lgpl": "LGPL-3.0-or-later",
    "lgpl-2.1": "LGPL-2.1-only",
    "lgpl-3.0": "LGPL-3.0-only",
    "lgpl-lr": "LGPLLR",
    "agpl-3.0": "AGPL-3.0-only",
    "mpl-2.0": "MPL-2.0",
    "epl-1.0": "EPL-1.0",
    "epl-2.0": "EPL-2.0",
    "afl-3.0": "AFL-3.0",
    "ecl-2.0": "ECL-2.0",
    "eupl-1.1": "EUPL-1.1",
    "eupl-1.2": "EUPL-1.2",
    "artistic-2.0": "Artistic-2.0",
    "bsl-1.0": "BSL-1.0",
    "isc": "ISC",
    "ncsa": "NCSA",
    "zlib": "Zlib",
    "postgresql": "PostgreSQL",
    "unlicense": "Unlicense",
    "wtfpl": "WTFPL",
    "osl-3.0": "OSL-3.0",
    "ofl-1.1": "OFL-1.1",
    "cc0-1.0": "CC0-1.0",
    "cc-by-2.0": "CC-BY-2.0",
    "cc-by-2.5": "CC-BY-2.5",
    "cc-by-3.0": "CC-BY-3.0",
    "cc-by-4.0": "CC-BY-4.0",
    "cc-by-sa-3.0": "CC-BY-SA-3.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0",
    "cc-by-nc-2.0": "CC-BY-NC-2.0",
    "cc-by-nc-3.0": "CC-BY-NC-3.0",
    "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nc-nd-3.0": "CC-BY-NC-ND-3.0",
    "cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0",
    "cc-by-nc-sa-2.0": "CC-BY-NC-SA-2.0",
    "cc-by-nc-sa-3.0": "CC-BY-NC-SA-3.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0",
    "cc-by-nd-4.0": "CC-BY-ND-4.0",
    "cdla-sharing-1.0": "CDLA-Sharing-1.0",
    "cdla-permissive-1.0": "CDLA-Permissive-1.0",
    "cdla-permissive-2.0": "CDLA-Permissive-2.0",
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "c-uda": "C-UDA-1.0",
    "openmdw-1.0": "OpenMDW-1.0",
    "llama2": "LLAMA-2-COMMUNITY",
    "llama3": "LLAMA-3-COMMUNITY",
    "llama3.1": "LLAMA-3.1-COMMUNITY",
    "llama3.2": "LLAMA-3.2-COMMUNITY",
    "llama3.3": "LLAMA-3.3-COMMUNITY",
    "llama4": "LLAMA-4-COMMUNITY",
    "gemma": "GEMMA",
    "openrail": "OPENRAIL",
    "openrail++": "OPENRAIL",
    "creativeml-openrail-m": "CREATIVEML-OPENRAIL-M",
    "bigscience-openrail-m": "BIGSCIENCE-OPENRAIL-M",
    "bigscience-bloom-rail-1.0": "BIGSCIENCE-BLOOM-RAIL-1.0",
    "bigcode-openrail-m": "BIGCODE-OPENRAIL-M",
    "deepseek": "DEEPSEEK",
    "apple-ascl": "APPLE-SAMPLE-CODE",
    "apple-amlr": "APPLE-AMLR",
    "intel-research": "INTEL-RESEARCH",
    "h-research": "H-RESEARCH",
    "mrl": "MISTRAL-RESEARCH",  # Mistral AI Research License (HF license_name: mrl)
    "other": "other",
    "unknown": "unknown",
}

# Free-text names (model cards, MOF files) → ids. First match wins; patterns are matched
# against the lower-cased, whitespace-collapsed name.
_NAME_PATTERNS: list[tuple[str, str]] = [
    (r"^llama[ -]?2\b|llama 2 community", "LLAMA-2-COMMUNITY"),
    (r"llama[ -]?3\.3", "LLAMA-3.3-COMMUNITY"),
    (r"llama[ -]?3\.2", "LLAMA-3.2-COMMUNITY"),
    (r"llama[ -]?3\.1", "LLAMA-3.1-COMMUNITY"),
    (r"(meta )?llama[ -]?3\b", "LLAMA-3-COMMUNITY"),
    (r"llama[ -]?4", "LLAMA-4-COMMUNITY"),
    (r"^gemma\b|gemma terms", "GEMMA"),
    (r"falcon[- ]?180b.*tii|tii falcon[- ]?180b", "FALCON-180B-TII"),
    (r"tii falcon (license )?2\.0|falcon-llm license 2\.0|tii-falcon-2\.0", "TII-FALCON-2.0"),
    (r"tongyi[- ]qianwen[- ]research|qwen[- ]research", "QWEN-RESEARCH"),
    (r"tongyi[- ]qianwen|^qwen\b|qwen license", "QWEN"),
    (r"deepseek", "DEEPSEEK"),
    (r"bigscience[- ]bloom[- ]rail", "BIGSCIENCE-BLOOM-RAIL-1.0"),
    (r"bigscience[- ]openrail", "BIGSCIENCE-OPENRAIL-M"),
    (r"bigcode[- ]openrail", "BIGCODE-OPENRAIL-M"),
    (r"creativeml[- ]openrail", "CREATIVEML-OPENRAIL-M"),
    (r"^openrail", "OPENRAIL"),
    (r"microsoft research license|msrla|microsoft-research", "MICROSOFT-RESEARCH"),
    (r"mistral ai research license|^mistral research license", "MISTRAL-RESEARCH"),
    (r"nvidia open model license", "NVIDIA-OPEN-MODEL"),
    (r"databricks open model license", "DATABRICKS-OPEN-MODEL"),
    (r"^apache(\s+license)?[ ,-]*(v(ersion)?\s*)?2(\.0)?$", "Apache-2.0"),
    (r"^mit( license)?$", "MIT"),
    (r"^bsd[- ]?3(-clause)?( license)?$", "BSD-3-Clause"),
    (r"^bsd[- ]?2(-clause)?( license)?$", "BSD-2-Clause"),
    (r"creative commons attribution[- ]non[- ]?commercial[- ]share[- ]?alike 4\.0", "CC-BY-NC-SA-4.0"),
    (r"creative commons attribution[- ]non[- ]?commercial 4\.0", "CC-BY-NC-4.0"),
    (r"creative commons attribution[- ]share[- ]?alike 4\.0", "CC-BY-SA-4.0"),
    (r"creative commons attribution 4\.0", "CC-BY-4.0"),
    (r"^proprietary|^closed", "PROPRIETARY"),
    (r"^undisclosed$|^not specified$|^license not specified$", "unknown"),
]


def normalize(name: str | None) -> str:
    """The SPDX id or named custom id for a license string; the trimmed string if unknown."""
    if name is None:
        return "unknown"
    text = " ".join(str(name).split())
    if not text:
        return "unknown"
    low = text.lower()
    if text in _table() or text in _CUSTOM:
        return text
    if low in _HF_IDS:
        return _HF_IDS[low]
    if low in _lower_index():
        return _lower_index()[low]
    for pattern, lid in _NAME_PATTERNS:
        if re.search(pattern, low):
            return lid
    return text


_MAU_700M = (
    "companies whose products had over 700 million monthly active users on the release "
    "date must ask Meta for a separate license"
)
_META_AUP = "use must follow Meta's acceptable use policy"
_RAIL_USE = (
    "use-based restrictions (an attachment lists forbidden uses) that every derivative "
    "and redistribution must carry forward"
)

# Named custom licenses: (name, commercial use, restrictions, url). Our own summaries.
_CUSTOM: dict[str, tuple[str, bool | None, list[str], str | None]] = {
    "LLAMA-2-COMMUNITY": (
        "Llama 2 Community License Agreement",
        True,
        [
            _MAU_700M,
            _META_AUP,
            "outputs may not be used to improve other large language models (except Llama 2 derivatives)",
            "redistributions must include the license and the Llama 2 attribution notice",
        ],
        "https://ai.meta.com/llama/license/",
    ),
    "LLAMA-3-COMMUNITY": (
        "Meta Llama 3 Community License Agreement",
        True,
        [
            _MAU_700M,
            _META_AUP,
            "derived models must put 'Llama 3' at the start of their name; products must show 'Built with Meta Llama 3'",
            "outputs may not be used to improve other large language models (except Llama 3 derivatives)",
        ],
        "https://llama.meta.com/llama3/license/",
    ),
    "LLAMA-3.1-COMMUNITY": (
        "Llama 3.1 Community License Agreement",
        True,
        [
            _MAU_700M,
            _META_AUP,
            "derived models must put 'Llama' at the start of their name; products must show 'Built with Llama'",
        ],
        "https://www.llama.com/llama3_1/license/",
    ),
    "LLAMA-3.2-COMMUNITY": (
        "Llama 3.2 Community License Agreement",
        True,
        [
            _MAU_700M,
            _META_AUP,
            "derived models must put 'Llama' at the start of their name; products must show 'Built with Llama'",
            "the rights to the multimodal (vision) models are not granted to individuals or companies based in the EU",
        ],
        "https://www.llama.com/llama3_2/license/",
    ),
    "LLAMA-3.3-COMMUNITY": (
        "Llama 3.3 Community License Agreement",
        True,
        [
            _MAU_700M,
            _META_AUP,
            "derived models must put 'Llama' at the start of their name; products must show 'Built with Llama'",
        ],
        "https://www.llama.com/llama3_3/license/",
    ),
    "LLAMA-4-COMMUNITY": (
        "Llama 4 Community License Agreement",
        True,
        [_MAU_700M, _META_AUP, "products must show 'Built with Llama'"],
        "https://www.llama.com/llama4/license/",
    ),
    "GEMMA": (
        "Gemma Terms of Use",
        True,
        [
            "use must follow Google's Gemma prohibited use policy",
            "the use restrictions pass on to every derivative and must be included when redistributing",
            "Google may restrict use it believes breaks the terms",
        ],
        "https://ai.google.dev/gemma/terms",
    ),
    "FALCON-180B-TII": (
        "Falcon 180B TII License",
        True,
        [
            "offering the model as a hosted service (shared instance or API) needs a separate license from TII",
            "use must follow TII's acceptable use policy",
        ],
        "https://huggingface.co/spaces/tiiuae/falcon-180b-license/blob/main/LICENSE.txt",
    ),
    "TII-FALCON-2.0": (
        "TII Falcon License 2.0",
        True,
        [
            "use must follow TII's acceptable use policy, which TII may update",
            "redistributions and derivatives must credit Falcon and include the license",
        ],
        "https://falconllm.tii.ae/falcon-terms-and-conditions.html",
    ),
    "QWEN-RESEARCH": (
        "Qwen Research License Agreement",
        False,
        ["research and non-commercial use only; commercial use needs a separate license from Alibaba Cloud"],
        None,
    ),
    "QWEN": (
        "Tongyi Qianwen (Qwen) License Agreement",
        True,
        [
            "products with over 100 million monthly active users must ask Alibaba Cloud for a separate license",
            "outputs may not be used to improve other large language models (except Qwen derivatives)",
            "products must state that they are built with Qwen",
        ],
        None,
    ),
    "DEEPSEEK": (
        "DeepSeek License Agreement",
        True,
        [_RAIL_USE, "e.g. no military use, no harm to minors, no fully automated decisions with legal effect"],
        "https://github.com/deepseek-ai/DeepSeek-LLM/blob/main/LICENSE-MODEL",
    ),
    "BIGSCIENCE-BLOOM-RAIL-1.0": (
        "BigScience BLOOM RAIL License v1.0",
        True,
        [_RAIL_USE],
        "https://huggingface.co/spaces/bigscience/license",
    ),
    "BIGSCIENCE-OPENRAIL-M": ("BigScience OpenRAIL-M License", True, [_RAIL_USE], None),
    "BIGCODE-OPENRAIL-M": (
        "BigCode OpenRAIL-M v1 License Agreement",
        True,
        [_RAIL_USE],
        "https://huggingface.co/spaces/bigcode/bigcode-model-license-agreement",
    ),
    "CREATIVEML-OPENRAIL-M": ("CreativeML OpenRAIL-M License", True, [_RAIL_USE], None),
    "OPENRAIL": ("Open Responsible AI License (OpenRAIL)", True, [_RAIL_USE], "https://www.licenses.ai/"),
    "MICROSOFT-RESEARCH": (
        "Microsoft Research License Agreement",
        False,
        ["non-commercial research use only"],
        None,
    ),
    "MISTRAL-RESEARCH": (
        "Mistral AI Research License",
        False,
        ["research and other non-commercial use only; commercial use needs a separate license from Mistral AI"],
        None,
    ),
    "NVIDIA-OPEN-MODEL": (
        "NVIDIA Open Model License",
        True,
        ["the license ends if you bypass or disable the model's safety guardrails without an equivalent replacement"],
        "https://www.nvidia.com/en-us/agreements/enterprise-software/nvidia-open-model-license/",
    ),
    "DATABRICKS-OPEN-MODEL": (
        "Databricks Open Model License",
        True,
        ["use must follow the Databricks acceptable use policy", "outputs may not be used to improve other large language models"],
        None,
    ),
    "APPLE-SAMPLE-CODE": ("Apple Sample Code License", True, ["license text must be kept with redistributions"], None),
    "APPLE-AMLR": ("Apple Machine Learning Research Model License", False, ["research use only"], None),
    "INTEL-RESEARCH": ("Intel Research Use License", False, ["research use only"], None),
    "H-RESEARCH": ("H Company Research License", False, ["research use only"], None),
    "PROPRIETARY": ("Proprietary", False, ["no public license: terms are negotiated with the owner"], None),
    "other": ("Other (custom license)", None, ["custom terms: read the license on the model card before use"], None),
    "unknown": ("Unknown", None, ["no license stated: without one, you have no right to use the model"], None),
}


def _spdx_commercial(lid: str) -> tuple[bool | None, list[str]]:
    if "-NC" in lid:
        extra = ["no derivatives may be shared"] if "-ND" in lid else []
        return False, ["non-commercial use only", *extra, "attribution required"]
    if lid.startswith("CC-BY-ND"):
        return True, ["no derivatives may be shared", "attribution required"]
    if lid.startswith("CC-BY-SA") or lid.startswith("CDLA-Sharing") or lid.startswith("ODbL"):
        return True, ["share-alike: adaptations must use the same license", "attribution required"]
    if lid.startswith("CC-BY") or lid.startswith("ODC-By"):
        return True, ["attribution required"]
    if re.match(r"^(A?GPL|LGPL|MPL|EPL|EUPL|OSL|CDDL)", lid):
        return True, ["copyleft: modified versions you distribute must share their source under the same license"]
    return None, []


def license_info(name: str | None) -> LicenseInfo:
    """Facts about a license given as an SPDX id, a custom id, an HF id or a name."""
    original = None if name is None else str(name)
    lid = normalize(name)
    entry = _table().get(lid)
    open_ = is_open(lid)
    if lid in _CUSTOM and entry is None:
        title, commercial, restrictions, url = _CUSTOM[lid]
        return LicenseInfo(
            id=lid, name=title, original=original, spdx=False, open=open_,
            commercial_use=commercial, restrictions=list(restrictions), url=url,
        )
    if entry is not None or lid in OPEN_DATA_LICENSES or lid in OPEN_MODEL_LICENSES:
        commercial, restrictions = _spdx_commercial(lid)
        if commercial is None and open_:
            commercial = True
        return LicenseInfo(
            id=lid,
            name=entry["name"] if entry else lid,
            original=original,
            spdx=entry is not None,
            osi_approved=is_osi_approved(lid),
            fsf_libre=is_fsf_libre(lid),
            is_open_data=is_open_data(lid),
            open=open_,
            commercial_use=commercial,
            restrictions=restrictions,
            url=f"https://spdx.org/licenses/{lid}.html" if entry is not None else None,
        )
    return LicenseInfo(
        id=lid, name=lid, original=original, spdx=False, open=False, commercial_use=None,
        restrictions=["unrecognized license: read its text before use"],
    )


UNKNOWN = "unknown"
# Words sources use for "no usable license information"; importers record them as unknown.
_VAGUE = frozenset({"unknown", "unclear", "none", "n/a", "undisclosed", "other"})


def normalize_license(raw: object) -> str:
    """What importers store as a record's license: `normalize`, except that no value or a
    vague word ("other", "none", "undisclosed", ...) becomes 'unknown'."""
    if raw is None:
        return UNKNOWN
    text = " ".join(str(raw).split())
    if not text or text.lower() in _VAGUE:
        return UNKNOWN
    return normalize(text)
