"""The runner on scripted fake engines: plan, grade, store, cache, errors, resume."""

from __future__ import annotations

import pytest
from test_runner_support import Item, Suite, calls, items, reset_calls, scripted_pool

from openpick.evals.assertions import parse_assertion
from openpick.evals.runner import RunInterrupted, RunOptions, Runner
from openpick.store.runs import RunStore

A, B = "fake:echo", "fake:always pass"


def run(its, models=(A, B), options=None, resume=None, progress=None, store=None):
    from openpick.evals.runner import compare

    return compare(Suite(its), list(models), options or RunOptions(), resume=resume,
                   progress=progress, store=store, pool=scripted_pool())


@pytest.fixture(autouse=True)
def _reset():
    reset_calls()
    yield


def test_every_model_answers_every_case_and_is_graded():
    info, results = run(items(4))
    assert info.status == "finished" and info.planned == 8
    assert len(results) == 8
    echo = {r.case_id: r.passed for r in results if r.model == A}
    assert echo == {"c0": True, "c1": False, "c2": True, "c3": False}
    assert all(r.passed for r in results if r.model == B)
    r0 = next(r for r in results if r.model == A and r.case_id == "c0")
    assert r0.output == "answer pass 0" and r0.seed == 0 and r0.completion_tokens == 3
    assert r0.input == "answer pass 0" and r0.tags == ["t"] and not r0.cached
    assert r0.grade.assertions[0].type == "icontains"
    assert [m.name for m in info.models] == [A, B]
    assert info.models[0].identity["engine"] == "fake"
    assert RunStore().count(info.id) == 8


def test_second_run_is_served_from_the_cache():
    run(items(3))
    assert calls(A) == 3
    info, results = run(items(3))
    assert calls(A) == 3, "a cached answer must not reach the engine"
    assert all(r.cached for r in results) and info.status == "finished"
    assert [r.output for r in results if r.model == A] == [f"answer {w} {i}" for i, w in
                                                          enumerate(["pass", "fail", "pass"])]


def test_no_cache_and_repeats_bypass_the_cache():
    run(items(2))
    run(items(2), options=RunOptions(use_cache=False))
    assert calls(A) == 4
    info, results = run(items(2), options=RunOptions(repeats=3))
    assert calls(A) == 4 + 6
    assert not any(r.cached for r in results)
    assert sorted({(r.repeat, r.seed) for r in results}) == [(0, 0), (1, 1), (2, 2)]


def test_cache_key_follows_the_request():
    run(items(2))
    changed = items(2)
    changed[0].sampling = changed[0].sampling.model_copy(update={"max_tokens": 5})
    run(changed)
    assert calls(A) == 3  # only the case whose generation parameters changed


def test_engine_error_is_recorded_on_its_case_and_never_cached():
    its = items(2) + [Item(case_id="bad", prompt="boom", assertions=[])]
    info, results = run(its, models=[A])
    assert info.status == "finished"
    bad = next(r for r in results if r.case_id == "bad")
    assert bad.error == "engine exploded on purpose" and bad.output is None and bad.grade is None
    assert sum(1 for r in results if r.error is None) == 2
    run(its, models=[A])
    assert calls(A) == 3 + 1, "the error is asked again, the answers come from the cache"


def test_grading_error_fails_only_its_case():
    def grader(item, output, ctx):
        raise ValueError("checker broke")
    from openpick.evals.runner import compare

    info, results = compare(Suite(items(2)), [A], pool=scripted_pool(), grader=grader)
    assert info.status == "finished"
    assert all(r.passed is False and "checker broke" in r.grade.assertions[0].reason
               for r in results)


class StopAfter:
    """A progress sink that presses Ctrl-C (in the main thread) after n results."""

    def __init__(self, n):
        self.n = n
        self.seen = 0

    def start(self, run, totals):
        self.totals = totals

    def advance(self, result):
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt

    def finish(self):
        pass


