"""recommend --run: the user's own suite ranks first, catalog facts second."""

from __future__ import annotations

from openpick.store.records import AssertionResult, CaseResult, Grade, ModelInfo, RunInfo
from openpick.recommend import Constraints
from openpick.recommend.measured import basis_line, rank_with_run

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"        # Apache-2.0, in the bundled catalog
QWEN = "Qwen/Qwen2.5-Coder-0.5B-Instruct"


def make(pass_counts: dict[str, int], n: int = 30, **prices) -> tuple[RunInfo, list[CaseResult]]:
    models = [ModelInfo(name=name, spec=f"fake:{name}", engine="fake", record_id=rid,
                        **prices.get(name, {}))
              for name, rid in (("smol", SMOL), ("qwen", QWEN), ("local", None)) if name in pass_counts]
    results = [CaseResult(run_id="r", model=m.name, case_id=f"c{i}", input="q", output="a",
                          grade=Grade(passed=i < pass_counts[m.name], score=float(i < pass_counts[m.name]),
                                      assertions=[AssertionResult(type="equals", passed=True, score=1.0)]),
                          prompt_tokens=10, completion_tokens=10, total_s=1.0)
               for m in models for i in range(n)]
    return RunInfo(id="r", suite="mine", created_at="2025-01-01T00:00:00Z", models=models), results


def test_measured_models_rank_first_by_pass_rate_then_catalog():
    run, results = make({"smol": 10, "qwen": 25})
    recs = rank_with_run(Constraints(limit=5), run, results)
    assert [r.id for r in recs[:2]] == [QWEN, SMOL]
    assert [r.basis for r in recs] == ["measured", "measured", "catalog", "catalog", "catalog"]
    assert [r.rank for r in recs] == [1, 2, 3, 4, 5]
    top = recs[0]
    assert top.reasons[0].startswith("your suite 'mine': passes 83% of 30 cases (95% CI")
    assert any(r.startswith("significantly better than smol") for r in top.reasons)
    assert any(r.startswith("catalog: license") for r in top.reasons)
    assert top.measured["pass_rate"] == 25 / 30
    assert "not measured on your suite" in recs[2].reasons[-1]
    assert {r.id for r in recs[2:]}.isdisjoint({QWEN, SMOL})
    d = top.to_dict()
    assert d["basis"] == "measured" and d["model"] == "qwen"
    assert "first" in basis_line(run, recs) and "catalog facts second" in basis_line(run, recs)


def test_tied_pass_rate_is_broken_by_cost_and_says_it_is_not_significant():
    run, results = make({"smol": 20, "qwen": 20},
                        smol={"usd_per_1m_input": 1.0, "usd_per_1m_output": 1.0},
                        qwen={"usd_per_1m_input": 5.0, "usd_per_1m_output": 5.0})
    recs = rank_with_run(Constraints(limit=2), run, results)
    assert [r.model for r in recs] == ["smol", "qwen"]
    assert any("not significantly better than qwen" in r and "cost and speed break the tie" in r
               for r in recs[0].reasons)


def test_a_higher_but_not_significant_pass_rate_is_called_possible_chance():
    run, results = make({"smol": 20, "qwen": 22})
    recs = rank_with_run(Constraints(limit=2), run, results)
    assert [r.model for r in recs] == ["qwen", "smol"]
    assert any("not significantly better than smol" in r and "may be chance" in r
               for r in recs[0].reasons)


def test_measured_model_failing_a_hard_constraint_is_left_out_and_named():
    run, results = make({"smol": 10, "qwen": 25})
    recs = rank_with_run(Constraints(license="MIT", limit=3), run, results)
    measured = [r.model for r in recs if r.basis == "measured"]
    assert measured == []   # both are Apache-2.0
    assert "smol" in basis_line(run, recs) and "qwen" in basis_line(run, recs)


def test_model_not_in_catalog_is_kept_and_says_constraints_were_not_checked():
    run, results = make({"local": 29, "smol": 10})
    recs = rank_with_run(Constraints(limit=1), run, results)
    assert [r.model for r in recs] == ["local", "smol"]   # every measured model is shown
    assert recs[0].id == "local"
    assert any("not in the catalog" in r for r in recs[0].reasons)


def test_rank_with_a_stored_run_by_reference():
    from openpick.recommend.measured import rank_with_stored_run
    from openpick.store.runs import RunStore

    run, results = make({"smol": 10, "qwen": 25})
    store = RunStore()
    store.create(run, key="k")
    store.save_results(results)
    loaded, recs = rank_with_stored_run(Constraints(limit=2), "last")
    assert loaded.id == "r"
    assert [r.model for r in recs] == ["qwen", "smol"]
