"""`models list/search/show`, `lineage`, `recommend`, `demo` through the real CLI entry."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "openpick", *args], capture_output=True, text=True,
                       timeout=120)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def ids(out: str) -> list[str]:
    return [m["id"] for m in json.loads(out)]


def test_medical_domain_includes_biomistral():
    assert "BioMistral/BioMistral-7B" in ids(run("models", "list", "--domain", "medical", "--json").stdout)


def test_lineage_of_mistral_shows_both_finetunes():
    data = json.loads(run("lineage", "mistralai/Mistral-7B-v0.1", "--json").stdout)
    found = set()

    def walk(n):
        found.add(n["id"])
        for c in n["children"]:
            walk(c)

    walk(data["descendants"])
    assert {"BioMistral/BioMistral-7B", "nvidia/OpenMath-Mistral-7B-v0.1-hf"} <= found
    human = run("lineage", "mistralai/Mistral-7B-v0.1").stdout
    assert "BioMistral/BioMistral-7B" in human and "(finetune)" in human


def test_filters_combine():
    small = json.loads(run("models", "list", "--params", "..1B", "--license", "osi", "--json").stdout)
    assert small and all(m["parameters"] <= 1e9 and m["license_osi"] for m in small)
    ja = ids(run("models", "list", "--language", "ja", "--json").stdout)
    assert "elyza/ELYZA-japanese-Llama-2-7b" in ja
    fits = json.loads(run("models", "list", "--fits", "2GB", "--json").stdout)
    assert fits and all(m["memory_bytes"] <= 2e9 for m in fits)
    assert "tiiuae/falcon-180B" not in [m["id"] for m in fits]
    desc = ids(run("models", "list", "--base", "meta-llama/Llama-2-7b-hf", "--json").stdout)
    assert "elyza/ELYZA-japanese-Llama-2-7b" in desc and "meta-llama/Llama-2-7b-hf" not in desc


def test_search_sorts_and_text():
    hits = ids(run("models", "search", "biomistral", "--json").stdout)
    assert hits[0] == "BioMistral/BioMistral-7B"
    by_size = json.loads(run("models", "list", "--task", "code", "--sort", "size", "--json").stdout)
    sizes = [m["parameters"] for m in by_size if m["parameters"]]
    assert sizes == sorted(sizes)


def test_show_and_unknown_id():
    out = json.loads(run("models", "show", "allenai/OLMo-7B", "--json").stdout)
    assert out["record"]["id"] == "allenai/OLMo-7B" and "mof_class" in out
    bad = run("models", "show", "mistralai/Mistral-7B-v0.01", ok=False)
    assert bad.returncode != 0
    assert "did you mean" in bad.stderr and "mistralai/Mistral-7B-v0.1" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, needle", [
    (("models", "list", "--fits", "lots"), "memory size"),
    (("models", "list", "--params", "big"), "parameter count"),
    (("models", "list", "--mof-class", "IV"), "--mof-class"),
    (("models", "list", "--sort", "weird"), "unknown sort"),
    (("models", "list", "--fits", "8GB", "--quant", "Q9"), "unknown quantization"),
])
def test_bad_options_are_one_line_errors(args, needle):
    p = run(*args, ok=False)
    assert p.returncode != 0 and needle in p.stderr and "Traceback" not in p.stderr


def test_recommend_explains_and_respects_constraints():
    out = json.loads(run("recommend", "--domain", "medical", "--fits", "8GB", "--json").stdout)
    recs = out["recommendations"]
    assert recs and recs[0]["id"] in {"BioMistral/BioMistral-7B", "epfl-llm/meditron-7b"}
    assert all(r["reasons"] for r in recs) and all(r["memory_bytes"] <= 8e9 for r in recs)
    assert [r["score"] for r in recs] == sorted((r["score"] for r in recs), reverse=True)
    osi = json.loads(run("recommend", "--task", "chat", "--license", "osi", "--json").stdout)
    assert all("OSI-approved" in " ".join(r["reasons"]) for r in osi["recommendations"])


def test_tour_shows_the_catalog():
    out = run("tour").stdout
    for needle in ("BioMistral/BioMistral-7B", "OpenMath-Mistral-7B", "OLMo", "Ranked from catalog facts"):
        assert needle in out
