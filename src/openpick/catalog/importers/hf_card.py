"""Hugging Face model card (README.md) front matter → ModelRecord.

Reads only the YAML block between the opening and closing `---` lines: license
(+ license_name / license_link for "other"), base_model and base_model_relation, datasets,
pipeline_tag, language, tags and model-index. The prose below it is ignored.
"""

from __future__ import annotations

import logging
from pathlib import Path

from openpick.catalog.importers import UNKNOWN_LICENSE, hf_id_from_url, normalize_license
from openpick.catalog.loader import build_record, parse_yaml, read_text, scalar_text
from openpick.catalog.schema import Component, Evaluation, ModelRecord
from openpick.errors import InvalidInput

log = logging.getLogger(__name__)

# ISO 639-2/3 codes that have an ISO 639-1 equivalent (both the /T and /B forms).
_ISO3_TO_1 = dict(pair.split(":") for pair in """
afr:af amh:am ara:ar asm:as aze:az azj:az bak:ba bel:be ben:bn bod:bo tib:bo bos:bs bre:br
bul:bg cat:ca ces:cs cze:cs cym:cy wel:cy dan:da deu:de ger:de ell:el gre:el eng:en epo:eo
est:et ekk:et eus:eu baq:eu fas:fa per:fa pes:fa fin:fi fra:fr fre:fr fry:fy gle:ga gla:gd
glg:gl guj:gu hau:ha heb:he hin:hi hrv:hr hun:hu hye:hy arm:hy ibo:ig ind:id isl:is ice:is
ita:it jav:jv jpn:ja kan:kn kat:ka geo:ka kaz:kk khm:km kin:rw kir:ky kor:ko kur:ku lao:lo
lat:la lav:lv lvs:lv lin:ln lit:lt ltz:lb lug:lg mal:ml mar:mr mkd:mk mac:mk mlt:mt mon:mn
mri:mi mao:mi msa:ms may:ms zsm:ms mya:my bur:my nep:ne npi:ne nld:nl dut:nl nno:nn nob:nb
nor:no nya:ny oci:oc ori:or ory:or orm:om pan:pa pol:pl por:pt pus:ps pbt:ps ron:ro rum:ro
run:rn rus:ru sin:si slk:sk slo:sk slv:sl sna:sn snd:sd som:so sot:st spa:es sqi:sq alb:sq
srp:sr sun:su swa:sw swh:sw swe:sv tam:ta tat:tt tel:te tgk:tg tgl:tl tha:th tir:ti tsn:tn
tso:ts tur:tr twi:tw uig:ug ukr:uk urd:ur uzb:uz uzn:uz vie:vi wol:wo xho:xh yid:yi ydd:yi
yor:yo zho:zh chi:zh cmn:zh zul:zu aka:ak bam:bm kik:ki
""".split())

# Tags that say which domain a model is for (tag → domain).
_DOMAIN_TAGS = {
    "medical": "medical", "medicine": "medical", "biomedical": "medical", "clinical": "medical",
    "health": "medical", "healthcare": "medical", "biology": "biology", "chemistry": "chemistry",
    "code": "code", "coding": "code", "programming": "code", "math": "math",
    "mathematics": "math", "legal": "legal", "law": "legal", "finance": "finance",
    "financial": "finance", "science": "science",
}
_FEATURE_TAGS = {"moe": "moe", "mixture-of-experts": "moe", "mixtral": "moe"}
_TASK_TAGS = {"conversational": "chat", "chat": "chat", "instruct": "instruction-following"}
_RELATION_TAGS = [
    ({"merge", "mergekit"}, "merge"),
    ({"lora", "peft", "adapter"}, "adapter"),
    ({"gguf", "gptq", "awq", "exl2", "quantized", "4-bit", "8-bit", "bitsandbytes"}, "quantized"),
]


