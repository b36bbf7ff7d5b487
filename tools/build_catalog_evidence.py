"""Fill the MOF `components` / `release_licenses` and the Open Source AI Index `osai`
grades of bundled catalog records from the reference data in ../shared/data.

Dev-time only: the product never reads ../shared. Run it after editing a record whose
model appears in the Model Openness Tool or the OSAI index; `--check` fails (exit 1)
when a record disagrees with the reference data instead of rewriting it.

    .venv/bin/python tools/build_catalog_evidence.py [--check] [--shared ../shared/data]

Which record matches which reference file is written down below (MOT_FILES, OSAI_FILES),
not guessed from names: the reference files name models loosely ("Llama-2-7B").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "src" / "openpick" / "catalog" / "data" / "models"

# record id -> Model Openness Tool release file (mot/models/<file>)
MOT_FILES = {
    "allenai/OLMo-7B": "OLMo-7B-hf.yml",  # same weights; the MOT file describes the -hf copy
    "allenai/OLMo-7B-hf": "OLMo-7B-hf.yml",
    "meta-llama/Llama-2-7b-hf": "Llama-2-7B.yml",
    "meta-llama/Llama-2-13b-hf": "Llama-2-13B.yml",
    "meta-llama/Llama-2-7b-chat-hf": "Llama-2-chat-7B.yml",
    "meta-llama/Llama-2-13b-chat-hf": "Llama-2-chat-13B.yml",
    "meta-llama/Meta-Llama-3-8B": "Llama-3-8B.yml",
    "meta-llama/Meta-Llama-3-8B-Instruct": "Llama-3-8B-Instruct.yml",
    # two MOT files describe this model; the newer one (2025-05-26) is used
    "meta-llama/Meta-Llama-3-70B-Instruct": "Meta-Llama-3-70B-Instruct.yml",
    "meta-llama/Llama-3.1-8B": "Llama-3.1-8B.yml",
    "meta-llama/Llama-3.1-8B-Instruct": "Llama-3.1-8B-Instruct.yml",
    "meta-llama/Llama-3.2-3B-Instruct": "Llama-3.2-3B-Instruct.yml",
    "mistralai/Mistral-7B-Instruct-v0.2": "Mistral-7B-Instruct-v0.2.yml",
    "mistralai/Mistral-7B-Instruct-v0.3": "Mistral-7B-Instruct-v0.3.yml",
    "mistralai/Mixtral-8x7B-v0.1": "Mixtral-8x7B-v0.1.yml",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "Mixtral-8x7B-Instruct-v0.1.yml",
    "tiiuae/falcon-40b": "Falcon-40B.yml",
    "tiiuae/falcon-180B": "Falcon-180B.yml",
    "EleutherAI/pythia-70m": "Pythia-70M.yml",
    "EleutherAI/pythia-160m": "Pythia-160M.yml",
    "EleutherAI/pythia-1.4b": "Pythia-1.4B.yml",
    "EleutherAI/pythia-2.8b": "Pythia-2.8B.yml",
    "EleutherAI/pythia-6.9b": "Pythia-6.9B.yml",
    "bigscience/bloom": "BLOOM.yml",
    "deepseek-ai/deepseek-coder-33b-base": "DeepSeek-Coder.yml",
    "deepseek-ai/DeepSeek-V3": "DeepSeek-V3.yml",
    "deepseek-ai/DeepSeek-R1": "DeepSeek-R1.yml",
    "google/gemma-2-2b-it": "gemma-2-2b-it.yml",
    "google/gemma-2-9b-it": "gemma-2-9b-it.yml",
    "Qwen/Qwen2.5-7B": "Qwen2.5-7B.yml",
    "Qwen/Qwen2.5-32B-Instruct": "Qwen2.5-32B-Instruct.yml",
    "Qwen/Qwen2.5-72B-Instruct": "Qwen2.5-72B-Instruct.yml",
    "Qwen/Qwen3-14B-Base": "Qwen3-14B-Base.yml",
    "microsoft/phi-2": "Phi-2.yml",
    "openai/gpt-oss-120b": "gpt-oss-120b.yml",
}

# record id -> European Open Source AI Index system file (osai-index/<file>); only where
# the index grades exactly this model (its end model), not merely the same family.
OSAI_FILES = {
    "meta-llama/Llama-2-70b-chat-hf": "llama-2-chat.yaml",
    "meta-llama/Meta-Llama-3-70B-Instruct": "llama-3-instruct.yaml",
    "meta-llama/Llama-3.3-70B-Instruct": "llama-3.3.yaml",
    "mistralai/Mistral-Nemo-Instruct-2407": "mistral-nemo.yaml",
    "deepseek-ai/DeepSeek-R1": "deepseek-R1.yaml",
    "google/gemma-3-27b-it": "Gemma.yaml",
    "google/gemma-2-2b-jpn-it": "Gemma Japanese.yaml",
    "microsoft/Phi-4-reasoning": "Phi.yaml",
    "bigcode/starcoder2-15b-instruct-v0.1": "StarCoder.yaml",
}

FIELD_ORDER = [
    "id", "name", "developer", "family", "description", "base_model", "base_model_relation",
    "pipeline_tag", "tasks", "domains", "languages", "license", "license_original",
    "parameters", "active_parameters", "architecture", "features", "context_length",
    "release_date", "links", "release_licenses", "components", "osai", "evaluations",
    "prices", "artifacts", "tags", "sources", "conflicts",
]


def mot_evidence(path: Path) -> tuple[dict, dict]:
    """(release_licenses, components) exactly as the MOT release file states them."""
    release = yaml.safe_load(path.read_text(encoding="utf-8"))["release"]
    licenses = {}
    for kind, value in (release.get("license") or {}).items():
        name = (value or {}).get("name") if isinstance(value, dict) else value
        if name and str(name).strip():
            licenses[kind] = str(name).strip()
    components = {}
    for comp in release.get("components") or []:
        entry: dict = {}
        if comp.get("license") is not None and str(comp["license"]).strip():
            entry["license"] = str(comp["license"]).strip()
        if comp.get("component_path"):
            entry["link"] = comp["component_path"]
        components[comp["name"]] = entry
    return licenses, components


def osai_evidence(path: Path, refs: list[str]) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    grades = {}
    for ref in refs:
        item = data.get(ref)
        if not isinstance(item, dict) or item.get("class") not in ("open", "partial", "closed"):
            continue
        entry = {"grade": item["class"]}
        if item.get("link"):
            entry["link"] = str(item["link"]).strip()
        grades[ref] = entry
    return grades


def osai_refs(shared: Path) -> list[str]:
    groups = yaml.safe_load((shared / "osai-index" / "_parameters.yml").read_text(encoding="utf-8"))
    return [p["ref"] for g in groups for p in g["params"]]


class _Flow(list):
    pass


class _FlowMap(dict):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(_FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))


def _styled(value, depth=0):
    """Short lists and leaf mappings in flow style so a record reads like a card."""
    if isinstance(value, list):
        if all(not isinstance(x, (list, dict)) for x in value):
            return _Flow(value)
        return [_styled(x, depth + 1) for x in value]
    if isinstance(value, dict):
        if depth >= 1 and all(not isinstance(x, (list, dict)) for x in value.values()):
            return _FlowMap(value)
        return {k: _styled(v, depth + 1) for k, v in value.items()}
    return value


def render(header: str, data: dict) -> str:
    ordered = {k: data[k] for k in FIELD_ORDER if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    body = yaml.dump(_styled(ordered), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return header + body


def split_header(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    return "".join(lines)


def update(path: Path, shared: Path, refs: list[str]) -> tuple[str, str]:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    rid = data["id"]
    if rid in MOT_FILES:
        licenses, components = mot_evidence(shared / "mot" / "models" / MOT_FILES[rid])
        data["release_licenses"] = licenses
        data["components"] = components
        src = f"mot:models/{MOT_FILES[rid]}"
        data["sources"] = [s for s in data.get("sources", []) if not s.startswith("mot:")] + [src]
    if rid in OSAI_FILES:
        data["osai"] = osai_evidence(shared / "osai-index" / OSAI_FILES[rid], refs)
        src = f"osai-index:{OSAI_FILES[rid]}"
        data["sources"] = [s for s in data.get("sources", []) if not s.startswith("osai-index:")] + [src]
    if "release_date" in data and data["release_date"] is not None:
        data["release_date"] = str(data["release_date"])
    return text, render(split_header(text), data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report differences, write nothing")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    refs = osai_refs(args.shared)
    ids = set()
    stale = []
    for path in sorted(MODELS.glob("*.yaml")):
        old, new = update(path, args.shared, refs)
        ids.add(yaml.safe_load(old)["id"])
        if old != new:
            stale.append(path.name)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    missing = sorted((set(MOT_FILES) | set(OSAI_FILES)) - ids)
    for rid in missing:
        print(f"warning: no record for mapped id {rid}", file=sys.stderr)
    verb = "differ from the reference data" if args.check else "rewritten"
    print(f"{len(stale)} record(s) {verb}" + (": " + ", ".join(stale) if stale else ""))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
