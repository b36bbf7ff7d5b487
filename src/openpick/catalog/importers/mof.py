"""Model Openness Framework release files (the Model Openness Tool's `models/*.yml`).

`parse_mof` reads one release file into a ModelRecord: the components exactly as listed
(a listed component is present; its `license` is kept as written, so the MOF class we
compute equals the tool's), the release-level licenses, and the links. The file is
validated against the tool's JSON schema first; errors name the file and, where the
YAML says, the line.

`to_mof_yaml` writes any record back as a release file that the schema accepts and that
`parse_mof` reads back to the same components.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jsonschema
import yaml
from pydantic import ValidationError

from openpick.catalog.licenses import UNLICENSED, normalize_license
from openpick.catalog.schema import Component, ModelRecord, ReleaseLicenses
from openpick.catalog.loader import _SafeLoader, read_text
from openpick.errors import InvalidInput

_RELEASE_TYPES = ("distribution", "code", "data", "document")
_ARCHITECTURES = {
    "transformer", "transformer decoder", "transformer encoder-decoder", "decoder", "encoder",
    "diffusion", "RNN", "CNN", "LSTM", "NeRF", "hybrid", "undisclosed", "other",
}
# huggingface.co paths whose first segment is not an organization.
_HF_NON_MODEL = {"collections", "papers", "datasets", "spaces", "docs", "blog", "organizations"}
_HF_PART = re.compile(r"^[A-Za-z0-9][\w.\-]*$")


class _Loader(_SafeLoader):
    """Safe YAML that leaves dates as the strings the MOF schema expects (and, like the
    catalog's loader, turns a bad scalar into a YAML error with its line)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# A release file is a few hundred values; YAML aliases can make a short file expand to
# millions (an "alias bomb"), which validation and error messages would walk or print.
_MAX_VALUES = 100_000
_MAX_SHOWN = 120  # characters of a value or key shown in an error message


def _too_many_values(data: object, limit: int = _MAX_VALUES) -> bool:
    """More than `limit` values once aliases are expanded (stops counting at the limit)."""
    count = 0
    stack = [data]
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _short(text: str) -> str:
    """One line of at most _MAX_SHOWN characters, for quoting user data in a message."""
    line = " ".join(text.split())
    return line if len(line) <= _MAX_SHOWN else line[: _MAX_SHOWN - 1] + "…"


def _data(name: str):
    return resources.files("openpick.catalog") / "data" / "mof" / name


@dataclass(frozen=True)
class MofComponent:
    """One of the 17 MOF components, as the tool's settings file defines it."""

    id: int
    name: str
    description: str
    content_type: str  # code | data | document
    mof_class: int
    required: bool


@lru_cache(maxsize=1)
def components() -> tuple[MofComponent, ...]:
    """The 17 MOF components, in the order of the tool's settings file."""
    data = yaml.safe_load(_data("mof.settings.yml").read_text(encoding="utf-8"))
    return tuple(
        MofComponent(
            id=int(c["id"]),
            name=c["name"],
            description=c["description"],
            content_type=c["content_type"],
            mof_class=int(c["class"]),
            required=bool(c["required"]),
        )
        for c in data["components"]
    )


def by_name(name: str) -> MofComponent | None:
    return next((c for c in components() if c.name == name), None)


@lru_cache(maxsize=1)
def mof_schema() -> dict:
    return json.loads(_data("mof_schema.json").read_text(encoding="utf-8"))


def _line_of(text: str, path_parts: list) -> int | None:
    """1-based line of the node at `path_parts` (keys / indexes), as deep as it exists."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in path_parts:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _load(path: Path) -> tuple[dict, str]:
    text = read_text(path)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or (str(e).splitlines() or ["unreadable YAML"])[0]
        raise InvalidInput(
            f"YAML error: {_short(problem)}", path=str(path), line=mark.line + 1 if mark else None
        ) from e
    except RecursionError as e:
        raise InvalidInput("YAML error: nested too deeply", path=str(path)) from e
    if not isinstance(data, dict):
        raise InvalidInput("not a MOF release file: expected a mapping with framework: and release:", path=str(path))
    if _too_many_values(data):
        raise InvalidInput(
            f"not a MOF release file: more than {_MAX_VALUES} values once YAML aliases are expanded",
            path=str(path))
    return data, text


def _validate(data: dict, text: str, path: Path) -> None:
    validator = jsonschema.Draft7Validator(mof_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    err = errors[0]
    where = _short("/".join(str(p) for p in err.absolute_path)) or "(top level)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    raise InvalidInput(
        f"MOF schema: {where}: {_short(err.message)}{more}",
        path=str(path),
        line=_line_of(text, list(err.absolute_path)),
    )


def hf_id(url: object) -> str | None:
    """'org/name' from a huggingface.co model URL (or a bare 'org/name'), else None."""
    if not isinstance(url, str) or not url.strip():
        return None
    value = url.strip()
    m = re.match(r"^https?://(?:www\.)?huggingface\.co/(.*)$", value)
    rest = m.group(1) if m else value
    parts = [p for p in re.split(r"[/?#]", rest) if p][:2]
    if len(parts) != 2 or parts[0] in _HF_NON_MODEL:
        return None
    if not (m or value.count("/") == 1):
        return None
    if not all(_HF_PART.match(p) for p in parts):
        return None
    return f"{parts[0]}/{parts[1]}"


def fallback_id(producer: str, name: str) -> str:
    """'<producer>/<name>' with slashes and whitespace turned into dashes."""

    def part(s: str) -> str:
        return re.sub(r"[\s/]+", "-", s.strip()).strip("-") or "unknown"

    return f"{part(producer)}/{part(name)}"


def _text(value: object) -> str | None:
    """A scalar field as trimmed text; None when absent, empty, or not a scalar (a list or
    mapping where text belongs says nothing usable, and may be an alias bomb)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    s = str(value).strip()
    return s or None


def _components(release: dict, text: str, path: Path) -> dict[str, Component]:
    out: dict[str, Component] = {}
    for i, item in enumerate(release.get("components") or []):
        name = item.get("name")
        if by_name(name or "") is None:
            raise InvalidInput(
                f"unknown MOF component {_short(repr(name))} (expected one of the 17 MOF component names)",
                path=str(path),
                line=_line_of(text, ["release", "components", i, "name"]),
            )
        raw = item.get("license")
        out[name] = Component(
            present=True,
            # As written, not trimmed: the tool compares the exact string ("MIT " is not MIT).
            license=None if raw is None else str(raw),
            link=_text(item.get("component_path")),
        )
    return out


def _release_licenses(release: dict) -> ReleaseLicenses:
    """The release-level license names, as written (the tool does not trim them either)."""
    lic = release.get("license") or {}
    values = {}
    for kind in _RELEASE_TYPES:
        entry = lic.get(kind)
        name = entry.get("name") if isinstance(entry, dict) else None
        values[kind] = None if name is None or name == "" else str(name)
    return ReleaseLicenses(**values)


def _record_license(rel: ReleaseLicenses, comps: dict[str, Component]) -> tuple[str, str | None]:
    """(normalized id, original): the distribution license, else the weights' license."""
    weights = comps.get("Model parameters (Final)")
    candidates = (rel.distribution, rel.data, weights.license if weights else None)
    original = next((c.strip() for c in candidates if c and c.strip()), None)
    if not original or original == UNLICENSED:
        return "unknown", original
    return normalize_license(original), original


def _is_url(value: str | None) -> bool:
    return bool(value) and bool(re.match(r"^https?://", value or ""))


def parse_mof(path: Path) -> ModelRecord:
    """One MOF release YAML file → ModelRecord (InvalidInput names the file and line)."""
    path = Path(path)
    data, text = _load(path)
    _validate(data, text, path)
    release = data["release"]
    name = str(release["name"]).strip()
    producer = _text(release.get("producer")) or "unknown"
    comps = _components(release, text, path)
    rel = _release_licenses(release)
    lic, lic_original = _record_license(rel, comps)

    links: dict[str, str] = {}
    repo = _text(release.get("repository"))
    if _is_url(repo):
        links["repository"] = repo
    hf = hf_id(release.get("huggingface"))
    if hf:
        links["huggingface"] = f"https://huggingface.co/{hf}"
    paper = comps.get("Research paper")
    if paper and _is_url(paper.link):
        links["paper"] = paper.link

    fields = {
        "id": hf or fallback_id(producer, name),
        "name": name,
        "developer": producer,
        "license": lic,
        "license_original": lic_original if lic_original != lic else None,
        "links": links,
        "release_licenses": rel,
        "components": comps,
        "sources": [f"mof:{path.name}"],
    }
    try:
        return ModelRecord.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"cannot build a record: field {loc}: {first['msg']}", path=str(path)) from e