def split_front_matter(text: str, path: Path) -> tuple[str, int]:
    """The YAML text between the `---` lines, and the file line it starts on."""
    lines = text.splitlines()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or lines[start].strip() != "---":
        raise InvalidInput("no front matter: a model card starts with a '---' line", path=str(path),
                           line=start + 1 if start < len(lines) else None)
    for end in range(start + 1, len(lines)):
        if lines[end].strip() in {"---", "..."}:
            return "\n".join(lines[start + 1:end]), start + 2
    raise InvalidInput("front matter is not closed by a '---' line", path=str(path), line=start + 1)


def read_front_matter(path: Path) -> dict:
    text = read_text(path)
    block, first_line = split_front_matter(text, path)
    data = parse_yaml(block, path, first_line=first_line)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("front matter must be a mapping of fields", path=str(path), line=first_line)
    return data


def _as_list(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _texts(value: object, field: str, warnings: list[str]) -> list[str]:
    """A field that holds one text or a list of them, as a list of non-empty texts."""
    texts = (scalar_text(v, field, warnings) for v in _as_list(value))
    return [t for t in texts if t]


def normalize_languages(values: object, warnings: list[str]) -> tuple[list[str], list[str]]:
    """ISO 639-1 codes, plus domains implied (the pseudo-language 'code' → domain code)."""
    langs: list[str] = []
    domains: list[str] = []
    for raw in _texts(values, "language", warnings):
        code = raw.lower().replace("_", "-")
        primary = code.split("-")[0]
        if code == "code":
            domains.append("code")
            continue
        iso1 = primary if len(primary) == 2 and primary.isalpha() else _ISO3_TO_1.get(primary)
        if iso1 is None:
            warnings.append(f"language {raw!r} has no ISO 639-1 code; dropped")
            continue
        if iso1 not in langs:
            langs.append(iso1)
    return langs, domains


def _id_from_path(path: Path) -> str | None:
    """'org__name' in the file or folder name, else the parent folders 'org/name'."""
    for name in (path.stem, path.parent.name):
        if "__" in name:
            org, _, rest = name.partition("__")
            if org and rest:
                return f"{org}/{rest}"
    parent = path.parent
    if path.name.lower() == "readme.md" and parent.parent.name and parent.name:
        org = parent.parent.name
        if org not in {"", ".", "/"}:
            return f"{org}/{parent.name}"
    return None


def _resolve_id(card: dict, path: Path, record_id: str | None) -> str:
    if record_id:
        return record_id
    index_names = [m.get("name") for m in _as_list(card.get("model-index")) if isinstance(m, dict)]
    for name in index_names:
        if isinstance(name, str) and name.count("/") == 1 and all(name.split("/")):
            return name
    found = _id_from_path(path)
    if found:
        return found
    raise InvalidInput("cannot tell the model id: name the file or folder 'org__name' "
                       "or pass --id org/name", path=str(path))


def _evaluations(card: dict, default_source: str, warnings: list[str]) -> list[Evaluation]:
    out: list[Evaluation] = []
    for entry in _as_list(card.get("model-index")):
        if not isinstance(entry, dict):
            continue
        for result in _as_list(entry.get("results")):
            if not isinstance(result, dict):
                continue
            dataset = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
            bench = (scalar_text(dataset.get("name"), "model-index dataset name", warnings)
                     or scalar_text(dataset.get("type"), "model-index dataset type", warnings))
            src = result.get("source") if isinstance(result.get("source"), dict) else {}
            source = scalar_text(src.get("url"), "model-index source url", warnings) or default_source
            for metric in _as_list(result.get("metrics")):
                if not isinstance(metric, dict) or not bench:
                    continue
                raw = metric.get("value")
                try:
                    value = float(raw) if isinstance(raw, (int, float, str)) else None
                except (ValueError, OverflowError):
                    value = None
                if value is None:
                    shown = scalar_text(raw, "model-index value", warnings) or type(raw).__name__
                    warnings.append(f"model-index: {bench}: value {shown[:40]!r} is not a number; skipped")
                    continue
                kind = scalar_text(metric.get("type"), "model-index metric type", warnings)
                name = (kind if kind and kind != "unknown"
                        else scalar_text(metric.get("name"), "model-index metric name", warnings))
                out.append(Evaluation(benchmark=bench, metric=name or "accuracy", value=value,
                                      source=source))
    return out


def _relation(card: dict, tags: set[str], bases: list[str]) -> str | None:
    declared = card.get("base_model_relation")
    if isinstance(declared, str) and declared in {"finetune", "adapter", "quantized", "merge"}:
        return declared
    if not bases:
        return None
    library = card.get("library_name")
    if isinstance(library, str) and library.lower() == "peft":
        return "adapter"
    for keys, relation in _RELATION_TAGS:
        if tags & keys:
            return relation
    return "merge" if len(bases) > 1 else "finetune"


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def parse_hf_card(
    path: Path, *, record_id: str | None = None, warnings: list[str] | None = None
) -> ModelRecord:
    """Parse a model card's front matter; InvalidInput names the file and line on bad YAML."""
    path = Path(path)
    warnings = warnings if warnings is not None else []
    card = read_front_matter(path)
    rid = _resolve_id(card, path, record_id)
    url = f"https://huggingface.co/{rid}"

    licenses = _texts(card.get("license"), "license", warnings)  # a few cards list several
    raw_license = licenses[0] if licenses else None                # keep the first
    license_ = normalize_license(raw_license)
    license_name = scalar_text(card.get("license_name"), "license_name", warnings)
    if str(raw_license).lower() == "other" and license_name:
        license_ = normalize_license(license_name)
    links = {"huggingface": url}
    if license_link := scalar_text(card.get("license_link"), "license_link", warnings):
        links["license"] = license_link

    bases = [hf_id_from_url(b) or b for b in _texts(card.get("base_model"), "base_model", warnings)]
    bases = [b for b in bases if b.count("/") == 1 and b != rid]
    tags = _texts(card.get("tags"), "tags", warnings)
    lowered = {t.lower() for t in tags}

    languages, domains = normalize_languages(card.get("language"), warnings)
    features: list[str] = []
    tasks: list[str] = []
    for t in sorted(lowered):
        if t in _DOMAIN_TAGS:
            _add(domains, _DOMAIN_TAGS[t])
        if t in _FEATURE_TAGS:
            _add(features, _FEATURE_TAGS[t])
        if t in _TASK_TAGS:
            _add(tasks, _TASK_TAGS[t])

    components = {}
    datasets = _texts(card.get("datasets"), "datasets", warnings)
    if datasets:
        components["Datasets"] = Component(present=True, link=f"https://huggingface.co/datasets/{datasets[0]}")
        for d in datasets:
            links[f"dataset:{d}"] = f"https://huggingface.co/datasets/{d}"

    org, _, name = rid.partition("/")  # a malformed --id fails validation below
    data = {
        "id": rid,
        "name": name,
        "developer": org,
        "base_model": bases,
        "base_model_relation": _relation(card, lowered, bases),
        "tasks": tasks,
        "domains": list(dict.fromkeys(domains)),
        "languages": languages,
        "license": license_,
        "license_original": raw_license,
        "features": features,
        "links": links,
        "components": components,
        "evaluations": _evaluations(card, url, warnings),
        "tags": tags,
        "sources": [f"hf-card:{path.name}"],
    }
    if pipeline_tag := scalar_text(card.get("pipeline_tag"), "pipeline_tag", warnings):
        data["pipeline_tag"] = pipeline_tag
    if license_ == UNKNOWN_LICENSE:
        warnings.append("the card states no license")
    for w in warnings:
        log.debug("%s: %s", path, w)
    # Only fields the card actually gave are marked as set, so a merge fills, not overrides.
    return build_record(data, path)
