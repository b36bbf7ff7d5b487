"""The library API works through `import openpick` alone (names re-exported lazily)."""

from __future__ import annotations

import subprocess
import sys

import openpick


def test_know_and_decide_through_the_top_level_api():
    import openpick.recommend.ranking  # noqa: F401 - importing the package must not hide the API
    hits = openpick.search("SmolLM2")
    ids = [h.record.id for h in hits]
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in ids
    report = openpick.assess("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert report.id == "HuggingFaceTB/SmolLM2-135M-Instruct" and 0 <= report.mof_class <= 3
    picks = openpick.recommend(task="chat", limit=3)
    assert 1 <= len(picks) <= 3 and all(p.reasons for p in picks)


def test_measure_and_use_through_the_top_level_api(tmp_path):
    suite = openpick.parse_suite(
        "name: api\ncases:\n  - id: echo\n    prompt: say pass\n    assert: [{icontains: pass}]\n"
        "  - id: nope\n    prompt: say no\n    assert: [{icontains: pass}]\n", path=tmp_path / "s.yaml")
    assert isinstance(suite, openpick.Suite) and len(suite) == 2
    run, results = openpick.compare(suite, ["fake:echo"], openpick.RunOptions(use_cache=False))
    assert run.status == "finished"
    assert {r.case_id: r.passed for r in results} == {"echo": True, "nope": False}
    with openpick.load_engine("fake:echo") as engine:
        req = openpick.Request.chat("hello there", **openpick.Sampling(max_tokens=8).params())
        assert engine.complete(req).text.strip() == "hello there"


def test_unknown_names_raise_attribute_error():
    try:
        openpick.no_such_thing  # noqa: B018
    except AttributeError as e:
        assert "no_such_thing" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_import_openpick_stays_light():
    code = ("import sys, openpick; openpick.load_suite; "
            "heavy = [m for m in ('torch', 'transformers', 'llama_cpp') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    assert out == "", f"importing openpick loaded {out}"
