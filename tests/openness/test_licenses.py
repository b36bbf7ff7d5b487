"""License normalization, facts and the MOT openness rule."""

from __future__ import annotations

import pytest

from openpick.openness.licenses import content_types, is_open, license_info, normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("apache-2.0", "Apache-2.0"),
        ("mit", "MIT"),
        ("llama2", "LLAMA-2-COMMUNITY"),
        ("llama3", "LLAMA-3-COMMUNITY"),
        ("llama3.1", "LLAMA-3.1-COMMUNITY"),
        ("llama3.2", "LLAMA-3.2-COMMUNITY"),
        ("llama3.3", "LLAMA-3.3-COMMUNITY"),
        ("gemma", "GEMMA"),
        ("openrail", "OPENRAIL"),
        ("bigscience-bloom-rail-1.0", "BIGSCIENCE-BLOOM-RAIL-1.0"),
        ("bigcode-openrail-m", "BIGCODE-OPENRAIL-M"),
        ("cc-by-4.0", "CC-BY-4.0"),
        ("cc-by-nc-4.0", "CC-BY-NC-4.0"),
        ("cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0"),
        ("other", "other"),
        ("unknown", "unknown"),
        (None, "unknown"),
        # Names as the MOT files and model cards write them.
        ("Llama 2 Community License", "LLAMA-2-COMMUNITY"),
        ("Meta Llama 3 Community License Agreement", "LLAMA-3-COMMUNITY"),
        ("Llama 3.1 Community License Agreement", "LLAMA-3.1-COMMUNITY"),
        ("Llama 3.2 Community License", "LLAMA-3.2-COMMUNITY"),
        ("Gemma Terms of Use", "GEMMA"),
        (" Falcon-180B TII License", "FALCON-180B-TII"),
        ("TII Falcon License 2.0", "TII-FALCON-2.0"),
        ("tongyi-qianwen-research", "QWEN-RESEARCH"),
        ("Qwen License Agreement", "QWEN"),
        ("tongyi-qianwen", "QWEN"),
        ("DeepSeek License Agreement", "DEEPSEEK"),
        ("BigCode OpenRAIL-M v1 license agreement", "BIGCODE-OPENRAIL-M"),
        ("BigScience-BLOOM-RAIL-1.0", "BIGSCIENCE-BLOOM-RAIL-1.0"),
        ("Microsoft Research License Agreement", "MICROSOFT-RESEARCH"),
        ("Apache 2.0", "Apache-2.0"),
        ("Apache license 2.0", "Apache-2.0"),
        ("MIT License", "MIT"),
        ("BSD-3", "BSD-3-Clause"),
        ("Creative Commons Attribution Non Commercial 4.0", "CC-BY-NC-4.0"),
        ("Llama-2", "LLAMA-2-COMMUNITY"),  # the catalog importers' spelling
        ("Some Bespoke License", "Some Bespoke License"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_is_open_follows_the_tool_exactly():
    assert is_open("Apache-2.0")  # OSI
    assert is_open("CC-BY-4.0")  # open data (and FSF)
    assert is_open("CDLA-Permissive-2.0")  # open data list only
    assert is_open("OGL-UK-3.0")
    assert is_open("GFDL-1.3")
    assert is_open("OpenMDW-1.0")
    assert is_open("Unlicense")
    assert not is_open("Apache 2.0")  # not an SPDX id: the tool compares ids exactly
    assert not is_open("apache-2.0")
    assert not is_open("CC-BY-NC-4.0")
    assert not is_open("LLAMA-2-COMMUNITY")
    assert not is_open("unlicensed")
    assert not is_open("PDDL-1.0")  # the tool's list spells it ODC-PDDL-1.0
    assert not is_open("")
    assert not is_open(None)


def test_content_types_from_mof_licenses():
    assert content_types("Apache-2.0") == ["code", "document"]
    assert "data" in content_types("CDLA-Permissive-2.0")
    assert set(content_types("CC0-1.0")) == {"data", "document"}
    assert content_types("GPL-3.0-only") == []


def test_llama2_info():
    info = license_info("llama2")
    assert info.id == "LLAMA-2-COMMUNITY"
    assert info.original == "llama2"
    assert not info.osi_approved and not info.open and not info.spdx
    assert info.commercial_use is True
    assert any("700 million monthly active users" in r for r in info.restrictions)
    assert any("acceptable use policy" in r for r in info.restrictions)


@pytest.mark.parametrize(
    "lid, osi, commercial, open_data",
    [
        ("apache-2.0", True, True, False),
        ("mit", True, True, False),
        ("cc-by-4.0", False, True, True),
        ("cc-by-nc-4.0", False, False, False),
        ("cc-by-nc-sa-4.0", False, False, False),
        ("gemma", False, True, False),
        ("tongyi-qianwen-research", False, False, False),
        ("other", False, None, False),
        ("unknown", False, None, False),
    ],
)
def test_license_facts(lid, osi, commercial, open_data):
    info = license_info(lid)
    assert info.osi_approved is osi
    assert info.commercial_use is commercial
    assert info.is_open_data is open_data


def test_noncommercial_restriction_is_stated():
    assert "non-commercial use only" in license_info("cc-by-nc-4.0").restrictions


def test_unrecognized_license_is_unclear():
    info = license_info("My Own Terms v3")
    assert info.id == "My Own Terms v3"
    assert info.commercial_use is None and not info.open


def test_one_table_in_the_catalog_layer():
    """The importers and the openness layer read the same table (catalog.licenses)."""
    from openpick.catalog import importers, licenses as table
    from openpick.openness import licenses as openness_licenses

    assert openness_licenses.normalize is table.normalize
    assert openness_licenses.is_open is table.is_open
    assert importers.normalize_license is table.normalize_license


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("mrl", "MISTRAL-RESEARCH"),   # once only in the importers' fallback table
        ("Mistral AI Research License", "MISTRAL-RESEARCH"),
        ("Apache 2.0", "Apache-2.0"),
        ("odc-by-1.0", "ODC-By-1.0"),
        ("Other", "unknown"),          # importers: vague words are unknown ...
        ("  n/a ", "unknown"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_normalize_license_for_importers(raw, expected):
    from openpick.catalog.licenses import normalize_license

    assert normalize_license(raw) == expected


def test_normalize_keeps_other_distinct():
    assert normalize("other") == "other"  # ... while normalize() keeps "other" as a custom id


def test_mistral_research_license_facts():
    info = license_info("mrl")
    assert (info.id, info.open, info.commercial_use) == ("MISTRAL-RESEARCH", False, False)


@pytest.mark.parametrize(
    "license_, status",
    [("MIT", "included"), ("OpenMDW-1.0", "included"), ("unlicensed", "unlicensed"), (None, "unlicensed"),
     ("Unlicense", "included"), ("MIT license", "invalid"), ("Pending evaluation", "invalid")],
)
def test_mot_status(license_, status):
    from openpick.catalog.licenses import mot_status

    assert mot_status(license_) == status