# ---------------------------------------------------------------------------------------
# Export


def _size(parameters: int | None) -> str | None:
    if not parameters:
        return None
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if parameters >= scale:
            return f"{parameters / scale:.3g}{unit}"
    return str(parameters)


def _export_date(record: ModelRecord) -> str:
    if record.release_date and re.match(r"^\d{4}-\d{2}-\d{2}$", record.release_date):
        return record.release_date
    return _dt.date.today().isoformat()


def to_mof_yaml(record: ModelRecord) -> str:
    """A MOF release file for `record` (valid under the MOT schema; parse_mof reads it back)."""
    global_licenses = {
        kind: {"name": value, "path": ""}
        for kind in _RELEASE_TYPES
        if (value := getattr(record.release_licenses, kind))
    }
    comps = []
    for comp in components():
        own = record.components.get(comp.name)
        if own is None or not own.present:
            continue
        entry: dict[str, str] = {"name": comp.name, "description": comp.description}
        if own.license is not None:
            entry["license"] = own.license
        if own.link:
            entry["component_path"] = own.link
        comps.append(entry)

    release: dict[str, object] = {"name": record.name}
    if size := _size(record.parameters):
        release["version"] = size
    release["date"] = _export_date(record)
    release["license"] = global_licenses
    release["type"] = "language" if record.pipeline_tag in {"text-generation", "text2text-generation", None} else "other"
    release["architecture"] = record.architecture if record.architecture in _ARCHITECTURES else ""
    release["origin"] = (record.base_model[0] if record.base_model else record.family) or ""
    release["producer"] = record.developer
    release["contact"] = ""
    if repo := record.links.get("repository"):
        release["repository"] = repo
    hf = record.links.get("huggingface")
    if not hf and record.id != fallback_id(record.developer, record.name):
        hf = f"https://huggingface.co/{record.id}"
    if hf:
        release["huggingface"] = hf
    release["components"] = comps

    doc = {
        "framework": {"name": "Model Openness Framework", "version": "1.0", "date": "2024-12-15"},
        "release": release,
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)