def test_ctrl_c_marks_interrupted_and_rerun_resumes_without_duplicates():
    its = items(5)
    with pytest.raises(RunInterrupted) as ei:
        run(its, progress=StopAfter(3))
    first = ei.value.run
    store = RunStore()
    assert store.get(first.id).status == "interrupted"
    stored = store.count(first.id)
    assert stored >= 3
    assert f"--resume {first.id}" in str(ei.value)
    before = calls(A) + calls(B)
    # Rerunning the same command finds the same unfinished run and fills in the rest.
    info, results = run(its, options=RunOptions(use_cache=False))
    assert info.id == first.id and info.status == "finished"
    assert len(results) == 10
    assert calls(A) + calls(B) - before == 10 - stored
    keys = [(r.model, r.case_id, r.variant, r.repeat) for r in results]
    assert len(keys) == len(set(keys))


def test_resume_by_id_reruns_only_errored_cases():
    from openpick.engines.base import EngineError  # noqa: F401
    from test_runner_support import ScriptedEngine

    its = items(2) + [Item(case_id="f", prompt="flaky one", assertions=[])]
    ScriptedEngine.flaky_left["flaky one"] = 1
    info, results = run(its, models=[A])
    assert next(r for r in results if r.case_id == "f").error == "temporary failure"
    info2, results2 = run(its, models=[A], resume=info.id)
    assert info2.id == info.id
    assert calls(A) == 3 + 1
    f = [r for r in results2 if r.case_id == "f"]
    assert len(f) == 1 and f[0].error is None and f[0].output == "flaky one"
    assert len(results2) == 3


def test_finished_run_is_not_reused():
    a, _ = run(items(2))
    b, _ = run(items(2))
    assert a.id != b.id


def test_resume_refuses_a_changed_suite():
    from openpick.errors import InvalidInput

    a, _ = run(items(2))
    with pytest.raises(InvalidInput, match="suite changed"):
        run(items(3), resume=a.id)


def test_messages_seed_and_stop_reach_the_engine():
    it = Item(case_id="m", messages=[{"role": "system", "content": "be brief"},
                                     {"role": "user", "content": "hello STOP there"}],
              assertions=[parse_assertion({"equals": "hello"})], stop=["STOP"])
    req = it.request(seed=7)
    assert req.seed == 7 and req.stop == ["STOP"] and req.messages[0].role == "system"
    info, results = run([it], models=[A])
    (r,) = results
    assert r.output.strip() == "hello" and r.passed and r.input[1]["content"].startswith("hello")


def test_load_failure_records_errors_and_goes_on():
    info, results = run(items(2), models=["llama-cpp:/nonexistent/model.gguf", A])
    assert info.status == "finished"
    bad = [r for r in results if r.model.startswith("llama-cpp")]
    assert len(bad) == 2 and all("could not load" in r.error for r in bad)
    assert all(r.error is None for r in results if r.model == A)


def test_prices_and_catalog_facts_land_on_model_info():
    from openpick.engines.spec import parse_spec
    from openpick.evals.runner import model_info

    info, _ = run(items(1), models=["fake:x"], options=RunOptions(prices={"fake:x": (0.1, 0.2)}))
    (fx,) = info.models
    assert (fx.usd_per_1m_input, fx.usd_per_1m_output, fx.price_source) == (0.1, 0.2, "user")
    # Without a price table, a self-hosted model is priced by machine time.
    sm = model_info("smollm2-135m", parse_spec("smollm2-135m"),
                    RunOptions(machine_usd_per_hour=1.5))
    assert sm.record_id and sm.license and sm.mof_class is not None  # from the catalog
    assert (sm.machine_usd_per_hour, sm.price_source) == (1.5, "machine:1.5")


def test_unknown_model_fails_before_anything_runs():
    from openpick.errors import NotFound

    with pytest.raises(NotFound):
        run(items(1), models=["no-such-model-xyz"])
    assert RunStore().list() == []


def test_runner_threads_for_a_concurrent_engine():
    # An engine that takes several requests at once gets them; results stay unique and complete.
    info, results = run(items(20), models=[A], options=RunOptions(
        concurrency=4, engine_options={A: {"parallel": 4}}))
    assert len(results) == 20 and len({r.case_id for r in results}) == 20
