"""lm-evaluation-harness task YAML as suites: local data only, lm-eval's doc_to_* meaning,
and one-line errors that name the file and line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from openpick.errors import InvalidInput
from openpick.evals.runner import RunOptions, compare
from openpick.evals.suite import formats, load_suite

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lmeval"


def test_a_multiple_choice_task_over_a_local_jsonl_file():
    s = load_suite(FIXTURES / "capitals.yaml")
    items = s.items()
    assert s.name == "capitals" and "3 documents" in s.description
    assert [i.case_id for i in items] == ["capitals-0", "capitals-1", "capitals-2"]
    assert items[1].prompt == "Question: What is the capital of Italy?\nAnswer:"
    assert items[1].choices == ["Lisbon", "Rome", "Vienna"] and items[1].answer == 1
    assert items[1].continuations() == [" Lisbon", " Rome", " Vienna"]
    assert items[0].tags == ["capitals"]


def test_include_csv_types_description_and_template_choices():
    items = load_suite(FIXTURES / "arithmetic.yaml").items()
    assert items[0].prompt == "Answer the arithmetic question.\n\n2 + 3 ="
    assert items[0].choices == ["6", "5"] and items[0].answer == 1  # "{{1}}" is an index
    assert items[1].choices == ["71", "17"]


def test_generate_until_becomes_a_generated_case_with_stop_and_equals():
    (apple, _) = load_suite(FIXTURES / "echo.yaml").items()
    assert apple.choices is None and apple.prompt == "apple"
    assert apple.sampling.stop == ["\n"] and apple.sampling.max_tokens == 8
    assert apple.sampling.temperature == 0.0
    assert [a.fingerprint()["type"] for a in apple.assertions] == ["equals"]
    assert apple.grade("apple\n").passed and not apple.grade("pear").passed


def test_texts_with_braces_are_not_templated_twice(tmp_path):
    (tmp_path / "d.jsonl").write_text(json.dumps(
        {"q": "What does {{x}} print?", "c": ["{{x}}", "{% raw %}"], "y": 0}) + "\n")
    task = _task(tmp_path, doc_to_text="q", doc_to_choice="c", doc_to_target="y")
    (item,) = load_suite(task).items()
    assert item.prompt == "What does {{x}} print?" and item.choices == ["{{x}}", "{% raw %}"]


def test_a_task_runs_and_scores_through_the_runner():
    logprobs = {"Paris": -0.1, "Rome": -0.1, "Madrid": -0.1}
    run, results = compare(load_suite(FIXTURES / "capitals.yaml"), ["fake:echo"],
                           RunOptions(engine_options={"fake:echo": {"logprobs": logprobs}}))
    assert [r.output for r in results] == ["Paris", "Rome", "Madrid"]
    assert all(r.passed for r in results)


def test_the_format_is_detected_and_a_native_suite_wins():
    assert formats.detect({"task": "x", "doc_to_text": "q"}).name == "lm-eval"
    assert formats.detect({"task": "x", "cases": []}) is None
    assert formats.detect({"name": "x"}) is None


# -- refusals and errors ---------------------------------------------------------------------
def _task(folder: Path, **over) -> Path:
    doc = {"task": "t", "dataset_path": "json",
           "dataset_kwargs": {"data_files": {"test": "d.jsonl"}}, "test_split": "test",
           "output_type": "multiple_choice", "doc_to_text": "q", "doc_to_choice": "c",
           "doc_to_target": "y", **over}
    doc = {k: v for k, v in doc.items() if v is not None}
    path = folder / "task.yaml"
    path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in doc.items()) + "\n")
    return path


def _line(path: Path, key: str) -> int:
    return next(n for n, ln in enumerate(path.read_text().splitlines(), 1)
                if ln.startswith(key + ":"))


def _error(path: Path) -> InvalidInput:
    with pytest.raises(InvalidInput) as e:
        load_suite(path)
    return e.value


@pytest.fixture
def data(tmp_path):
    (tmp_path / "d.jsonl").write_text(
        '{"q": "sky?", "c": ["blue", "red"], "y": 0}\n{"q": "sun?", "c": ["hot", "cold"], "y": 5}\n')
    return tmp_path


def test_a_hub_dataset_is_refused_offline_with_what_to_do(data):
    path = _task(data, dataset_path="cais/mmlu", dataset_kwargs=None)
    e = _error(path)
    assert e.path == str(path) and e.line == _line(path, "dataset_path")
    assert "Hugging Face Hub" in e.message and "does not download" in e.message
    assert "data_files" in e.message and "test" in e.message


@pytest.mark.parametrize("over, key, words", [
    ({"num_fewshot": 5}, "num_fewshot", "few-shot prompts are not supported"),
    ({"process_docs": "utils.process"}, "process_docs", "Python hooks"),
    ({"output_type": "loglikelihood_rolling"}, "output_type", "not supported"),
    ({"doc_to_txt": "q"}, "doc_to_txt", "unknown lm-eval task key"),
    ({"dataset_kwargs": {"data_files": {"train": "d.jsonl"}}}, "dataset_kwargs",
     "no split 'test'"),
    ({"dataset_kwargs": {"data_files": {"test": "nope.jsonl"}}}, "dataset_kwargs",
     "not found: nope.jsonl"),
    ({"test_split": None}, "task", "needs test_split"),
])
def test_bad_task_fields_name_the_task_file_and_line(data, over, key, words):
    path = _task(data, **over)
    e = _error(path)
    assert e.path == str(path) and e.line == _line(path, key), e
    assert words in e.message and key in e.message


def test_a_bad_document_names_the_data_file_and_its_line(data):
    e = _error(_task(data))
    assert e.path == str(data / "d.jsonl") and e.line == 2
    assert "doc_to_target" in e.message and "out of range" in e.message


def test_a_target_that_is_no_choice_is_an_error(data):
    (data / "d.jsonl").write_text('{"q": "sky?", "c": ["blue", "red"], "y": "green"}\n')
    e = _error(_task(data))
    assert e.line == 1 and "neither an index nor one of the choices" in e.message


def test_a_template_error_names_the_document(data):
    e = _error(_task(data, doc_to_text="{{ missing }}"))
    assert e.path == str(data / "d.jsonl") and e.line == 1 and "missing var" in e.message


def test_parquet_without_pyarrow_says_what_to_install(data, monkeypatch):
    import builtins

    (data / "d.parquet").write_bytes(b"PAR1")
    real = builtins.__import__

    def no_parquet(name, *a, **kw):
        if name.startswith(("pyarrow", "pandas")):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_parquet)
    e = _error(_task(data, dataset_path="parquet",
                     dataset_kwargs={"data_files": {"test": "d.parquet"}}))
    assert "pip install pyarrow" in e.message and e.path == str(data / "d.parquet")


def test_a_local_folder_finds_the_split_by_file_name(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "test.jsonl").write_text('{"q": "a?", "c": ["x", "y"], "y": 1}\n')
    (tmp_path / "ds" / "train.jsonl").write_text('{"q": "b?", "c": ["x", "y"], "y": 0}\n')
    path = _task(tmp_path, dataset_path="ds", dataset_kwargs=None)
    (item,) = load_suite(path).items()
    assert item.prompt == "a?" and item.answer == 1


def test_an_include_error_names_the_included_file(tmp_path):
    (tmp_path / "base.yaml").write_text(textwrap.dedent("""\
        dataset_path: json
        num_fewshot: 3
        """))
    (tmp_path / "t.yaml").write_text("include: base.yaml\ntask: t\ndoc_to_text: q\n")
    e = _error(tmp_path / "t.yaml")
    assert e.path == str(tmp_path / "base.yaml") and e.line == 2
