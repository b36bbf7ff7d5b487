"""Bad record files give one-line errors naming the file, line and field."""

from __future__ import annotations

import pytest

from openpick.catalog import catalog
from openpick.catalog.loader import load_record_file
from openpick.errors import InvalidInput, NotFound


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: a/b\nname: x\ndeveloper: [unclosed\nlicense: MIT\n")
    with pytest.raises(InvalidInput) as e:
        load_record_file(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:") and "YAML error" in msg and "\n" not in msg
    assert e.value.line is not None and e.value.line >= 3


def test_schema_error_names_the_field(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: a/b\nname: x\ndeveloper: y\nlicense: MIT\nparameters: -5\n")
    with pytest.raises(InvalidInput, match=r"field parameters"):
        load_record_file(p)
    p.write_text("id: a/b\nname: x\ndeveloper: y\nlicense: MIT\nlanguages: [english]\n")
    with pytest.raises(InvalidInput, match=r"field languages"):
        load_record_file(p)
    p.write_text("- just\n- a list\n")
    with pytest.raises(InvalidInput, match="mapping"):
        load_record_file(p)


def test_imported_record_overrides_and_merges_by_id():
    base = catalog.get_record("allenai/OLMo-7B")
    rec = base.model_copy(update={"sources": ["test-import"], "tags": ["imported-tag"]})
    catalog.save_imported(rec)
    merged = catalog.get_record("allenai/OLMo-7B")
    assert "imported-tag" in merged.tags and "test-import" in merged.sources


def test_unknown_id_suggests():
    with pytest.raises(NotFound, match="did you mean.*allenai/OLMo-7B"):
        catalog.get_record("allenai/OLMo7B")
